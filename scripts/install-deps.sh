#!/usr/bin/env bash
# Installs what fgcosim needs on Debian 12 (run as root). Idempotent: skips
# apt when every package is already installed.
set -eu
PKGS="build-essential pkg-config meson ninja-build ngspice libngspice0-dev
libopenblas-dev libgsl-dev check libhdf5-dev hdf5-tools libcjson-dev zlib1g-dev
dataset-fashion-mnist gnuplot-nox valgrind python3-numpy python3-torch python3-h5py
libopenmpi-dev openmpi-bin clang-14 libclang-rt-14-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# npm comes with Node.js (Debian's own npm package conflicts with NodeSource's).
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
