# shellcheck shell=bash
# Source it (". pipelines/env.sh") to use the build tree in this shell:
# gst-launch-1.0 and gst-inspect-1.0 find the plugin, and
# gst-sframe-keytool is on PATH. BUILD_DIR: the build tree (default ./build
# beside pipelines/).
sframe_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
sframe_build=${BUILD_DIR:-$sframe_root/build}
if [ -e "$sframe_build/plugins/libgstsframe.so" ]; then
  export GST_PLUGIN_PATH_1_0="$sframe_build/plugins${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
  export PATH="$sframe_build/tools:$PATH"
  echo "gst-sframe from $sframe_build"
else
  echo "no gst-sframe build in $sframe_build: run 'meson setup build && ninja -C build' first" >&2
fi
unset sframe_root sframe_build
