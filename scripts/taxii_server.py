#!/usr/bin/env python3
"""Fill a directory with the configuration and data of a medallion TAXII 2.1 server.

Writes DIR/config.json (medallion's memory backend, one user, a small page size so that
clients must page) and DIR/data.json (API root `api1` with one readable collection
holding the objects of a STIX bundle, each with a manifest entry). Objects at even
positions are dated as added on 2024-01-01, those at odd positions on 2025-01-01, so
that a client asking with `added_after=2024-06-01T00:00:00Z` gets the odd ones only.

    python3 scripts/taxii_server.py --bundle tests/data/attack-apt40-G0065.stix21.json \\
        --dir target/taxii --port 5000
    medallion --host 127.0.0.1 --port 5000 target/taxii/config.json

scripts/test.sh does this on a free port and exports the collection's URL as
ASCRIBE_TAXII_URL for tests/it/taxii.rs. Standard library only.
"""

import argparse
import json
import os
import sys

COLLECTION = "4a2c6a7e-5d0e-4c53-9c1e-3f6d2b7e8a10"
USER = "ascribe"
PASSWORD = "ascribe-test"
PAGE_SIZE = 100
ADDED = ("2024-01-01T00:00:00.000000Z", "2025-01-01T00:00:00.000000Z")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args(argv)
    with open(args.bundle, encoding="utf-8") as handle:
        objects = json.load(handle)["objects"]
    manifest = [
        {
            "id": obj["id"],
            "date_added": ADDED[index % 2],
            "version": obj.get("modified", obj.get("created")),
            "media_type": "application/stix+json;version=2.1",
        }
        for index, obj in enumerate(objects)
    ]
    root = f"http://127.0.0.1:{args.port}/api1/"
    data = {
        "/discovery": {
            "title": "ascribe test server",
            "description": "A TAXII 2.1 server for ascribe's tests",
            "default": root,
            "api_roots": [root],
        },
        "api1": {
            "information": {
                "title": "ascribe test API root",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 100 << 20,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": os.path.basename(args.bundle),
                    "can_read": True,
                    "can_write": False,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": objects,
                    "manifest": manifest,
                }
            ],
        },
    }
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": os.path.abspath(os.path.join(args.dir, "data.json")),
        },
        "users": {USER: PASSWORD},
        "taxii": {"max_page_size": PAGE_SIZE},
    }
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "data.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    with open(os.path.join(args.dir, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=1)
    print(f"taxii://{USER}:{PASSWORD}@127.0.0.1:{args.port}/api1/collections/{COLLECTION}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
