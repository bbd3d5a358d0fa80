#!/usr/bin/env python3
"""Verify a vigil msgpack export without vigil (see docs/store.md).

    python3 verify_export.py EXPORT [--key KEYFILE] [--head HEX]

Checks the header, that seqs are dense, that each prev is the previous hash (the anchor for
the first record) and that hash == BLAKE3(prev || seq as 8 bytes big-endian || bytes), keyed
BLAKE3 when the export is keyed. With --head, the last hash must equal HEX (a head you wrote
down or published earlier). Exit 0 when it verifies, 1 when it does not, 2 on bad arguments.
Needs `pip install msgpack blake3`.
"""
import argparse
import sys

import blake3
import msgpack


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
    with open(a.export, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=False)
        try:
            header = next(unpacker)
        except (StopIteration, ValueError, msgpack.UnpackException) as e:
            print(f"{a.export}: no header: {e}", file=sys.stderr)
            return 1
        if not isinstance(header, dict) or header.get("vigil_export") != 1:
            print(f"{a.export}: not a vigil export (version 1)", file=sys.stderr)
            return 1
        if header["keyed"] and key is None:
            print(f"{a.export}: the export is keyed; pass --key", file=sys.stderr)
            return 2
        seq, prev, n = header["first_seq"], header["anchor"], 0
        try:
            for rec in unpacker:
                if rec["seq"] != seq:
                    raise ValueError(f"gap: expected seq {seq}, found {rec['seq']}")
                if rec["prev"] != prev:
                    raise ValueError(f"seq {seq}: prev is not the previous hash")
                data = prev + seq.to_bytes(8, "big") + rec["bytes"]
                h = blake3.blake3(data, key=key).digest() if header["keyed"] else blake3.blake3(data).digest()
                if h != rec["hash"]:
                    raise ValueError(f"seq {seq}: hash mismatch")
                prev, seq, n = h, seq + 1, n + 1
        except (ValueError, KeyError, TypeError, msgpack.UnpackException) as e:
            print(f"{a.export}: FAILED: {e}", file=sys.stderr)
            return 1
    if a.head and prev.hex() != a.head.lower():
        print(f"{a.export}: FAILED: last hash {prev.hex()} is not the expected head", file=sys.stderr)
        return 1
    print(f"ok: {n} records, seq {header['first_seq']}..{seq - 1}, head {prev.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
