#!/usr/bin/env bash
# Installs what is missing, builds (release) and runs the main job on the
# built-in defaults.
set -eu
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-mnist.sh
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build >/dev/null
mkdir -p demo-out
./build/apps/fgcosim netlist -o demo-out/regular.cir
./build/apps/fgcosim simulate --patterns 200 --seed 1 -o demo-out/calib.h5 --json
