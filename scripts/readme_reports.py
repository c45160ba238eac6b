#!/usr/bin/env python3
"""Regenerates the `ascribe report` examples in README.md from the current build.

Run from the repository root after `cargo build`: python3 scripts/readme_reports.py
"""
import re
import subprocess

BLOCKS = [
    (["report", "rules/", "--facts", "facts/nz-2021/", "--incident", "nz_pco_2021"], r"  E5\s+\d"),
    (["report", "rules/", "--facts", "facts/false-flag-example/"], "responsible organ"),
]


def output(args, cut):
    text = subprocess.run(["target/debug/ascribe", *args], capture_output=True, text=True, check=True).stdout
    lines = text.rstrip("\n").split("\n")
    if args[-1].endswith("false-flag-example/"):
        end = next(i for i, line in enumerate(lines) if line.startswith(cut))
        return "\n".join(lines[2:end]).rstrip() + "\n..."
    end = next(i for i, line in enumerate(lines) if re.match(cut, line))
    return "\n".join(lines[:end]) + "\n  ..."


readme = open("README.md").read()
for args, cut in BLOCKS:
    command = "$ ascribe " + " ".join(args)
    pattern = re.compile(re.escape(command) + r"\n.*?\n```", re.S)
    readme, n = pattern.subn(lambda _: command + "\n" + output(args, cut) + "\n```", readme)
    assert n == 1, command
open("README.md", "w").write(readme)
