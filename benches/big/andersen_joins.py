#!/usr/bin/env python3
"""Join sizes of the andersen workload, from its input and ascribe's output.

    python3 benches/big/andersen_joins.py DATA_DIR OUTPUT_DIR

DATA_DIR holds addressOf.tsv, assign.tsv, load.tsv and store.tsv (gen_big.py);
OUTPUT_DIR is what `ascribe run andersen.rules --facts DATA_DIR --output OUTPUT_DIR`
wrote. Semi-naive evaluation meets each combination of premise rows exactly once, so
the join sizes over the final pointsTo are the candidates each rule produces over the
whole run. For the two three-atom rules the script also counts the distinct pairs the
first two atoms give (what a materialized intermediate relation would hold) and the
candidates that relation would produce, and, for the load rule, the rows the plan that
starts from new pointsTo(R, O) facts visits in pointsTo(Q, R) against those whose Q has
a load edge at all.
"""
import re
import sys
from collections import defaultdict


def read_pairs(path):
    with open(path) as f:
        return [tuple(line.split("\t")[:2]) for line in f.read().split("\n") if line]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, output = sys.argv[1], sys.argv[2]
    assign = read_pairs(f"{data}/assign.tsv")
    load = read_pairs(f"{data}/load.tsv")
    store = read_pairs(f"{data}/store.tsv")
    pt = defaultdict(set)
    pointed_by = defaultdict(set)
    with open(f"{output}/pointsTo.facts") as f:
        for m in re.finditer(r"pointsTo\((\d+), (\d+)\)", f.read()):
            pt[m.group(1)].add(m.group(2))
            pointed_by[m.group(2)].add(m.group(1))
    facts = sum(len(v) for v in pt.values())
    print(f"pointsTo facts: {facts:,}")
    print(f"assign candidates: {sum(len(pt[q]) for _, q in assign):,}")
    for name, rule, pairs_of in [
        # pointsTo(P, O) :- load(P, Q), pointsTo(Q, R), pointsTo(R, O).
        ("load", load, lambda p, q: [((p, r), r) for r in pt[q]]),
        # pointsTo(R, O) :- store(P, Q), pointsTo(P, R), pointsTo(Q, O).
        ("store", store, lambda p, q: [((r, q), q) for r in pt[p]]),
    ]:
        triples = candidates = 0
        pairs = {}
        for p, q in rule:
            for pair, last in pairs_of(p, q):
                triples += 1
                candidates += len(pt[last])
                pairs[pair] = last
        deduplicated = sum(len(pt[last]) for last in pairs.values())
        print(
            f"{name}: candidates {candidates:,} "
            f"({candidates / facts:.1f} per pointsTo fact); first two atoms "
            f"{triples:,} matches, {len(pairs):,} distinct pairs; candidates from "
            f"the pairs {deduplicated:,}"
        )
    loaded = {q for _, q in load}
    visits = useful = 0
    for r, targets in pt.items():
        sources = pointed_by.get(r, ())
        visits += len(sources) * len(targets)
        useful += sum(1 for q in sources if q in loaded) * len(targets)
    print(
        f"load rule, plan from new pointsTo(R, O): at most {visits:,} rows of "
        f"pointsTo(Q, R) visited, {useful:,} of them with a load edge on Q"
    )


if __name__ == "__main__":
    main()
