#!/usr/bin/env python3
"""Loads ascribe's HTML pages in headless Chromium and checks what a reader would see.

Renders the NZ case's explanation of state_sponsored(nz_pco_2021, prc) and the NZ
report with the ascribe binary given, then, in a real browser:

- opens the explanation at the address of a node that is closed in the page as
  written (#n21) and checks, in the DOM after the page's script ran, that the node and
  its ancestors are open and that a leaf's source text is there;
- opens the report at a candidate's explanation and checks it was opened;
- takes a screenshot of each page and checks the PNG: its size, and that it is not
  blank (many colours, a good share of pixels unlike the background).

Uses only the standard library. Exits 1 with a message naming what failed.

    python3 tests/browser/check_pages.py --ascribe target/debug/ascribe [--screenshot docs/images/explain-nz.png]
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

WIDTH, HEIGHT = 1200, 1160
EXPLAINED = "state_sponsored(nz_pco_2021, prc)"


def fail(message):
    print(f"browser check failed: {message}", file=sys.stderr)
    sys.exit(1)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    fail("no chromium on PATH (scripts/test.sh installs Debian's `chromium`)")


def browser(binary, profile, *args):
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, timeout=120)
    if result.returncode != 0:
        fail(f"{' '.join(command)} exited {result.returncode}: {result.stderr.decode(errors='replace')[-2000:]}")
    return result.stdout.decode("utf-8", errors="replace")


def render(ascribe, args, path):
    result = subprocess.run([ascribe, *args], capture_output=True, timeout=300)
    if result.returncode != 0:
        fail(f"ascribe {' '.join(args)} exited {result.returncode}: {result.stderr.decode(errors='replace')}")
    path.write_bytes(result.stdout)
    return result.stdout.decode("utf-8")


def pixels(png):
    """The RGB(A) rows of an 8-bit, non-interlaced PNG, as (width, height, rows)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        fail("the screenshot is not a PNG")
    at, idat, header = 8, b"", None
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        data = png[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        at += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        fail(f"unexpected PNG layout: depth {depth}, colour type {colour}, interlace {interlace}")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for x in range(stride):
            left = row[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                row[x] = (row[x] + left) & 0xFF
            elif kind == 2:
                row[x] = (row[x] + up) & 0xFF
            elif kind == 3:
                row[x] = (row[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[x] = (row[x] + predictor) & 0xFF
        rows.append(bytes(row))
        previous = row
    return width, height, channels, rows


def check_screenshot(path, what):
    png = path.read_bytes()
    if len(png) < 20_000:
        fail(f"the screenshot of {what} is only {len(png)} bytes")
    width, height, channels, rows = pixels(png)
    if (width, height) != (WIDTH, HEIGHT):
        fail(f"the screenshot of {what} is {width}x{height}, not {WIDTH}x{HEIGHT}")
    colours = Counter()
    for row in rows[::4]:
        for x in range(0, width * channels, channels * 4):
            colours[row[x : x + 3]] += 1
    total = sum(colours.values())
    background, most = colours.most_common(1)[0]
    ink = 1 - most / total
    if len(colours) < 16 or ink < 0.02:
        fail(f"the screenshot of {what} looks blank: {len(colours)} colours, {ink:.1%} of pixels unlike the background")
    print(f"screenshot of {what}: {width}x{height}, {len(png)} bytes, {len(colours)} colours, {ink:.1%} ink")


def opened(dom, anchor):
    for tag in re.findall(r"<details\b[^>]*>", dom):
        if f'id="{anchor}"' in tag:
            return re.search(r'\sopen(=""|\s|>)', tag) is not None
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ascribe", required=True, help="the ascribe binary")
    parser.add_argument("--screenshot", help="also copy the explanation's screenshot here")
    args = parser.parse_args()
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="ascribe-browser-") as scratch:
        scratch = Path(scratch)
        profile = scratch / "profile"
        explanation = scratch / "explain-nz.html"
        report = scratch / "report-nz.html"
        html = render(
            args.ascribe,
            ["explain", "rules/", "--facts", "facts/nz-2021/", EXPLAINED, "--format", "html"],
            explanation,
        )
        render(args.ascribe, ["report", "rules/", "--facts", "facts/nz-2021/", "--format", "html"], report)

        # A node closed as written: the Director-General's trust, three levels down.
        target = re.search(r'<details id="(n\d+)"><summary><span class="fact">trusted\(gcsb_dg_clark_2024_03_26\)', html)
        if not target:
            fail("the explanation has no closed node for trusted(gcsb_dg_clark_2024_03_26)")
        anchor = target.group(1)
        dom = browser(binary, profile, "--dump-dom", f"{explanation.as_uri()}#{anchor}")
        if not opened(dom, anchor):
            fail(f"loading #{anchor} did not open the node")
        if not opened(dom, "n1"):
            fail("the conclusion's node is not open")
        if not re.search(r'<details id="%s" open="" class="target">' % anchor, dom):
            fail(f"#{anchor} is not marked as the target")
        for text in [
            "source: Andrew Clark, GCSB Director-General, 2024-03-26, as reported by NZ Herald, The Register and EFE",
            "graded B2",
            "from 2024-03-26",
        ]:
            if text not in dom:
                fail(f"the explanation's DOM lacks {text!r}")
        print(f"explanation: #{anchor} opened, sources, grades and dates in the DOM")

        dom = browser(binary, profile, "--dump-dom", f"{report.as_uri()}#i2-H4-explanation")
        if not opened(dom, "i2-H4-explanation"):
            fail("loading #i2-H4-explanation did not open the candidate's explanation")
        if '<table class="ach">' not in dom:
            fail("the report's DOM has no ACH table")
        print("report: #i2-H4-explanation opened, ACH table in the DOM")

        for page, what in [(explanation, "the explanation"), (report, "the report")]:
            shot = scratch / (page.stem + ".png")
            browser(binary, profile, f"--screenshot={shot}", page.as_uri())
            check_screenshot(shot, what)
            if page is explanation and args.screenshot:
                os.makedirs(os.path.dirname(args.screenshot) or ".", exist_ok=True)
                shutil.copyfile(shot, args.screenshot)


if __name__ == "__main__":
    main()
