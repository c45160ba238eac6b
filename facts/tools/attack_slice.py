#!/usr/bin/env python3
"""Cut the STIX 2.1 slice of one MITRE ATT&CK group out of an ATT&CK bundle.

The slice keeps the group's intrusion set, the campaigns attributed to it, every object
they `use` (techniques, malware, tools), the parents of the sub-techniques among them,
MITRE's identity and marking definition, and the relationships between these: the
group's and campaigns' `uses`, the campaigns' `attributed-to` and the `subtechnique-of`
of kept techniques. Objects are copied unchanged. ascribe reads the slice directly
(rules/stix.rules maps it to the rules' vocabulary); nothing is converted.

Example (from the repository root):

    python3 facts/tools/attack_slice.py \
        --bundle ../shared/data/attack-enterprise-compact.stix21.json \
        --group G0128 --out facts/uk-electoral-commission-2021/attack-apt31.stix21.json

Standard library only. The output is deterministic (objects sorted by type and name,
relationships in bundle order, the bundle id a UUIDv5 of the group's ATT&CK id), so
cutting an unchanged bundle again gives a byte-identical file. The slice is ATT&CK data:
keep LICENSE-ATTACK.txt beside every copy.
"""

import argparse
import json
import sys
import uuid

# Namespace of the slices' bundle ids (a UUIDv5 of "attack-slice:<group id>").
NAMESPACE = uuid.UUID("6f3c0a51-8e0e-5d43-9a39-6a3e2f1c7b10")


def attack_id(obj):
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack":
            return ref.get("external_id")
    return None


def cut(bundle, group_id):
    """The objects of the group's slice, in output order."""
    objects = bundle["objects"]
    groups = [o for o in objects if o.get("type") == "intrusion-set" and attack_id(o) == group_id]
    if len(groups) != 1:
        raise SystemExit(f"error: expected one intrusion-set {group_id} in the bundle, found {len(groups)}")
    group = groups[0]
    relationships = [o for o in objects if o.get("type") == "relationship"]
    attributed = [
        r for r in relationships
        if r["relationship_type"] == "attributed-to" and r["target_ref"] == group["id"]
    ]
    actors = {group["id"]} | {r["source_ref"] for r in attributed}
    keep = set(actors)
    kept = {r["id"] for r in attributed}
    for r in relationships:
        if r["relationship_type"] == "uses" and r["source_ref"] in actors:
            keep.add(r["target_ref"])
            kept.add(r["id"])
    for r in relationships:
        if r["relationship_type"] == "subtechnique-of" and r["source_ref"] in keep:
            keep.add(r["target_ref"])
            kept.add(r["id"])
    meta = [o for o in objects if o.get("type") in ("identity", "marking-definition")]
    body = sorted(
        (o for o in objects if o["id"] in keep and o["type"] != "relationship"),
        key=lambda o: (o["type"], o.get("name", "")),
    )
    return meta + body + [r for r in relationships if r["id"] in kept]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="ATT&CK Enterprise as a STIX 2.1 bundle")
    parser.add_argument("--group", required=True, help="ATT&CK group id, e.g. G0065")
    parser.add_argument("--out", default="-", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    with open(args.bundle, encoding="utf-8") as handle:
        bundle = json.load(handle)
    objects = cut(bundle, args.group)
    slice_id = "bundle--" + str(uuid.uuid5(NAMESPACE, "attack-slice:" + args.group))
    text = json.dumps({"type": "bundle", "id": slice_id, "objects": objects}, indent=1, ensure_ascii=False) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
