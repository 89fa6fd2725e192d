#!/usr/bin/env bash
# Installs what is missing, builds with -Werror under AddressSanitizer and
# UndefinedBehaviorSanitizer, runs the whole test suite, then every
# libFuzzer target for 20 s (scripts/fuzz.sh; clang-14 build in build-fuzz).
set -eu
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-mnist.sh
if [ ! -f build-test/build.ninja ]; then
  meson setup build-test -Dwerror=true -Db_sanitize=address,undefined \
    -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
ninja -C build-test
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-test --print-errorlogs -v
# The MPI build (release, its own build dir): only its 2-rank test
# (fgcosim-mpi against fgcosim, bit for bit; ~30 s on 2 busy cores).
if [ ! -f build-mpi/build.ninja ]; then
  meson setup build-mpi -Dmpi=enabled -Dtests=true --buildtype=release >/dev/null
fi
ninja -C build-mpi apps/fgcosim apps/fgcosim-mpi tests/h5_same
meson test -C build-mpi --no-rebuild --print-errorlogs -v --suite mpi
# libFuzzer targets, 20 s each (clang-14 build in build-fuzz)
bash scripts/fuzz.sh 20
