#!/usr/bin/env bash
# Quick start: builds what the demo needs (the plugin and the demo program)
# and runs an encrypted Opus + VP8 round trip.
# Extra arguments go to the demo (--suite NICK, --mode codec|frame, --seconds N).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  echo "Configuring a build in $build (meson setup)..."
  meson setup "$build" "$root" >"$build.setup.log" 2>&1 || { cat "$build.setup.log"; exit 1; }
  rm -f "$build.setup.log"
fi
echo "Building the plugin and the demo (the first time takes a few minutes)..."
# One progress line ([done/total]); compiler errors in full.
show_progress () {
  local line
  while IFS= read -r line; do
    case $line in
      \[*) printf '\r  %s' "${line%%]*}]" ;;
      ninja:*no\ work* | ninja:\ Entering*) ;;
      *) printf '\n%s' "$line" ;;
    esac
  done
  echo
}
ninja -C "$build" plugins/libgstsframe.so pipelines/sframe-demo 2>&1 | show_progress ||
  { echo "build failed" >&2; exit 1; }
export GST_PLUGIN_PATH_1_0="$build/plugins${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
export GST_REGISTRY_1_0="$build/demo-registry.bin"
exec "$build/pipelines/sframe-demo" "$@"
