#!/usr/bin/env bash
# Installs what is missing, builds (release) and runs the main job on the
# built-in defaults: `fgcosim demo` (calibrate on SPICE, fit, train
# mlp-lowres digitally and hardware-aware, evaluate on the fitted model and
# on SPICE) into demo-out/ (report.md, PNG plots, summary.json).
set -eu
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-mnist.sh
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build >/dev/null
./build/apps/fgcosim demo -o demo-out "$@"
