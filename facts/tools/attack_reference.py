#!/usr/bin/env python3
"""Write the ATT&CK reference tables shared by every case: all groups, what each uses.

Rarity (how many groups use a technique or a piece of software) can only be judged
against every group, not only the groups a case names, so these tables hold the whole
of ATT&CK Enterprise's group records in the smallest form the rules need: four TSV
files, one row per fact, each starting with MITRE's copyright notice and licence as
`#` comments (LICENSE-ATTACK.txt requires it of every copy).

    attack_reference_group.tsv   ATT&CK group id, name                 (G0065, Leviathan)
    attack_reference_uses.tsv    group id, technique or software id    (G0065, T1190)
    attack_reference_item.tsv    technique or software id, name, kind  (T1190, ..., technique)
    attack_reference_parent.tsv  sub-technique id, parent technique id (T1059.001, T1059)

Kinds: technique, subtechnique, malware, tool. Only live objects (not revoked, not
deprecated) and the groups' own `uses` relationships are kept; ATT&CK campaigns are left
out, as in attack_to_facts.py, because they are built from the same reports as the
incidents. From the repository root:

    python3 facts/tools/attack_reference.py \
        --bundle ../shared/data/attack-enterprise-compact.stix21.json --out facts/attack

Standard library only; the output is sorted, so regeneration is byte-identical.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attack_to_facts import RELEASE, attack_id, live  # noqa: E402


def escape(text):
    """A TSV field as the ascribe loader reads it (docs: src/io/delimited.rs)."""
    out = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return "\\#" + out[1:] if out.startswith("#") else out


def header(name, what, licence_lines, statements):
    lines = [
        f"# {name}: {what}",
        f"# From {RELEASE} (all groups), written by facts/tools/attack_reference.py; do not edit by hand.",
        "#",
        "# MITRE ATT&CK(R) data. Copyright notice and licence, reproduced as LICENSE-ATTACK.txt requires:",
        "#",
    ]
    lines += [("# " + line).rstrip() for line in licence_lines]
    if statements:
        lines += ["#", "# Marking statement carried by the ATT&CK objects:"]
        lines += ["# " + s for s in statements]
    return lines


def tables(bundle):
    objects = {obj["id"]: obj for obj in bundle["objects"]}
    groups = {}
    items = {}
    for obj in bundle["objects"]:
        if not live(obj):
            continue
        kind = obj.get("type")
        if kind == "intrusion-set":
            groups[obj["id"]] = (attack_id(obj), obj["name"])
        elif kind == "attack-pattern":
            sub = "subtechnique" if obj.get("x_mitre_is_subtechnique") else "technique"
            items[obj["id"]] = (attack_id(obj), obj["name"], sub)
        elif kind in ("malware", "tool"):
            items[obj["id"]] = (attack_id(obj), obj["name"], kind)
    uses = set()
    parents = set()
    for rel in bundle["objects"]:
        if rel.get("type") != "relationship" or not live(rel):
            continue
        kind = rel.get("relationship_type")
        if kind == "uses" and rel.get("source_ref") in groups and rel.get("target_ref") in items:
            uses.add((groups[rel["source_ref"]][0], items[rel["target_ref"]][0]))
        elif kind == "subtechnique-of" and rel.get("source_ref") in items and rel.get("target_ref") in items:
            parents.add((items[rel["source_ref"]][0], items[rel["target_ref"]][0]))
    used = {item for _, item in uses} | {c for c, _ in parents} | {p for _, p in parents}
    return {
        "attack_reference_group": sorted(groups.values()),
        "attack_reference_uses": sorted(uses),
        "attack_reference_item": sorted(i for i in items.values() if i[0] in used),
        "attack_reference_parent": sorted(parents),
    }


WHAT = {
    "attack_reference_group": "every ATT&CK group: id, name",
    "attack_reference_uses": "every group's recorded use of a technique or software: group id, item id",
    "attack_reference_item": "techniques, sub-techniques and software used by some group: id, name, kind",
    "attack_reference_parent": "sub-technique id, parent technique id",
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="the ATT&CK Enterprise STIX 2.1 bundle")
    parser.add_argument("--licence", help="licence text (default: facts/LICENSE-ATTACK.txt)")
    parser.add_argument("--out", required=True, help="output directory, e.g. facts/attack")
    args = parser.parse_args(argv)
    licence = args.licence or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "LICENSE-ATTACK.txt"
    )
    with open(licence, encoding="utf-8") as handle:
        licence_lines = handle.read().rstrip("\n").split("\n")
    with open(args.bundle, encoding="utf-8") as handle:
        bundle = json.load(handle)
    statements = sorted(
        obj["definition"]["statement"]
        for obj in bundle["objects"]
        if obj.get("type") == "marking-definition" and "statement" in obj.get("definition", {})
    )
    os.makedirs(args.out, exist_ok=True)
    for name, rows in tables(bundle).items():
        lines = header(f"{name}.tsv", WHAT[name], licence_lines, statements)
        lines += ["\t".join(escape(field) for field in row) for row in rows]
        path = os.path.join(args.out, f"{name}.tsv")
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
