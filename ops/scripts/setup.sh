#!/usr/bin/env bash
# Installs what building and testing vigil needs on a fresh Debian machine, and nothing when
# it is already there. Called by sim.sh and test.sh; safe to run again.
set -euo pipefail

need_apt=()
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
# visudo checks the shipped sudoers drop-in (ops/tests/systemd.rs).
command -v visudo >/dev/null 2>&1 || need_apt+=(sudo)
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
[ -e /usr/include/libudev.h ] || need_apt+=(libudev-dev)
# The dashboard's browser test (ops/tests/dashboard_browser.rs) drives headless Chromium.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The export verifier (ops/tools/verify_export.py) is plain Python with two packages.
if ! python3 -c 'import msgpack, blake3' >/dev/null 2>&1; then
  echo "setup: installing python packages msgpack blake3" >&2
  python3 -m pip install --quiet --disable-pip-version-check msgpack blake3
fi
