"""Follows a provider's subscription through cif_client and prints each update as one JSON
line, so a test can watch what the client does by itself (resume, resynchronise from a
snapshot).

    CIF_CREDENTIAL=cifp_... python follow.py 127.0.0.1:50051[,127.0.0.1:50052...]
"""

from __future__ import annotations

import json
import os
import sys

from cif_client import ProviderClient, connect


def main() -> int:
    client = ProviderClient(connect(*sys.argv[1].split(",")), os.environ["CIF_CREDENTIAL"])
    for update in client.subscribe([]):
        line: dict = {"kind": update.kind, "sequence": str(update.sequence)}
        if update.kind == "snapshot":
            line["resynchronized"] = update.resynchronized
            line["sessions"] = [
                item.session.id for item in update.items if item.WhichOneof("item") == "session"
            ]
        if update.kind == "event":
            line["event"] = update.event.WhichOneof("kind")
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
