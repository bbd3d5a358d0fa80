#!/usr/bin/env python3
"""Verify a vigil msgpack export without vigil (see docs/store.md).

    python3 verify_export.py EXPORT [--key KEYFILE] [--head HEX]

Checks the header, that seqs are dense, that each prev is the previous hash (the anchor for
the first record) and that hash == BLAKE3(prev || seq as 8 bytes big-endian || bytes), keyed
BLAKE3 when the export is keyed; that the file ends exactly after its trailer (version 2:
record count, last seq and last hash, which must match the records read), so that a file cut
anywhere, also at a record boundary, fails. A version 1 export has no trailer: it is checked
record by record, a cut in the middle of a record fails, and a note says that a cut at a
record boundary cannot be detected. With --head, the last hash must equal HEX (a head you
wrote down or published earlier). Exit 0 when it verifies, 1 when it does not, 2 on bad
arguments. Needs `pip install msgpack blake3`.
"""
import argparse
import os
import sys

import blake3
import msgpack

TRAILER = "vigil_export_end"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export")
    ap.add_argument("--key", help="32-byte key file of a keyed export")
    ap.add_argument("--head", help="expected hash of the last record, hex")
    a = ap.parse_args()
    key = None
    if a.key:
        key = open(a.key, "rb").read()
        if len(key) != 32:
            print(f"{a.key}: a key file holds exactly 32 bytes", file=sys.stderr)
            return 2
    size = os.path.getsize(a.export)
    trailer = None
    with open(a.export, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=False)
        try:
            header = next(unpacker)
        except (StopIteration, ValueError, msgpack.UnpackException) as e:
            print(f"{a.export}: no header: {e}", file=sys.stderr)
            return 1
        version = header.get("vigil_export") if isinstance(header, dict) else None
        if version not in (1, 2):
            print(f"{a.export}: not a vigil export (version 1 or 2)", file=sys.stderr)
            return 1
        if header["keyed"] and key is None:
            print(f"{a.export}: the export is keyed; pass --key", file=sys.stderr)
            return 2
        seq, prev, n, redacted = header["first_seq"], header["anchor"], 0, 0
        try:
            for rec in unpacker:
                if trailer is not None:
                    raise ValueError("data after the trailer")
                if version >= 2 and isinstance(rec, dict) and TRAILER in rec:
                    trailer = rec
                    continue
                if rec["seq"] != seq:
                    raise ValueError(f"gap: expected seq {seq}, found {rec['seq']}")
                if rec["prev"] != prev:
                    raise ValueError(f"seq {seq}: prev is not the previous hash")
                if rec.get("redacted") is True and "bytes" not in rec:
                    # Purged by retention: the stored hash carries the chain on; only this
                    # record's own content cannot be checked (its RecordsDestroyed says why).
                    prev, seq, n, redacted = rec["hash"], seq + 1, n + 1, redacted + 1
                    continue
                data = prev + seq.to_bytes(8, "big") + rec["bytes"]
                h = blake3.blake3(data, key=key).digest() if header["keyed"] else blake3.blake3(data).digest()
                if h != rec["hash"]:
                    raise ValueError(f"seq {seq}: hash mismatch")
                prev, seq, n = h, seq + 1, n + 1
            # The unpacker stops quietly at an incomplete object: the file must end where the
            # last whole object ends.
            if unpacker.tell() != size:
                raise ValueError(
                    f"the export is cut in the middle of the record at seq {seq} "
                    f"(the file ends there; it is incomplete)")
            if version >= 2:
                if trailer is None:
                    raise ValueError(
                        f"the export ends after seq {seq - 1} without its trailer: it was cut "
                        f"(at a record boundary) and is incomplete")
                if trailer[TRAILER] != n or trailer["last_seq"] != seq - 1:
                    raise ValueError(
                        f"the trailer says {trailer[TRAILER]} records up to seq "
                        f"{trailer['last_seq']} but the file holds {n} up to seq {seq - 1}: "
                        f"records are missing")
                if trailer["head"] != prev:
                    raise ValueError("the trailer's head is not the hash of the last record")
        except (ValueError, KeyError, TypeError, msgpack.UnpackException) as e:
            print(f"{a.export}: FAILED: {e}", file=sys.stderr)
            return 1
    if a.head and prev.hex() != a.head.lower():
        print(f"{a.export}: FAILED: last hash {prev.hex()} is not the expected head", file=sys.stderr)
        return 1
    if version == 1:
        print(f"note: {a.export} is a version 1 export without a trailer: a cut at a record "
              f"boundary cannot be detected", file=sys.stderr)
    purged = f" ({redacted} redacted by retention)" if redacted else ""
    print(f"ok: {n} records{purged}, seq {header['first_seq']}..{seq - 1}, head {prev.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
