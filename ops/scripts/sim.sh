#!/usr/bin/env bash
# Runs the fully simulated station (config/default.toml) on a simulated clock, an hour of
# station time per second, for 30 s (a day and a quarter); pass other `vigil start` arguments
# to override.
# Data goes to ./vigil-data; then try `vigil audit`, `vigil replay --check`, `vigil verify`.
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/scripts/setup.sh
if [ $# -eq 0 ]; then
  set -- --clock "sim:$(date -u +%Y-%m-%dT00:00:00Z)@3600x" --for 30s
fi
cargo build --release -p vigil
exec target/release/vigil start --config config/default.toml "$@"
