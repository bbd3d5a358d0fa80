#!/usr/bin/env bash
# Runs the fully simulated station (config/default.toml) on a simulated clock, an hour of
# station time per second, for 30 s (a day and a quarter); pass other `vigil start` arguments
# to override. Prints the dashboard's address when it starts and, when the run ends (or you
# press Ctrl-C), a summary counted from the log and the commands to try next.
# Data goes to ./vigil-data.
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/scripts/setup.sh
if [ $# -eq 0 ]; then
  set -- --clock "sim:$(date -u +%Y-%m-%dT00:00:00Z)@3600x" --for 30s
fi
cargo build --release -p vigil
vigil=target/release/vigil
config=config/default.toml
listen=$(sed -n 's/^listen *= *"\([^"]*\)".*/\1/p' "$config" | head -n 1)
data=$(sed -n 's/^data_dir *= *"\([^"]*\)".*/\1/p' "$config" | head -n 1)
prev=""
for a in "$@"; do
  [ "$prev" = "--data" ] && data=$a
  case $a in --data=*) data=${a#--data=} ;; esac
  prev=$a
done
echo "sim: dashboard at http://${listen}/ (open it in a browser while the station runs)" >&2
# Ctrl-C stops the station cleanly (vigil handles it); the summary is printed after it.
trap 'true' INT
status=0
"$vigil" start --config "$config" "$@" || status=$?
trap - INT
echo >&2
"$vigil" sim summary --data "$data" || true
exit "$status"
