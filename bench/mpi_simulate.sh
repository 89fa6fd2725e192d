#!/usr/bin/env bash
# 2 MPI ranks x 1 worker against one process with --jobs 1 on the same
# patterns, in one run: wall times, the ratio, and whether every dataset
# is equal bit for bit; then rank 0's write time for the whole file.
# usage: bench/mpi_simulate.sh [BUILD_DIR] [PATTERNS]   (build with -Dmpi=enabled)
set -eu
build=${1:-build-mpi} n=${2:-400}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 FGCOSIM_PROGRESS=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(simulate --jobs 1 --patterns "$n" --seed 11)
now() { date +%s.%N; }
t0=$(now)
"$build/apps/fgcosim" "${args[@]}" -o "$tmp/one.h5" 2>/dev/null
t1=$(now)
mpirun --oversubscribe -q -np 2 "$build/apps/fgcosim-mpi" "${args[@]}" -o "$tmp/two.h5" 2>/dev/null
t2=$(now)
same=no
"$build/tests/h5_same" "$tmp/one.h5" "$tmp/two.h5" >/dev/null 2>&1 && same=yes
# rank 0's write of the finished file (each partial save costs about as much)
"$build/bench/bench_dataset_write" "$tmp/one.h5" 20
awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v same="$same" 'BEGIN {
  one = b - a; two = c - b;
  printf "patterns %d: 1 process x 1 worker %.1f s (%.2f VMM/s), 2 ranks x 1 worker %.1f s (%.2f VMM/s)\n", n, one, n / one, two, n / two;
  printf "speedup 2 ranks / 1 process: %.2fx; datasets equal bit for bit: %s\n", one / two, same;
  printf "per-pattern cost %.1f ms (1 worker)\n", 1000 * one / n }'
