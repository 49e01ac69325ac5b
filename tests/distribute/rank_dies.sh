#!/usr/bin/env bash
# A rank that dies mid-fit ends the whole job: mpirun exits non-zero within seconds naming the rank,
# and the last checkpoint (written atomically by rank 0) loads.
#   rank_dies.sh <keel_mpi_tests> <mpirun>
set -u
tests=$1 mpirun=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export KEEL_MPI_TEST_DIR=$dir OMPI_MCA_btl_vader_single_copy_mechanism=none
fail() { echo "rank_dies: $*" >&2; exit 1; }

out=$("$mpirun" --allow-run-as-root --oversubscribe -np 2 "$tests" "[.rank-dies]" 2>&1)
rc=$?
ended=$(date +%s.%N)
echo "$out" | tail -n 12
[ "$rc" -ne 0 ] || fail "mpirun exited 0 although rank 1 died"
[ -s "$dir/died_at" ] || fail "rank 1 never reached the point where it dies"
seconds=$(python3 -c "print(f'{$ended - $(cat "$dir/died_at"):.2f}')")
echo "rank_dies: the job ended ${seconds}s after rank 1 died (exit code $rc)"
python3 -c "import sys; sys.exit(0 if $seconds < 10 else 1)" || fail "the job took ${seconds}s to end"
# Open MPI names the process as [[job,1],rank] ("Process name: [[41234,1],1]") or "process rank 1".
grep -Eq 'process rank 1 |\[\[[0-9]+,[0-9]+\],1\]' <<<"$out" || fail "mpirun's message does not name rank 1"
[ -s "$dir/checkpoint.keel" ] || fail "no checkpoint was written"
"$mpirun" --allow-run-as-root --oversubscribe -np 1 "$tests" "[.checkpoint-loads]" || fail "the checkpoint does not load"
echo "rank_dies: ok"
