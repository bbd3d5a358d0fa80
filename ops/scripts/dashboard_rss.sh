#!/usr/bin/env bash
# Supervisor memory with the dashboard open and live: runs the simulated station at 3600x
# (one station hour per real second) with headless Chromium showing the dashboard, and
# prints the supervisor's resident memory (VmRSS) once per simulated hour.
#   ops/scripts/dashboard_rss.sh [REAL_SECONDS] [VIGIL_BINARY]
# NO_BROWSER=1 runs the same station without the page open (the baseline).
# The target (docs/performance.md) is <= 40 MB and flat for an hour of real time
# (`ops/scripts/dashboard_rss.sh 3600`); the default is a 30 s short run.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
vigil=${2:-target/release/vigil}
[ -x "$vigil" ] || cargo build --release -p vigil
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s/127.0.0.1:8640/127.0.0.1:$port/" config/default.toml > "$tmp/station.toml"
"$vigil" start --config "$tmp/station.toml" --data "$tmp/data" \
  --clock "sim:2026-06-01T00:00:00Z@3600x" --for "$((secs + 5))s" >/dev/null 2>"$tmp/vigil.log" &
vpid=$!
cleanup() { kill "$bpid" 2>/dev/null || true; wait "$vpid" 2>/dev/null || true; rm -rf "$tmp"; }
bpid=""
trap cleanup EXIT
until curl -sf "http://127.0.0.1:$port/v1/status" >/dev/null; do sleep 0.2; done
[ -n "${NO_BROWSER:-}" ] || chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$tmp/profile" \
  --remote-debugging-port=0 "http://127.0.0.1:$port/" >/dev/null 2>&1 &
[ -n "${NO_BROWSER:-}" ] || bpid=$!
echo "sim_hour rss_mb"
for h in $(seq 1 "$secs"); do
  sleep 1
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$vpid/status" 2>/dev/null || echo 0)
  echo "$h $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
done
