#!/usr/bin/env bash
# Quick start: builds gst-sframe and runs an encrypted Opus + VP8 round trip.
# Extra arguments go to the demo (--suite NICK, --mode codec|frame, --seconds N).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
ninja -C "$build" >/dev/null
export GST_PLUGIN_PATH_1_0="$build/plugins${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
export GST_REGISTRY_1_0="$build/demo-registry.bin"
exec "$build/pipelines/sframe-demo" "$@"
