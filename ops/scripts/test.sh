#!/usr/bin/env bash
# The test command: what CI runs (.ci/run) and what a newcomer runs. Basics first:
# formatting, lints, then every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/scripts/setup.sh
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
# The one direction of the crate arrows (docs/architecture.md): no runtime crate imports ops/.
python3 ops/scripts/check_layers.py
cargo clippy --workspace --all-targets --locked -- -D warnings
# The Pi's GPIO backend (rppal) builds anywhere: keep it compiling.
cargo check -p vigil --features rpi --locked
cargo test --workspace --locked
