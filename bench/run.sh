#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmark harness behind `make bench` (bench/bench.mk passes the paths):
#
#   run.sh OUTDIR FACET TIMEIT BOOTSECT NULL_ELF WORKLOAD_ELF...
#
# Runs each workload ELF under Facet (`facet run --stats`), QEMU (TCG,
# Multiboot `-kernel`) and Bochs (bench/bootsect.S + the ELF on a disk
# image), all in this one invocation, and times each run with TIMEIT (a
# monotonic clock). NULL_ELF, a guest that only starts and exits, is run
# first on each emulator (the fastest of three runs counts): its time is
# that emulator's start-up (BIOS, loading), subtracted from every
# workload's wall time, so that ratios compare guest work. Facet's
# instruction count (from --stats) divided by each emulator's net time
# gives comparable MIPS: the guest runs the same instructions everywhere,
# bar a few hundred in the Multiboot entry.
#
# Writes OUTDIR/WORKLOAD.json per workload and OUTDIR/summary.json, and
# keeps each run's console output and stderr in OUTDIR/work/
# (WORKLOAD.EMU.out, .err); the table's last column compares the consoles
# with Facet's. POSIX sh and awk only: CI machines may lack Python.
#
# Environment: BENCH_REFS (default "qemu bochs"), BENCH_MEM (guest MiB,
# 256), BENCH_TIMEOUT (seconds per run, 1800), BENCH_RUNS (runs per
# emulator and workload; the fastest counts; default 1).
set -u
if [ $# -lt 6 ]; then
	echo "usage: run.sh OUTDIR FACET TIMEIT BOOTSECT NULL_ELF WORKLOAD_ELF..." >&2
	exit 2
fi
out=$1 facet=$2 timeit=$3 bootsect=$4 null_elf=$5
shift 5
refs=${BENCH_REFS-qemu bochs}
mem=${BENCH_MEM:-256}
tmo=${BENCH_TIMEOUT:-1800}
runs=${BENCH_RUNS:-1}
here=$(cd "$(dirname "$0")" && pwd)
work=$out/work
mkdir -p "$work"
rm -f "$out"/*.json

die() { echo "bench: $*" >&2; exit 1; }
# calc EXPR [VAR=VALUE...]: prints an awk expression's value.
calc() {
	e=$1 a=""
	shift
	for v in "$@"; do a="$a $v;"; done
	awk "BEGIN { $a printf \"%s\", ($e) }" </dev/null
}
json_field() { sed -n "s/.*\"$1\":\"*\([^,\"}]*\).*/\1/p" "$2" | tail -n 1; }

for e in $refs; do
	case $e in
	qemu) command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run scripts/deps.sh bench" ;;
	bochs) command -v bochs-bin >/dev/null && command -v script >/dev/null ||
		die "bochs-bin or script missing: run scripts/deps.sh bench" ;;
	*) die "unknown reference emulator '$e' in BENCH_REFS (qemu, bochs)" ;;
	esac
done

# run_facet ELF BASE: sets st (exit status) and wall (seconds).
run_facet() {
	"$timeit" "$2.time" "$facet" run --mem "${mem}M" --stats "$1" >"$2.out" 2>"$2.err"
	st=$?
	wall=$(cat "$2.time")
}

run_qemu() {
	"$timeit" "$2.time" timeout "$tmo" qemu-system-x86_64 -machine pc,accel=tcg -m "$mem" -nodefaults \
		-display none -device isa-debug-exit,iobase=0xf4,iosize=4 -debugcon stdio -kernel "$1" \
		>"$2.out" 2>"$2.err" </dev/null
	st=$?
	wall=$(cat "$2.time")
	# isa-debug-exit ends QEMU with (N << 1) | 1 for the guest's status N.
	[ $((st & 1)) -eq 1 ] && st=$((st >> 1)) || st="qemu:$st"
}

# bochs_disk ELF IMG: the boot sector, then the ELF; its sector count at 0x1FC; whole cylinders.
bochs_disk() {
	size=$(wc -c <"$1")
	[ "$size" -le $((0x90000)) ] || die "$1: $size bytes, too large for the boot sector (at most 576 KiB)"
	nsect=$(((size + 511) / 512))
	cylbytes=$((16 * 63 * 512))
	cyl=$(((512 + nsect * 512 + cylbytes - 1) / cylbytes))
	cp "$bootsect" "$2"
	printf "\\$(printf %03o $((nsect & 255)))\\$(printf %03o $((nsect >> 8)))" |
		dd of="$2" bs=1 seek=508 conv=notrunc status=none
	dd if="$1" of="$2" bs=512 seek=1 conv=notrunc status=none
	truncate -s $((cyl * cylbytes)) "$2"
}

run_bochs() {
	bochs_disk "$1" "$2.img"
	sed -e "s|@DISK@|$2.img|; s|@CYL@|$cyl|; s|@LOG@|$2.log|" \
		-e "s|@BIOS@|/usr/share/bochs/BIOS-bochs-latest|; s|@VGABIOS@|/usr/share/vgabios/vgabios.bin|" \
		"$here/bochsrc.in" >"$2.rc"
	printf 'c\nquit\n' >"$2.cmds" # the debugger build stops at a prompt first
	"$timeit" "$2.time" script -qfec "timeout $tmo bochs-bin -q -f $2.rc -rc $2.cmds >$2.raw 2>$2.err" \
		/dev/null >/dev/null 2>&1 </dev/null
	wall=$(cat "$2.time")
	grep -q 'shutdown requested' "$2.err" && st=0 || st="bochs:no-shutdown"
	grep -q '^Next at t=' "$2.raw" && bochs_debugger=yes
	# Console output: what follows the debugger's first disassembly line, minus its last one.
	tr -d '\r' <"$2.raw" | awk '
		on { sub(/\(0\)\.\[[0-9]+\] \[0x.*$/, ""); if (length($0)) print; next }
		/^\(0\) \[0x0000fffffff0\]/ { on = 1 }' >"$2.out"
}

# best EMU ELF BASE [N]: runs N (default BENCH_RUNS) times, keeps the fastest; sets st and wall.
best() {
	b=""
	k=0
	while [ $k -lt "${4:-$runs}" ]; do
		"run_$1" "$2" "$3"
		if [ -z "$b" ] || [ "$(calc "w < b ? 1 : 0" w="$wall" b="$b")" = 1 ]; then b=$wall; fi
		k=$((k + 1))
	done
	wall=$b
}

# The console lines that must agree: all but those reporting counts or times, which differ by emulator.
result_lines() { grep -viE 'tsc|cycles|insns|instructions|time|mips|seconds' "$1" 2>/dev/null; }
same_output() {
	if [ "$(result_lines "$1")" = "$(result_lines "$2")" ] && [ -s "$1" ]; then echo same; else echo DIFFERS; fi
}

bochs_debugger=no
qemu_version=$(qemu-system-x86_64 --version 2>/dev/null | head -n 1)
bochs_version=$(dpkg-query -W -f='${Version}' bochs 2>/dev/null || echo unknown)
echo "bench: start-up times (null guest) ..."
for e in facet $refs; do
	best "$e" "$null_elf" "$work/null.$e" $((runs > 3 ? runs : 3)) # start-up is noisy (QEMU: 0.06-0.2 s)
	eval "startup_$e=\$wall"
	[ "$st" = 0 ] || echo "bench: warning: $e did not run the null guest to its end (status $st; see $work/null.$e.*)" >&2
done
bochs_build="Debian bochs $bochs_version"
[ "$bochs_debugger" = yes ] && bochs_build="$bochs_build, a debugger build (about 3.5x slower than Bochs built without it)"

rows=""
names=""
for elf in "$@"; do
	w=$(basename "$elf" .elf)
	names="$names $w"
	echo "bench: $w ..."
	base=$work/$w
	best facet "$elf" "$base.facet"
	facet_st=$st facet_wall=$wall
	stats=$(grep '^{' "$base.facet.err" | tail -n 1)
	printf '%s\n' "$stats" >"$work/$w.stats"
	insns=$(json_field instructions "$work/$w.stats")
	mips=$(json_field mips "$work/$w.stats")
	facet_net=$(calc "n > 0.001 ? n : 0.001" n="$facet_wall - $startup_facet")
	json="{\"workload\":\"$w\",\"elf\":\"$elf\",\"facet\":{\"status\":\"$facet_st\",\"wall_s\":$facet_wall,\"net_s\":$facet_net,\"instructions\":${insns:-0},\"mips\":${mips:-0},\"stats\":${stats:-null}}"
	row="$w|${insns:-0}|$facet_net|${mips:-0}|$facet_st"
	for e in $refs; do
		best "$e" "$elf" "$base.$e"
		eval "su=\$startup_$e"
		net=$(calc "n > 0.001 ? n : 0.001" n="$wall - $su")
		ratio=$(calc "f / n" f="$facet_net" n="$net")
		emips=$(calc "i / n / 1e6" i="${insns:-0}" n="$net")
		same=$(same_output "$base.facet.out" "$base.$e.out")
		json="$json,\"$e\":{\"status\":\"$st\",\"wall_s\":$wall,\"net_s\":$net,\"equivalent_mips\":$emips,\"console\":\"$same\"},\"ratio_facet_$e\":$ratio"
		row="$row|$net|$ratio|$same|$st"
	done
	printf '%s}\n' "$json" >"$out/$w.json"
	rows="$rows$row
"
done

# The table: one row per workload; per reference emulator its net time, the ratio and the console check.
echo
echo "Times: guest work in seconds, all measured in this run: wall time minus each emulator's"
echo "start-up, timed with a null guest:$(for e in facet $refs; do eval "printf ' %s %.3f s' $e \$startup_$e"; done)."
echo "facet/X: Facet's time over X's for the same guest work; below 1.00 Facet is faster."
echo "MIPS: Facet's guest instructions per second of its run loop, from facet run --stats."
case " $refs " in *" qemu "*) echo "QEMU: $qemu_version, TCG." ;; esac
case " $refs " in *" bochs "*) echo "Bochs: $bochs_build." ;; esac
echo
printf '%-22s %10s %9s %8s' workload "insns(M)" "facet s" MIPS
for e in $refs; do printf ' %9s %11s' "$e s" "facet/$e"; done
printf '  %s\n' console
printf '%s' "$rows" | while IFS='|' read -r w insns fnet mips fst rest; do
	[ -n "$w" ] || continue
	printf '%-22s %10.1f %9.3f %8.1f' "$w" "$(calc "i / 1e6" i="$insns")" "$fnet" "$mips"
	checks=""
	for e in $refs; do
		net=${rest%%|*} rest=${rest#*|}
		ratio=${rest%%|*} rest=${rest#*|}
		same=${rest%%|*} rest=${rest#*|}
		est=${rest%%|*} rest=${rest#*|}
		printf ' %9.3f %10.2fx' "$net" "$ratio"
		checks="$checks $e:$same"
		[ "$est" = 0 ] || checks="$checks(status $est)"
	done
	[ "$fst" = 0 ] || checks="$checks facet:status-$fst"
	printf ' %s\n' "$checks"
done

# Geometric means of the ratios over the workloads.
summary="{\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"host\":\"$(uname -n)\",\"cpu\":\"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)\",\"guest_mem_mib\":$mem,\"qemu\":\"$qemu_version\",\"bochs\":\"$bochs_build\",\"startup_s\":{"
sep=""
for e in facet $refs; do eval "summary=\"\$summary$sep\\\"$e\\\":\$startup_$e\""; sep=","; done
summary="$summary},\"workloads\":["
sep=""
for w in $names; do summary="$summary$sep\"$w\""; sep=","; done
summary="$summary]"
for e in $refs; do
	g=$(for w in $names; do json_field "ratio_facet_$e" "$out/$w.json"; done |
		awk '{ s += log($1); n++ } END { if (n) printf "%.4f", exp(s / n); else printf "null" }')
	summary="$summary,\"geomean_ratio_facet_$e\":$g"
	echo "geometric mean facet/$e: ${g}x"
done
printf '%s}\n' "$summary" >"$out/summary.json"
echo "results: $out/*.json"
