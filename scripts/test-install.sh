#!/usr/bin/env bash
# Installs a build into a temporary DESTDIR (meson install --destdir) and
# builds examples/vmm.c against the installed fgcosim.pc, as a user would:
#   cc vmm.c $(pkg-config --cflags --libs fgcosim)
# Checks: fgcosim.pc carries the project version and a static link list
# without libgslcblas, the library exports only the public prefixes, the
# installed headers compile, the program runs on the installed
# libfgcosim.so (not the build tree's) and prints the ideal product of its
# tile.
# Usage: scripts/test-install.sh BUILD_DIR   (meson test runs it: `install`)
set -eu
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:?usage: test-install.sh BUILD_DIR}" && pwd)"
dest="$(mktemp -d "${TMPDIR:-/tmp}/fgcosim-install-XXXXXX")"
trap 'rm -rf "$dest"' EXIT
fail() { echo "test-install: $*" >&2; exit 1; }

meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null
pc="$(find "$dest" -name fgcosim.pc -print -quit)"
[ -n "$pc" ] || fail "no fgcosim.pc under $dest"
want="$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" "$src/meson.build" | head -1)"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest"
got="$(pkg-config --modversion fgcosim)"
[ "$got" = "$want" ] || fail "fgcosim.pc version '$got', meson.build '$want'"

# Static linking's list: OpenBLAS, never libgslcblas (its cblas_* would
# clash with OpenBLAS's).
static_libs="$(pkg-config --static --libs fgcosim)" || fail "pkg-config --static: $static_libs"
case " $static_libs " in
  *" -lgslcblas "*) fail "pkg-config --static --libs fgcosim has -lgslcblas: $static_libs" ;;
  *" -lopenblas "*) ;;
  *) fail "pkg-config --static --libs fgcosim lacks -lopenblas: $static_libs" ;;
esac
so="$(find "$dest" -name 'libfgcosim.so.*.*' -print -quit)"
[ -n "$so" ] || fail "no libfgcosim.so under $dest"
# What the library loads: OpenBLAS, and no libgslcblas (GSL's objects are
# in it where libgsl.a is installed; else libgsl, whose cblas calls still
# resolve to the OpenBLAS loaded first).
needed="$(ldd "$so")"
echo "$needed" | grep -q 'libopenblas' || fail "$so does not load OpenBLAS: $needed"
if echo "$needed" | grep -q 'libgslcblas'; then
  [ "$(cc -print-file-name=libgsl.a)" = libgsl.a ] || fail "$so loads libgslcblas: $needed"
fi
# Exported: the public headers' prefixes only (api/fgcosim.map).
extra="$(nm -D --defined-only "$so" | awk '{print $3}' |
  grep -v -E '^(fg_|fgc_|nl_|cosim_|fit_|nn_)' | head -5)"
[ -z "$extra" ] || fail "$so exports symbols outside the public prefixes: $extra"
nm -D --defined-only "$so" | grep -q ' T fgc_backend_open$' || fail "$so lacks fgc_backend_open"

# A sanitized build's library needs the same runtime in the program.
san="$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="b_sanitize"][0])')"
flags=""
[ "$san" = none ] || flags="-fsanitize=$san"
libdir="$dest$(pkg-config --variable=libdir fgcosim | sed "s|^$dest||")"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror $flags "$src/examples/vmm.c" -o "$dest/vmm" \
  $(pkg-config --cflags --libs fgcosim) || fail "examples/vmm.c does not build against $pc"
LD_LIBRARY_PATH="$libdir" ldd "$dest/vmm" | grep -q "$libdir/libfgcosim.so" ||
  fail "vmm does not load $libdir/libfgcosim.so"
out="$(LD_LIBRARY_PATH="$libdir" FGCOSIM_PROGRESS=0 "$dest/vmm" ideal)"
# ideal: y_j = sum_i (i+1)/16 (i+j)/30 = (1360 + 136 j) / 480
exp="$(awk 'BEGIN { printf "y:"; for (j = 0; j < 16; j++) printf " %.6g", (1360 + 136 * j) / 480; printf "\n" }')"
[ "$(echo "$out" | sed -n 2p)" = "$exp" ] || fail "vmm printed '$out', expected '$exp'"
[ "$(echo "$out" | sed -n 1p)" = "fgcosim $want, backend ideal" ] || fail "vmm printed '$out'"
set +e
LD_LIBRARY_PATH="$libdir" "$dest/vmm" nosuch:1 2>"$dest/err" >/dev/null
rc=$?
set -e
[ $rc -eq 2 ] && grep -q "unknown name 'nosuch'" "$dest/err" || fail "bad spec: exit $rc, $(cat "$dest/err")"
echo "test-install: fgcosim $got installed, examples/vmm.c built with pkg-config and ran"
