#!/usr/bin/env python3
"""Batches for `ascribe watch`: every Nth row (default every 100th, 1%) of every input
TSV of DATA, retracted in one batch and added back in the next, written as facts with
the column kinds the rule file declares (int columns bare, the others quoted).

    python3 benches/big/updates.py benches/big/programs/pivot.rules DATA/pivot > batches
"""
import os
import re
import sys


def kinds(rules):
    out = {}
    for m in re.finditer(r"^rel\s+(\w+)\((.*?)\)\.", open(rules).read(), re.M):
        out[m.group(1)] = [c.split(":")[1].strip() for c in m.group(2).split(",")]
    return out


def main():
    rules, data = sys.argv[1], sys.argv[2]
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    declared = kinds(rules)
    picked = []
    for name in sorted(os.listdir(data)):
        if not name.endswith(".tsv"):
            continue
        relation = name[:-4]
        columns = declared[relation]
        with open(os.path.join(data, name)) as f:
            for i, line in enumerate(f):
                if i % every != every - 1:
                    continue
                values = line.rstrip("\n").split("\t")
                args = [
                    v if kind == "int" else '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
                    for v, kind in zip(values, columns)
                ]
                picked.append("%s(%s)." % (relation, ", ".join(args)))
    sys.stderr.write("%d facts picked\n" % len(picked))
    sys.stdout.write("".join("- %s\n" % p for p in picked) + "\n")
    sys.stdout.write("".join("+ %s\n" % p for p in picked) + "\n")


main()
