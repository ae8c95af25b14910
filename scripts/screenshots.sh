#!/usr/bin/env bash
# Regenerates the report screenshots in docs/ with headless Chromium (Debian package
# `chromium`): the SmallBank report at REPEATABLE READ and the doctors-on-call report at the
# engine default.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --release --bin isolint
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

shoot() { # name fixture height [isolint report arguments...]
  local name="$1" fixture="$2" height="$3"
  shift 3
  (cd "fixtures/$fixture" && ../../target/release/isolint report . "$@" -o "$out/$name.html")
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$out/profile-$name" \
    --window-size="1280,$height" --screenshot="docs/report-$name.png" \
    "file://$out/$name.html" 2>/dev/null
  echo "docs/report-$name.png"
}

shoot smallbank smallbank 2500 --isolation repeatable-read
shoot doctors doctors_on_call 2700
