#!/usr/bin/env bash
# Builds gst-sframe and runs every test (unit, gst-check, integration).
# Usage: tests/run.sh [extra meson test arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root"
ninja -C "$build"
exec meson test -C "$build" --print-errorlogs "$@"
