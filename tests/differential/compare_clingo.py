#!/usr/bin/env python3
"""Compares ascribe's model of each program with clingo's stable model.

    compare_clingo.py [--ascribe BIN] [--jobs N] [--dataflow] PATH...

Each PATH is a `.rules` file or a directory of them (not recursive). For each program,
`ascribe run PROGRAM --all --format tsv` gives every fact ascribe holds (on 1, 2 and 4
threads, which must agree byte for byte, and with `--dataflow` on the dataflow engine
too, confidences included, unless it refuses the program); the program,
translated to ASP, is solved by clingo; the two sets of atoms must be equal, relation by
relation. Confidences are ignored: clingo has none. Exits 0 when every program agrees,
1 when some program differs or fails, 2 on usage errors.

The translation covers the language the generator in `tests/it/differential.rs` writes,
and any program within it (`tests/differential/README.md` explains the semantics):

- `rel` declarations become `#defined name/arity.`; annotations and comments go.
- Symbols and integers are written alike. A string that is a lower-case identifier is the
  symbol (ascribe treats `"a"` and `a` as one value); other strings stay strings.
  Floats and dates have no ASP counterpart: such programs are reported as skipped, and
  so are programs declaring `@exception` (an uncertain fact of such a relation under
  `not` weakens a conclusion instead of defeating it, which needs confidences).
- `%` becomes `\\` (both keep the sign of the dividend; `/` truncates in both).
- `N = count(V1, ..., Vk : body)` counts distinct tuples of the listed variables:
  `N = #count{V1, ..., Vk : body}`. With none listed it counts distinct solutions of the
  body's local variables (those occurring nowhere else in the rule, each `_` of a
  positive atom being one of its own), so the tuple is every local; with none, `0`.
- `N = sum(V : body)` sums over distinct solutions: `N = #sum{V, locals... : body}`.
- `_` in a negated atom (inside an aggregate too) stays `_`: clingo projects it away,
  as ascribe reads it ("no such fact, whatever the value").
- `N = min/max(V : body)` is `#min`/`#max`; of nothing clingo gives `#sup`/`#inf`
  where ascribe derives nothing, so `N != #sup` (`N != #inf`) is added.
"""

import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys

import clingo

TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<float>\d+\.\d+(?:[eE][+-]?\d+)?)
  | (?P<int>\d+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<name>[a-z][A-Za-z0-9_]*)
  | (?P<var>[A-Z_][A-Za-z0-9_]*)
  | (?P<op>:-|!=|<=|>=|[()\[\],.:=<>+\-*/%@])
    """,
    re.VERBOSE | re.DOTALL,
)

AGGREGATES = {"count", "sum", "min", "max"}

# Whether `_` in an aggregate's positive atom is a local of its own, so that
# `sum(V : r(V, _))` sums V once per matching fact rather than once per distinct V.
# README: yes ("a fresh variable at each occurrence"; "a solution is an assignment of the
# body's own variables"), and so does the engine. Each such `_` is then renamed apart
# and added to the tuple, for `sum` and for `count` without listed variables.
ANONYMOUS_IS_LOCAL = True
SYMBOL = re.compile(r"[a-z][A-Za-z0-9_]*\Z")


class Unsupported(Exception):
    """The program uses something with no ASP counterpart."""


def tokenize(text):
    tokens = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise Unsupported(f"cannot read {text[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup
        if kind == "space":
            continue
        tokens.append((kind, match.group()))
    return tokens


def statements(tokens):
    """Splits at `.` outside parentheses."""
    depth = 0
    current = []
    for token in tokens:
        if token == ("op", "(") or token == ("op", "["):
            depth += 1
        elif token == ("op", ")") or token == ("op", "]"):
            depth -= 1
        if token == ("op", ".") and depth == 0:
            yield current
            current = []
        else:
            current.append(token)
    if current:
        raise Unsupported("statement without a final `.`")


def strip_annotations(tokens):
    out = []
    i = 0
    while i < len(tokens):
        if tokens[i] == ("op", "@"):
            i += 2
            if i < len(tokens) and tokens[i] == ("op", "("):
                depth = 0
                while True:
                    if tokens[i] == ("op", "("):
                        depth += 1
                    elif tokens[i] == ("op", ")"):
                        depth -= 1
                    i += 1
                    if depth == 0:
                        break
            continue
        out.append(tokens[i])
        i += 1
    return out


def term_text(token):
    kind, text = token
    if kind in ("date", "float"):
        raise Unsupported(f"{kind} {text}")
    if kind == "string":
        body = text[1:-1]
        if "\\" not in body and SYMBOL.match(body):
            return body
        return text
    if text == "%":
        return "\\"
    return text


def find_close(tokens, start):
    """Index of the `)` matching the `(` at `start`."""
    depth = 0
    for i in range(start, len(tokens)):
        if tokens[i] == ("op", "("):
            depth += 1
        elif tokens[i] == ("op", ")"):
            depth -= 1
            if depth == 0:
                return i
    raise Unsupported("unbalanced parentheses")


def split_top(tokens, separator=","):
    parts, current, depth = [], [], 0
    for token in tokens:
        if token[1] in "([":
            depth += 1
        elif token[1] in ")]":
            depth -= 1
        if token == ("op", separator) and depth == 0:
            parts.append(current)
            current = []
        else:
            current.append(token)
    parts.append(current)
    return parts


def variables(tokens):
    return {text for kind, text in tokens if kind == "var" and text != "_"}


def translate_rule(tokens):
    """One clause (annotations removed) in ASP."""
    if ("op", ":-") not in tokens:
        return " ".join(term_text(t) for t in tokens) + "."
    split = tokens.index(("op", ":-"))
    head, body = tokens[:split], tokens[split + 1:]
    literals = split_top(body)
    # Find aggregates: VAR = fn ( targets : body ).
    aggregates = {}
    for index, literal in enumerate(literals):
        if (
            len(literal) >= 4
            and literal[0][0] == "var"
            and literal[1] == ("op", "=")
            and literal[2][0] == "name"
            and literal[2][1] in AGGREGATES
            and literal[3] == ("op", "(")
            and find_close(literal, 3) == len(literal) - 1
        ):
            aggregates[index] = literal
    out = []
    fresh = 0
    for index, literal in enumerate(literals):
        if index not in aggregates:
            out.append(" ".join(term_text(t) for t in literal))
            continue
        result, function = literal[0][1], literal[2][1]
        inside = literal[4:-1]
        colon = inside.index(("op", ":"))
        targets = [t[1] for t in inside[:colon] if t[0] == "var"]
        conditions = split_top(inside[colon + 1:])
        elsewhere = variables(head)
        for other, other_literal in enumerate(literals):
            if other != index:
                elsewhere |= variables(other_literal)
        # `_` in a positive atom of the aggregate is a local of its own: name it.
        renamed = []
        anonymous = []
        for condition in conditions:
            if not ANONYMOUS_IS_LOCAL or (condition and condition[0] == ("name", "not")):
                renamed.append(condition)
                continue
            new = []
            for token in condition:
                if token == ("var", "_"):
                    fresh += 1
                    name = f"Anon_{fresh}"
                    anonymous.append(name)
                    new.append(("var", name))
                else:
                    new.append(token)
            renamed.append(new)
        inner = set()
        for condition in renamed:
            if not (condition and condition[0] == ("name", "not")):
                inner |= variables(condition)
        locals_ = sorted(v for v in inner if v not in elsewhere)
        if function == "count":
            tuple_ = targets if targets else locals_
        elif function == "sum":
            tuple_ = targets + [v for v in locals_ if v not in targets]
        else:
            tuple_ = targets
        if not tuple_:
            tuple_ = ["0"]
        condition_text = ", ".join(" ".join(term_text(t) for t in c) for c in renamed)
        out.append(f"{result} = #{function}{{ {', '.join(tuple_)} : {condition_text} }}")
        if function == "min":
            out.append(f"{result} != #sup")
        elif function == "max":
            out.append(f"{result} != #inf")
    return " ".join(term_text(t) for t in head) + " :- " + ", ".join(out) + "."


def translate(text):
    """The ASP program and the relations (name -> arity) of an ascribe program."""
    lines = []
    relations = {}
    for statement in statements(tokenize(text)):
        # Facts of an `@exception` relation under `not` weaken a conclusion by their
        # confidence instead of defeating it unless certain; clingo has no confidences.
        if any(
            a == ("op", "@") and b == ("name", "exception")
            for a, b in zip(statement, statement[1:])
        ):
            raise Unsupported("`@exception`: uncertain defeaters weaken, they do not defeat")
        statement = strip_annotations(statement)
        if not statement:
            continue
        if statement[0] == ("name", "rel"):
            name = statement[1][1]
            columns = split_top(statement[3:-1])
            arity = 0 if columns == [[]] else len(columns)
            relations[name] = arity
            lines.append(f"#defined {name}/{arity}.")
            continue
        name = statement[0][1]
        close = find_close(statement, 1)
        args = split_top(statement[2:close])
        relations.setdefault(name, 0 if args == [[]] else len(args))
        lines.append(translate_rule(statement))
    return "\n".join(lines) + "\n", relations


def symbol_text(symbol):
    if symbol.type == clingo.SymbolType.Number:
        return str(symbol.number)
    if symbol.type == clingo.SymbolType.String:
        return symbol.string
    if symbol.type == clingo.SymbolType.Function and not symbol.arguments:
        return symbol.name
    return str(symbol)


def clingo_model(asp, relations):
    control = clingo.Control(["--warn=none", "--models=0"])
    control.add("base", [], asp)
    control.ground([("base", [])])
    models = []
    control.solve(on_model=lambda m: models.append(m.symbols(atoms=True)))
    if len(models) != 1:
        raise RuntimeError(f"clingo found {len(models)} stable models, expected exactly 1")
    facts = collections.defaultdict(set)
    for symbol in models[0]:
        if symbol.name in relations:
            facts[symbol.name].add(tuple(symbol_text(a) for a in symbol.arguments))
    return facts


def ascribe_model(binary, path, dataflow):
    """ascribe's facts, evaluated on 1, 2 and 4 threads, which must print the same bytes;
    with `dataflow`, also on the dataflow engine with 2 workers, which must print them too
    (confidences included) unless it refuses the program. (facts, whether the dataflow
    engine ran)."""
    outputs = []
    for threads in ("1", "2", "4"):
        run = subprocess.run(
            [binary, "run", path, "--all", "--format", "tsv", "--no-explain",
             "--color", "never", "--threads", threads],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode != 0:
            raise RuntimeError(f"ascribe exited {run.returncode}:\n{run.stderr}")
        outputs.append(run.stdout)
    if any(output != outputs[0] for output in outputs):
        raise RuntimeError("ascribe's output depends on the number of threads")
    ran = False
    if dataflow:
        run = subprocess.run(
            [binary, "run", path, "--all", "--format", "tsv", "--color", "never",
             "--engine", "dataflow", "--workers", "2", "--quiet"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        refused = run.returncode == 1 and "error[E0370]" in run.stderr
        if not refused:
            if run.returncode != 0:
                raise RuntimeError(f"ascribe --engine dataflow exited {run.returncode}:\n{run.stderr}")
            if run.stdout != outputs[0]:
                raise RuntimeError("the dataflow engine's output differs from the default engine's")
            ran = True
    facts = collections.defaultdict(set)
    for line in outputs[0].splitlines():
        fields = line.split("\t")
        # relation, values..., confidence
        facts[fields[0]].add(tuple(fields[1:-1]))
    return facts, ran


def compare(binary, path, dataflow=False):
    """(status, message) for one program: status is ok, skipped, mismatch or error."""
    try:
        text = open(path, encoding="utf-8").read()
        asp, relations = translate(text)
    except Unsupported as error:
        return "skipped", f"{path}: skipped ({error})"
    try:
        ours, ran = ascribe_model(binary, path, dataflow)
        theirs = clingo_model(asp, relations)
    except Exception as error:  # noqa: BLE001 - reported with the program
        return "error", f"{path}: {error}"
    lines = []
    for relation in sorted(relations):
        only_ours = ours.get(relation, set()) - theirs.get(relation, set())
        only_theirs = theirs.get(relation, set()) - ours.get(relation, set())
        for values in sorted(only_ours)[:5]:
            lines.append(f"  only ascribe: {relation}({', '.join(values)})")
        for values in sorted(only_theirs)[:5]:
            lines.append(f"  only clingo:  {relation}({', '.join(values)})")
    atoms = sum(len(v) for v in ours.values())
    if lines:
        return "mismatch", f"{path}: models differ\n" + "\n".join(lines) + f"\n--- ASP:\n{asp}"
    return "ok", (atoms, ran)


def programs(paths):
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.endswith(".rules"):
                    yield os.path.join(path, name)
        else:
            yield path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", help=".rules files or directories of them")
    parser.add_argument("--ascribe", default="target/debug/ascribe", help="the ascribe binary")
    parser.add_argument("--verbose", action="store_true", help="say why programs are skipped")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dataflow", action="store_true",
                        help="also run each program on the dataflow engine (2 workers)")
    args = parser.parse_args()
    if not os.access(args.ascribe, os.X_OK):
        print(f"error: {args.ascribe} is not an executable (build it first)", file=sys.stderr)
        return 2
    files = list(programs(args.paths))
    counts = collections.Counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for status, message in pool.map(lambda p: compare(args.ascribe, p, args.dataflow), files):
            counts[status] += 1
            if status == "ok":
                counts["atoms"] += message[0]
                counts["dataflow"] += message[1]
            elif status != "skipped" or args.verbose:
                print(message, file=sys.stderr)
    print(
        f"{counts['atoms']} atoms agree; {counts['mismatch']} models differ,"
        f" {counts['error']} errors"
    )
    if args.dataflow:
        print(f"dataflow engine: the same output on {counts['dataflow']} of {counts['ok']} programs"
              " that agree (the others combine evidence, which it refuses)")
    # The closing line in the plain form CI reads: 'N passed, N failed, N skipped'.
    failed = counts["mismatch"] + counts["error"]
    print(f"clingo: {counts['ok']} passed, {failed} failed, {counts['skipped']} skipped")
    return 1 if counts["mismatch"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
