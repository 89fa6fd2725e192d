#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz, SECONDS each (default 60), on a
# copy of the seed corpora in tests/fuzz/corpus; fails on any crash,
# sanitizer report, leak, timeout or out-of-memory, printing the
# reproducer. Builds build-fuzz with clang-14 (-Dfuzz=enabled) first.
#   bash scripts/fuzz.sh 20                       # CI: every target 20 s
#   bash scripts/fuzz.sh 600 fuzz_ckpt            # one target, 10 minutes
#   FUZZ_KEEP=DIR bash scripts/fuzz.sh 60         # keep corpora and logs
# fuzz_dataset_raw (damaged HDF5 bytes; crashes inside libhdf5, see README)
# runs only when named.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_layout fuzz_csv fuzz_perturb fuzz_netlist fuzz_model fuzz_ckpt fuzz_dataset}
case $secs in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2;; esac

bash scripts/install-deps.sh
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang-14 meson setup build-fuzz -Dfuzz=enabled -Dtests=false \
    --buildtype=debugoptimized >/dev/null
fi
exes=""
for t in $targets; do
  [ -f "tests/fuzz/$t.c" ] || { echo "fuzz.sh: no target $t (tests/fuzz/$t.c)" >&2; exit 2; }
  exes="$exes tests/fuzz/$t"
done
# shellcheck disable=SC2086
ninja -C build-fuzz $exes

work=${FUZZ_KEEP:-$(mktemp -d /tmp/fgcosim-fuzz.XXXXXX)}
mkdir -p "$work"
# the targets write each input to a temporary file: memory when possible
scratch=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/fgfuzz.XXXXXX")
trap 'rm -rf "$scratch"; [ -n "${FUZZ_KEEP:-}" ] || rm -rf "$work"' EXIT
export TMPDIR=$scratch
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Where reproducer $2 of target $1 fails, rerun alone: "libhdf5" when the
# first frame of its report outside the sanitizer and libFuzzer runtime
# (allocator, interceptors, libc's string functions) is in libhdf5, the
# decoder of damaged files; "none" when it no longer fails; else "ours".
triage() {
  local out
  out=$("build-fuzz/tests/fuzz/$1" "$2" 2>&1) && { echo none; return; }
  if printf '%s\n' "$out" | grep -E '^ +#[0-9]+ ' |
     grep -v -E ' in (malloc|calloc|realloc|free|operator new|__mem|__str|__interceptor_|__asan|__sanitizer|__lsan|__ubsan|fuzzer::)' |
     head -1 | grep -q 'libhdf5'; then
    echo libhdf5
  else
    echo ours
  fi
}

failed=0
for t in $targets; do
  d=$work/$t
  mkdir -p "$d/corpus" "$d/crashes"
  cp tests/fuzz/corpus/"$t"/* "$d/corpus/" 2>/dev/null || true
  # raw HDF5 bytes: keep going past crashes (libhdf5's), triage them after
  extra="" dict=""
  [ "$t" = fuzz_dataset_raw ] && extra="-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1"
  [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  rc=0
  # shellcheck disable=SC2086
  "build-fuzz/tests/fuzz/$t" -max_total_time="$secs" -timeout=25 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$d/crashes/" \
    $dict $extra "$d/corpus" >"$d/log" 2>&1 || rc=$?
  if [ -n "$extra" ]; then
    mkdir -p "$d/libhdf5" "$d/none"
    for a in "$d"/crashes/*; do
      [ -f "$a" ] || continue
      where=$(triage "$t" "$a")
      [ "$where" = ours ] || mv "$a" "$d/$where/"
    done
    hdf5=$(find "$d/libhdf5" -type f | wc -l)
    gone=$(find "$d/none" -type f | wc -l)
    [ "$(find "$d/crashes" -type f | wc -l)" -eq 0 ] && rc=0
    if [ "$hdf5" -gt 0 ] || [ "$gone" -gt 0 ]; then
      echo "fuzz.sh: $t: not counted: $hdf5 inside libhdf5 ($d/libhdf5), $gone not reproduced alone ($d/none)" >&2
      FUZZ_KEEP=${FUZZ_KEEP:-$work}
    fi
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log")
  # -fork prints no final stats: its last status line has them
  [ -n "$runs" ] || runs=$(grep -E '^#[0-9]+' "$d/log" | tail -1 | sed -E 's/^#([0-9]+).*/\1/')
  [ -n "$rate" ] || rate=$(( ${runs:-0} / (secs > 0 ? secs : 1) ))
  cov=$(grep -o 'cov: [0-9]*' "$d/log" | tail -1 | cut -d' ' -f2)
  n=$(find "$d/crashes" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$n" -ne 0 ]; then
    failed=1
    echo "fuzz.sh: $t FAILED (exit $rc) after ${runs:-?} runs:" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$d/log" | head -5 >&2 || true
    for a in "$d"/crashes/*; do
      [ -f "$a" ] || continue
      keep=tests/fuzz/crashes/$t-$(basename "$a")
      mkdir -p tests/fuzz/crashes && cp "$a" "$keep"
      echo "  reproducer: $keep   (build-fuzz/tests/fuzz/$t $keep)" >&2
    done
    echo "  log: $d/log" >&2
    FUZZ_KEEP=${FUZZ_KEEP:-$work} # keep the log
  else
    printf 'fuzz.sh: %-14s ok  %4ss  %9s runs  %6s exec/s  cov %s  corpus %s\n' \
      "$t" "$secs" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$(find "$d/corpus" -type f | wc -l)"
  fi
done
exit $failed
