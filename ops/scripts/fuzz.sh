#!/usr/bin/env bash
# Bounded fuzzing of every decoder (for CI, and the command behind docs/testing.md's figures):
# installs cargo-fuzz if missing, then runs each cargo-fuzz target for a fixed time on the
# installed stable toolchain (RUSTC_BOOTSTRAP=1 lets it take cargo-fuzz's -Z flags), niced so
# other work on the machine is not starved. Exits 1 when a target crashed (its input is left in
# <crate>/artifacts/<target>/), 2 on bad arguments.
#
#   ops/scripts/fuzz.sh                 # every target, 10 s each
#   ops/scripts/fuzz.sh --seconds 600   # longer
#   ops/scripts/fuzz.sh --target model_load --seconds 60
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

# target → crate directory. The wire decoder has its own crate; the rest share ops/fuzz.
targets=(
  "decoder:firmware/wire/fuzz"
  "config_parse:ops/fuzz"
  "envelope_decode:ops/fuzz"
  "export_import:ops/fuzz"
  "csv_frame:ops/fuzz"
  "model_load:ops/fuzz"
)

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  echo "targets: ${targets[*]%%:*}"
}

seconds=10
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:-}; shift 2 || { echo "fuzz.sh: --seconds needs a value" >&2; exit 2; } ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    --target) only+=("${2:-}"); shift 2 || { echo "fuzz.sh: --target needs a name" >&2; exit 2; } ;;
    --target=*) only+=("${1#--target=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: --seconds must be a whole number of seconds ≥ 1, got '$seconds'" >&2
  exit 2
fi
for t in "${only[@]}"; do
  if ! printf '%s\n' "${targets[@]%%:*}" | grep -qx -- "$t"; then
    echo "fuzz.sh: unknown target '$t' (targets: ${targets[*]%%:*})" >&2
    exit 2
  fi
done

if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

# Build each crate once (one AddressSanitizer build serves all of its targets).
built=()
for entry in "${targets[@]}"; do
  name=${entry%%:*}
  dir=${entry#*:}
  if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx -- "$name"; then
    continue
  fi
  if [ ${#built[@]} -gt 0 ] && printf '%s\n' "${built[@]}" | grep -qx -- "$dir"; then
    continue
  fi
  if ! (cd "$root/$dir" && nice -n 19 cargo fuzz build); then
    echo "fuzz.sh: the fuzz crate $dir does not build" >&2
    exit 1
  fi
  built+=("$dir")
done

failed=()
printf '%-16s %8s %12s %s\n' target seconds executions result
for entry in "${targets[@]}"; do
  name=${entry%%:*}
  dir=${entry#*:}
  if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx -- "$name"; then
    continue
  fi
  log=$(mktemp)
  result=ok
  # corpus/<target> collects what the fuzzer finds (ignored by git); seeds/<target> is the
  # committed seed corpus, read only.
  mkdir -p "$root/$dir/corpus/$name"
  if ! (cd "$root/$dir" && nice -n 19 cargo fuzz run "$name" "corpus/$name" "seeds/$name" -- \
      -max_total_time="$seconds" -print_final_stats=1) > "$log" 2>&1; then
    result="CRASH (see $dir/artifacts/$name/)"
    failed+=("$name")
    tail -n 40 "$log" >&2
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
  printf '%-16s %8s %12s %s\n' "$name" "$seconds" "${execs:-?}" "$result"
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashed: ${failed[*]}" >&2
  exit 1
fi
