#!/usr/bin/env bash
# The MPI build's test: 2 ranks x 1 worker against the single-process
# command on the same 40 patterns, every dataset and attribute bit for bit
# (h5_same); a rank killed after 2 of its blocks: named with the patterns
# it held, the partial file kept, a re-run finishes it to the same bytes;
# bad input (more ranks than patterns, an unwritable output): one line,
# exit 2, no file.
# usage: mpi_simulate.sh FGCOSIM FGCOSIM_MPI H5_SAME
set -u
fg=$1 fgmpi=$2 same=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 FGCOSIM_PROGRESS=0
mpi() { mpirun --oversubscribe -q -np "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
args=(simulate --jobs 1 --patterns 40 --seed 3)

"$fg" "${args[@]}" -o "$tmp/ref.h5" 2>"$tmp/ref.err" || { cat "$tmp/ref.err"; fail "fgcosim simulate"; }
mpi 2 "$fgmpi" "${args[@]}" -o "$tmp/mpi.h5" 2>"$tmp/mpi.err" || { cat "$tmp/mpi.err"; fail "fgcosim-mpi simulate"; }
"$same" "$tmp/ref.h5" "$tmp/mpi.h5" || fail "2 ranks differ from one process"
echo "ok: 2 ranks = 1 process, bit for bit"

# rank 1 dies after sending blocks 1 and 3 (patterns 4-7, 12-15): it held
# 20-23, 28-31, 36-39 (blocks of 4, dealt round-robin to 2 ranks)
FGCOSIM_MPI_FAULT=die:1:2 mpi 2 "$fgmpi" "${args[@]}" -o "$tmp/cut.h5" 2>"$tmp/cut.err"
rc=$?
[ "$rc" -ne 0 ] || fail "a dead rank: exit 0"
grep -q "rank 1 held patterns 20-23,28-31,36-39 (12 patterns)" "$tmp/cut.err" ||
  { cat "$tmp/cut.err"; fail "the dead rank's patterns not named"; }
[ -f "$tmp/cut.h5.partial" ] || { cat "$tmp/cut.err"; fail "no partial file"; }
[ ! -e "$tmp/cut.h5" ] || fail "an output file after a dead rank"
echo "ok: dead rank named (exit $rc), partial file kept:"
grep "^fgcosim" "$tmp/cut.err"
mpi 2 "$fgmpi" "${args[@]}" -o "$tmp/cut.h5" 2>"$tmp/resume.err" || { cat "$tmp/resume.err"; fail "re-run"; }
grep -q "resuming after [1-9][0-9]* patterns" "$tmp/resume.err" ||
  { cat "$tmp/cut.err" "$tmp/resume.err"; fail "the re-run did not resume"; }
"$same" "$tmp/ref.h5" "$tmp/cut.h5" || fail "resumed file differs from one process"
[ ! -e "$tmp/cut.h5.partial" ] || fail "partial file left after the re-run"
echo "ok: re-run resumed and finished to the same bytes"

# bad input: one line from the command, exit 2, no file
bad() { # name, ranks, output, args...
  local name=$1 np=$2 out=$3; shift 3
  mpi "$np" "$fgmpi" simulate --jobs 1 "$@" -o "$out" 2>"$tmp/bad.err"
  local rc=$?
  local lines; lines=$(grep -c "^fgcosim" "$tmp/bad.err")
  [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] ||
    { cat "$tmp/bad.err"; fail "$name: exit $rc, $lines lines (want 2, 1)"; }
  [ ! -e "$out" ] && [ ! -e "$out.partial" ] || fail "$name: a file was left"
  echo "ok: $name -> exit 2: $(grep "^fgcosim" "$tmp/bad.err")"
}
bad "more ranks than patterns" 3 "$tmp/few.h5" --patterns 2
bad "unwritable output" 2 "$tmp/no/such/dir.h5" --patterns 4
# a bad option: the usage once (not once a rank), exit 2
mpi 2 "$fgmpi" simulate --no-such-option -o "$tmp/opt.h5" 2>"$tmp/bad.err"
rc=$?
n=$(grep -c "unrecognized option" "$tmp/bad.err")
[ "$rc" -eq 2 ] && [ "$n" -eq 1 ] || { cat "$tmp/bad.err"; fail "bad option: exit $rc, said $n times"; }
echo "ok: bad option -> exit 2, said once"
exit 0
