#!/bin/sh
# Builds tests/cmake-consumer against this checkout twice, in a scratch
# directory, and runs it each time:
#   1. add_subdirectory() of the source tree (CMakeLists.txt driving Meson);
#   2. `cmake --install` of that into a prefix, then find_package(GstSFrame).
# The nested Meson build has tests and benchmarks disabled, so it never runs
# this script again.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sframe-cmake-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

gen=
if command -v ninja >/dev/null 2>&1; then
  gen="-G Ninja"
fi
# The library and the plugin only need gst_init's registry, kept private.
export GST_REGISTRY_1_0="$work/registry.bin"

echo "== add_subdirectory($root)"
# shellcheck disable=SC2086
cmake -S "$here" -B "$work/sub" $gen -DCMAKE_BUILD_TYPE=Debug \
  -DGST_SFRAME_SOURCE_DIR="$root" -DCMAKE_INSTALL_PREFIX="$work/prefix" \
  -DGST_SFRAME_TESTS=disabled -DGST_SFRAME_BENCHMARKS=disabled
cmake --build "$work/sub"
"$work/sub/sframe-consumer"

echo "== find_package(GstSFrame) from $work/prefix"
cmake --install "$work/sub"
# shellcheck disable=SC2086
cmake -S "$here" -B "$work/installed" $gen -DGST_SFRAME_USE_INSTALLED=ON \
  -DCMAKE_PREFIX_PATH="$work/prefix"
cmake --build "$work/installed"
"$work/installed/sframe-consumer"
