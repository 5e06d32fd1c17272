#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets for a bounded time (see fuzz/fuzz.mk, which calls
# it): `run.sh 'TARGET OPTIONS...' ...` with FUZZ_DIR (where the targets
# are built) and FUZZ_SECONDS in the environment. Each target's output
# goes to FUZZ_DIR/TARGET.log; one summary line per target is printed,
# and on a crash the end of the log, with the reproducer's path and hex.
set -u
: "${FUZZ_DIR:?}" "${FUZZ_SECONDS:=60}"
src=$(dirname "$0")/corpus
status=0
for spec in "$@"; do
	set -- $spec
	t=$1
	shift
	mkdir -p "$FUZZ_DIR/corpus/$t"
	rm -f "$FUZZ_DIR/crash-$t-"* "$FUZZ_DIR/timeout-$t-"* "$FUZZ_DIR/oom-$t-"* "$FUZZ_DIR/leak-$t-"*
	log=$FUZZ_DIR/$t.log
	printf 'fuzz: %-10s %ss ... ' "$t" "$FUZZ_SECONDS"
	if "$FUZZ_DIR/$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_DIR/crash-$t-" "$@" "$FUZZ_DIR/corpus/$t" "$src/$t" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
		corp=$(ls "$FUZZ_DIR/corpus/$t" | wc -l)
		echo "ok: $runs runs, $cov, $corp inputs in $FUZZ_DIR/corpus/$t"
	else
		status=1
		echo "FAILED (log: $log)"
		grep -E '^(==|SUMMARY|    #|.*runtime error|.*deadly signal|ALARM|.*Test unit written)' "$log" | head -n 40
		for a in "$FUZZ_DIR/crash-$t-"*; do
			[ -f "$a" ] && printf 'input %s (%s bytes): %s\n' "$a" "$(wc -c <"$a")" \
				"$(od -An -tx1 -v "$a" | tr -s ' \n' ' ' | cut -c1-600)"
		done
	fi
done
exit $status
