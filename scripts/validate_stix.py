#!/usr/bin/env python3
"""Validates every STIX bundle in the given directories with OASIS's stix2-validator.

    python3 scripts/validate_stix.py DIR...

Strict: every recommended-practice warning is an error, and every object a relationship
or note refers to must be in its bundle, except two checks ascribe's export departs from
on purpose (see src/io/export/stix.rs):

- 103 uuid-check: STIX recommends random UUIDv4 ids for domain objects; ascribe's ids are
  UUIDv5 of what each object stands for, so that exporting the same model twice gives the
  same bundle.
- 202 relationship-types: STIX 2.1 suggests no relationships for its `incident` stub;
  ascribe attributes an incident with `attributed-to`, as OpenCTI does.

Before the bundles, a bundle with an out-of-range confidence is checked and must fail,
so that a validator that accepts everything cannot pass. Exits 1 if any bundle is
invalid or none was found.
"""

import json
import sys
import tempfile
from pathlib import Path

from stix2validator import ValidationOptions, print_results, validate_file

OPTIONS = ValidationOptions(
    version="2.1",
    strict=True,
    enforce_refs=True,
    disabled="103,202",
)

BROKEN = {
    "type": "bundle",
    "id": "bundle--6f5a2a2c-0f1e-4bbd-8c41-5b9f1e0a2d11",
    "objects": [
        {
            "type": "intrusion-set",
            "spec_version": "2.1",
            "id": "intrusion-set--0b6c5e3a-8f0e-4a7d-9a52-1f6f1a8d3c21",
            "created": "2024-03-26T00:00:00.000Z",
            "modified": "2024-03-26T00:00:00.000Z",
            "name": "apt40",
            "confidence": 150,
        }
    ],
}


def main(dirs):
    with tempfile.TemporaryDirectory() as scratch:
        broken = Path(scratch) / "broken.json"
        broken.write_text(json.dumps(BROKEN))
        if validate_file(str(broken), OPTIONS).is_valid:
            print("error: the validator accepted a bundle with confidence 150", file=sys.stderr)
            return 1
    files = sorted(p for d in dirs for p in Path(d).glob("*.json"))
    if not files:
        print(f"error: no STIX bundle found in {' '.join(dirs)}", file=sys.stderr)
        return 1
    invalid = []
    for path in files:
        results = validate_file(str(path), OPTIONS)
        if not results.is_valid:
            print_results(results)
            invalid.append(path)
    if invalid:
        print(f"error: {len(invalid)} of {len(files)} STIX bundles are invalid", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} STIX bundles valid (stix2-validator, strict, refs enforced)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["target/stix"]))
