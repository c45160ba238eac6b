#!/usr/bin/env python3
"""Generate ascribe facts for one MITRE ATT&CK group from a STIX 2.1 bundle.

Writes the group's canonical symbol, ATT&CK id and name, its aliases, the techniques
and software ATT&CK records it as using, technique names and sub-technique parents,
each fact annotated with @source naming the ATT&CK release and object. The output
starts with MITRE's copyright notice and licence, as LICENSE-ATTACK.txt requires of
every copy.

Examples (from the repository root):

    python3 facts/tools/attack_to_facts.py \
        --bundle ../shared/data/attack-apt40-G0065.stix21.json \
        --group G0065 --symbol apt40 --out facts/nz-2021/attack-apt40.facts

    python3 facts/tools/attack_to_facts.py \
        --bundle ../shared/data/attack-enterprise-compact.stix21.json \
        --group G0128 --symbol apt31 --out facts/uk-electoral-commission-2021/attack-apt31.facts

Standard library only. The output is deterministic (sorted), so regenerating an
unchanged bundle gives a byte-identical file.
"""

import argparse
import json
import os
import re
import sys

RELEASE = "MITRE ATT&CK Enterprise v18.1"

# Confidence given to facts taken from ATT&CK. Aliases join names that different
# vendors gave to clusters of activity that only roughly coincide; "uses" records are
# procedure examples drawn from public reporting. Catalogue entries (what a technique
# or a software id is called) carry no uncertainty and get no @confidence.
ALIAS_CONFIDENCE = 0.95
USES_CONFIDENCE = 0.9

SYMBOL = re.compile(r"[a-z][A-Za-z0-9_]*")


def attack_id(obj):
    for ref in obj.get("external_references", []):
        if ref.get("source_name") in ("mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"):
            return ref.get("external_id")
    return None


def quote(text):
    """A string literal in ascribe syntax (one line; escapes per docs/language.md)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return '"' + escaped + '"'


def live(obj):
    return not obj.get("revoked", False) and not obj.get("x_mitre_deprecated", False)


def citations(rel):
    names = [ref["source_name"] for ref in rel.get("external_references", []) if "source_name" in ref]
    return sorted(set(names))


def licence_comment(licence_path, bundle):
    lines = []
    statements = sorted(
        obj["definition"]["statement"]
        for obj in bundle["objects"]
        if obj.get("type") == "marking-definition" and "statement" in obj.get("definition", {})
    )
    with open(licence_path, encoding="utf-8") as handle:
        licence = handle.read().rstrip("\n").split("\n")
    for line in licence:
        lines.append(("// " + line).rstrip())
    if statements:
        lines.append("//")
        lines.append("// Marking statement carried by the ATT&CK objects:")
        for statement in statements:
            lines.append("// " + statement)
    return lines


def generate(bundle, group_id, symbol, bundle_name, licence_path, out_name):
    """The facts file for one group, as text."""
    objects = {obj["id"]: obj for obj in bundle["objects"]}
    groups = [
        obj for obj in bundle["objects"]
        if obj.get("type") == "intrusion-set" and attack_id(obj) == group_id and live(obj)
    ]
    if len(groups) != 1:
        raise SystemExit(f"error: expected one live intrusion-set {group_id} in the bundle, found {len(groups)}")
    group = groups[0]
    group_source = f"{RELEASE}, {group_id}"

    techniques = {}      # id -> (name, stix object)
    used_techniques = {}  # id -> citations
    used_software = {}   # id -> (name, kind, citations)
    for rel in bundle["objects"]:
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "uses":
            continue
        if rel.get("source_ref") != group["id"] or not live(rel):
            continue
        target = objects.get(rel.get("target_ref"))
        if target is None or not live(target):
            continue
        tid = attack_id(target)
        if target["type"] == "attack-pattern":
            techniques[tid] = target
            used_techniques.setdefault(tid, set()).update(citations(rel))
        elif target["type"] in ("malware", "tool"):
            entry = used_software.setdefault(tid, [target["name"], target["type"], set()])
            entry[2].update(citations(rel))

    # Parents of used sub-techniques, so that `subtechnique_of` can be followed.
    parents = {}
    for rel in bundle["objects"]:
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "subtechnique-of" or not live(rel):
            continue
        child = objects.get(rel.get("source_ref"))
        parent = objects.get(rel.get("target_ref"))
        if child is None or parent is None or not live(parent):
            continue
        child_id = attack_id(child)
        if child_id in techniques:
            parent_id = attack_id(parent)
            parents[child_id] = parent_id
            techniques.setdefault(parent_id, parent)

    out = []
    out.append(f"// {out_name}: ATT&CK facts for {group_id} {group['name']}, canonical symbol `{symbol}`.")
    out.append(f"// Generated by facts/tools/attack_to_facts.py from {bundle_name} ({RELEASE});")
    out.append("// do not edit by hand: regenerate instead (see facts/README.md).")
    out.append("//")
    out.append("// MITRE ATT&CK(R) data. Copyright notice and licence, reproduced as LICENSE-ATTACK.txt requires:")
    out.append("//")
    out.extend(licence_comment(licence_path, bundle))
    campaigns = sorted(
        f"{attack_id(objects[rel['source_ref']])} {objects[rel['source_ref']]['name']}"
        for rel in bundle["objects"]
        if rel.get("type") == "relationship" and rel.get("relationship_type") == "attributed-to"
        and rel.get("target_ref") == group["id"] and rel.get("source_ref") in objects and live(rel)
    )
    out.append("//")
    out.append("// ATT&CK campaigns attributed to the group are left out on purpose"
               + (f" ({'; '.join(campaigns)})" if campaigns else " (none in this bundle)") + ":")
    out.append("// ATT&CK builds them from the same public reports as incident facts, so matching an")
    out.append("// incident against them would be circular.")
    out.append("")
    out.append("// The group.")
    out.append(f"group({symbol}) @source({quote(group_source)}).")
    out.append(
        f"attack_group({symbol}, {quote(group_id)}, {quote(group['name'])}) @source({quote(group_source)})."
    )
    out.append("")
    out.append("// Names under which the group is reported (ATT&CK id, ATT&CK name, aliases).")
    names = {group_id, group["name"], *group.get("aliases", [])}
    for name in sorted(names, key=lambda n: (n.lower(), n)):
        if name == symbol:
            continue
        confidence = "" if name in (group_id,) else f" @confidence({ALIAS_CONFIDENCE})"
        out.append(f"alias_of({quote(name)}, {symbol}) @source({quote(group_source + ' aliases')}){confidence}.")
    out.append("")
    out.append("// Techniques and sub-techniques the group is recorded as using.")
    for tid in sorted(used_techniques):
        cites = ", ".join(sorted(used_techniques[tid]))
        source = f"{RELEASE}, {group_id} uses {tid} (citing {cites})" if cites else f"{RELEASE}, {group_id} uses {tid}"
        out.append(f"uses_technique({symbol}, {quote(tid)}) @source({quote(source)}) @confidence({USES_CONFIDENCE}).")
    out.append("")
    out.append("// Software the group is recorded as using.")
    for sid in sorted(used_software):
        name, kind, cites = used_software[sid]
        cites = ", ".join(sorted(cites))
        source = f"{RELEASE}, {group_id} uses {sid} (citing {cites})" if cites else f"{RELEASE}, {group_id} uses {sid}"
        out.append(f"uses_software({symbol}, {quote(sid)}) @source({quote(source)}) @confidence({USES_CONFIDENCE}).")
    out.append("")
    out.append("// Catalogue: technique names and sub-technique parents.")
    for tid in sorted(techniques):
        out.append(f"technique({quote(tid)}, {quote(techniques[tid]['name'])}) @source({quote(RELEASE + ', ' + tid)}).")
    for child_id in sorted(parents):
        out.append(
            f"subtechnique_of({quote(child_id)}, {quote(parents[child_id])}) @source({quote(RELEASE + ', ' + child_id)})."
        )
    out.append("")
    out.append("// Catalogue: software names.")
    for sid in sorted(used_software):
        name, kind, _ = used_software[sid]
        out.append(f"software({quote(sid)}, {quote(name)}, {kind}) @source({quote(RELEASE + ', ' + sid)}).")
    return "\n".join(out) + "\n"



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="STIX 2.1 bundle (ATT&CK Enterprise or a slice of it)")
    parser.add_argument("--group", required=True, help="ATT&CK group id, e.g. G0065")
    parser.add_argument("--symbol", required=True, help="canonical symbol for the group, e.g. apt40")
    parser.add_argument(
        "--licence",
        help="ATT&CK licence text to reproduce (default: LICENSE-ATTACK.txt beside the bundle, else facts/LICENSE-ATTACK.txt)",
    )
    parser.add_argument("--out", default="-", help="output file (default: standard output)")
    args = parser.parse_args(argv)

    if not SYMBOL.fullmatch(args.symbol) or args.symbol in ("not", "rel"):
        parser.error("--symbol must be a lower-case identifier such as apt40")
    licence = args.licence
    if licence is None:
        beside = os.path.join(os.path.dirname(os.path.abspath(args.bundle)), "LICENSE-ATTACK.txt")
        here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "LICENSE-ATTACK.txt")
        licence = beside if os.path.exists(beside) else here
    with open(args.bundle, encoding="utf-8") as handle:
        bundle = json.load(handle)
    out_name = os.path.basename(args.out) if args.out != "-" else f"attack-{args.symbol}.facts"
    text = generate(bundle, args.group, args.symbol, os.path.basename(args.bundle), licence, out_name)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
