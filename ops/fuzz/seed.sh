#!/bin/sh
# Rebuilds the committed seed corpora in ops/fuzz/seeds/<target>/ (and the wire decoder's in
# firmware/wire/fuzz/seeds/decoder/) from the project's own vectors, fixtures and shipped
# files. Needs a built `vigil` (cargo build -p vigil), xxd and python3 with msgpack.
# Run from anywhere: ops/fuzz/seed.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
vigil=${VIGIL:-$root/target/debug/vigil}
seeds=$root/ops/fuzz/seeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$seeds"
mkdir -p "$seeds/config_parse" "$seeds/envelope_decode" "$seeds/export_import" \
  "$seeds/csv_frame" "$seeds/model_load"
unhex() { grep -v '^#' "$1" | tr -d ' \n' | xxd -r -p; }

# Wire decoder: every test vector as raw bytes, after a piece-size byte (the target's first
# byte chooses the chunk size): 0x40 = 64-byte pieces.
wire=$root/firmware/wire/fuzz/seeds/decoder
rm -rf "$wire" && mkdir -p "$wire"
for f in "$root"/firmware/wire/vectors/*.hex; do
  { printf '\100'; unhex "$f"; } > "$wire/$(basename "$f" .hex)"
done

# Config parser: the shipped configs.
cp "$root/config/default.toml" "$seeds/config_parse/default.toml"
cp "$root/config/pi.toml" "$seeds/config_parse/pi.toml"

# Export importer: a small export (4 records), the same cut mid-record and at a record
# boundary; envelope decoder: the record-layout fixture and the export's records.
"$vigil" load --data "$tmp/d" --events 4 > /dev/null
"$vigil" export --data "$tmp/d" --format msgpack --out "$tmp/x.vexp" > /dev/null
cp "$tmp/x.vexp" "$seeds/export_import/four_records.vexp"
head -c 700 "$tmp/x.vexp" > "$seeds/export_import/cut_mid_record.vexp"
python3 - "$tmp/x.vexp" "$seeds" <<'PY'
import msgpack, sys
data = open(sys.argv[1], 'rb').read()
u = msgpack.Unpacker(raw=False)
u.feed(data)
header = next(u)
pos = u.tell()
records = []
for o in u:
    records.append(o)
    if len(records) == 2:
        open(sys.argv[2] + '/export_import/cut_at_record_2.vexp', 'wb').write(data[:u.tell()])
for r in records:
    open(sys.argv[2] + '/envelope_decode/export_seq_%d' % r['seq'], 'wb').write(r['bytes'])
PY
unhex "$root/events/fixtures/record.v1.hex" > "$seeds/envelope_decode/record.v1"

# CSV frame reader: one synthetic frame of each class.
"$vigil" dataset synth --out "$tmp/ds" --n 3 > /dev/null
for f in "$tmp"/ds/*.csv; do cp "$f" "$seeds/csv_frame/"; done

# Model loader: the shipped int8 model.
cp "$root/firmware/int8/models/default.vgi8" "$seeds/model_load/default.vgi8"
du -sh "$seeds" "$wire"
