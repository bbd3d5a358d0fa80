#!/usr/bin/env bash
# Reproduces the shipped thermal model (default.f32.json, default.vgi8) from nothing but the
# repository, and prints the figures quoted in README.md. Run from anywhere:
#
#     bash firmware/int8/models/reproduce.sh
#
# Same seeds, same data, same CPU type → the same bytes (burn's ndarray backend runs
# single-threaded; every random draw comes from a seeded generator).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"

cargo build --release -p vigil -p vigil-train
bin="${CARGO_TARGET_DIR:-$root/target}/release"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Training set (seed 1), held-out test set (seed 2), calibration set (seed 3).
"$bin/vigil" dataset synth --out "$work/train" --n 24000 --seed 1
"$bin/vigil" dataset synth --out "$work/test" --n 2000 --seed 2
"$bin/vigil" dataset synth --out "$work/calib" --n 600 --seed 3

# f32 training (burn, Adam, cross-entropy; 80/20 train/validation split of the training set).
"$bin/vigil-train" train --data "$work/train" --out "$work/trained.f32.json" --seed 1 --epochs 25 \
    --test "$work/test"

# int8: quantize; fine-tune quantization-aware only if the int8 drop exceeds 0.5 pp.
"$bin/vigil-train" qat --model "$work/trained.f32.json" --data "$work/train" --calib "$work/calib" \
    --method ema --granularity channel --seed 1 --epochs 8 --lr 0.003 \
    --out "$here/default.f32.json" --out-int8 "$here/default.vgi8" --test "$work/test"

# Figures on the held-out set; the quantizer must give back the very same int8 bytes.
"$bin/vigil" quantize --model "$here/default.f32.json" --calib "$work/calib" \
    --method ema --granularity channel --out "$work/check.vgi8" --test "$work/test"
cmp "$work/check.vgi8" "$here/default.vgi8"
"$bin/vigil-train" bench --model "$here/default.f32.json" --int8 "$here/default.vgi8"
