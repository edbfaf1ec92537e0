# shellcheck shell=bash
# Sourced by the launch recipes (recipe-env.sh, room-env.sh): takes the
# plugin from a build tree when there is one, and runs gst-launch-1.0.
#   BUILD_DIR        a gst-sframe build tree to take the plugin from; without
#                    it ./build beside pipelines/ is used when it holds the
#                    plugin, else the installed plugin.
#   GST_LAUNCH_OPTS  extra gst-launch-1.0 options (e.g. -v); -e is always set.
GST_LAUNCH_OPTS=${GST_LAUNCH_OPTS:-}

recipe_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${BUILD_DIR:-}" ]; then
  recipe_plugins="$BUILD_DIR/plugins"
elif [ -e "$recipe_root/build/plugins/libgstsframe.so" ]; then
  recipe_plugins="$recipe_root/build/plugins"
else
  recipe_plugins=""
fi
if [ -n "$recipe_plugins" ]; then
  export GST_PLUGIN_PATH_1_0="$recipe_plugins${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
fi
# gst-sframe-keytool from the same build tree, else from PATH.
# shellcheck disable=SC2034  # used by the room recipes
if [ -n "$recipe_plugins" ] && [ -x "$recipe_plugins/../tools/gst-sframe-keytool" ]; then
  recipe_keytool="$recipe_plugins/../tools/gst-sframe-keytool"
else
  recipe_keytool=gst-sframe-keytool
fi

# SRC, SINK and SFRAME are element descriptions split into words on purpose
# (unquoted in the recipes); no globbing, so a '*' or '?' in them stays.
set -f

# Runs gst-launch-1.0 with EOS on Ctrl-C, so receivers drain cleanly.
recipe_launch () {
  # shellcheck disable=SC2086  # GST_LAUNCH_OPTS is a list of options
  exec gst-launch-1.0 -e $GST_LAUNCH_OPTS "$@"
}
