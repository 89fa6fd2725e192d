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
bash scripts/fuzz.sh 20
