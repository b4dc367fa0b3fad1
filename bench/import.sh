#!/bin/sh
# bench/import.sh [BUILD_DIR] - import throughput and memory benchmark.
#
# Builds dmarcwatch if needed (default build dir: build), generates
# Google-shaped reports of 100k and 1M records (bench/gen_report.py) in a
# temporary directory, and for each measures wall time and peak RSS of
#   xmllint --stream --noout FILE            (the floor: just reading XML)
#   dmarcwatch import -d FRESH.db FILE       (parse + store)
# with /usr/bin/time (Debian package "time"). Prints a table and
# PASS/MISS against the targets: import time <= 2.0 x xmllint, import peak
# RSS <= 32 MiB. Informational: always exits 0. Temporary files are
# removed. Set BENCH_TMPDIR to put the ~700 MB of test files elsewhere,
# BENCH_SIZES to override the record counts (e.g. "10000 100000"),
# BENCH_REPEAT for the number of runs of each tool (best of, default 3).
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
SIZES=${BENCH_SIZES:-"100000 1000000"}
REPEAT=${BENCH_REPEAT:-3}
RATIO_MAX=2.0
RSS_MAX_MIB=32

say() { printf '%s\n' "$*"; }

for tool in python3 xmllint ninja; do
	command -v "$tool" >/dev/null 2>&1 || { say "bench: $tool not found, skipping"; exit 0; }
done
[ -x /usr/bin/time ] || { say "bench: /usr/bin/time not found (apt-get install time), skipping"; exit 0; }

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" >/dev/null || { say "bench: meson setup failed"; exit 0; }
fi
ninja -C "$BUILD" >/dev/null || { say "bench: build failed"; exit 0; }
EXE=$BUILD/cli/dmarcwatch
[ -x "$EXE" ] || { say "bench: $EXE missing"; exit 0; }

TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/dw-bench.XXXXXX") || exit 0
trap 'rm -rf "$TMP"' EXIT INT TERM

# measure OUTFILE CMD... -> "seconds kib cpu_seconds exit"
measure() {
	out=$1; shift
	/usr/bin/time -f '%e %M %U %S' -o "$TMP/time" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
	rc=$?
	tail -n 1 "$TMP/time" | awk -v rc="$rc" '{ printf "%s %s %.2f %s\n", $1, $2, $3 + $4, rc }' >"$out"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }

say "dmarcwatch import benchmark ($(nproc 2>/dev/null || echo '?') CPUs, best of $REPEAT runs, $EXE)"
say "load average at start: $(loadavg)"
# *_cpu: user + system seconds of the fastest run (the import uses up to
# three threads, so on an idle machine its wall time is below its CPU
# time; on a busy one wall time follows CPU time).
printf '%-8s %9s %7s %10s %9s %9s %11s %9s %9s %8s %8s %6s %6s\n' \
	MB records senders xmllint_s import_s ratio records/s xml_MiB imp_MiB xml_cpu imp_cpu time mem
# Two sender mixes: every record from its own IP (the worst case for the
# daily rollup: one rollup row per record) and 5,000 distinct senders
# (closer to a big real report).
for n in $SIZES; do
for ips in all 5000; do
	f=$TMP/google-$n.xml
	if [ "$ips" = all ]; then
		python3 "$SRC/bench/gen_report.py" "$n" "$f" || { say "bench: generator failed"; continue; }
	else
		python3 "$SRC/bench/gen_report.py" --ips "$ips" "$n" "$f" || { say "bench: generator failed"; continue; }
	fi
	mb=$(awk -v b="$(wc -c <"$f")" 'BEGIN { printf "%.1f", b / 1048576 }')
	# Best of REPEAT runs of each (the fastest wall time, with its RSS):
	# on a shared VM single runs vary by +-30%. The two tools alternate
	# so both see the same machine.
	xs=; is=; xk=0; ik=0; xc=0; ic=0; xrc=0; irc=0
	r=0
	while [ "$r" -lt "$REPEAT" ]; do
		r=$((r + 1))
		measure "$TMP/m1" xmllint --stream --noout "$f"
		rm -f "$TMP/b.db" "$TMP/b.db-wal" "$TMP/b.db-shm" "$TMP/b.db-journal"
		measure "$TMP/m2" "$EXE" import -d "$TMP/b.db" "$f"
		read -r s1 k1 c1 rc1 <"$TMP/m1"
		read -r s2 k2 c2 rc2 <"$TMP/m2"
		[ "$rc1" = 0 ] || xrc=$rc1
		[ "$rc2" = 0 ] || irc=$rc2
		if [ -z "$xs" ] || awk -v a="$s1" -v b="$xs" 'BEGIN { exit !(a < b) }'; then xs=$s1; xk=$k1; xc=$c1; fi
		if [ -z "$is" ] || awk -v a="$s2" -v b="$is" 'BEGIN { exit !(a < b) }'; then is=$s2; ik=$k2; ic=$c2; fi
	done
	if [ "$irc" != 0 ]; then
		say "  (import of $n records exited $irc: $(tail -c 300 "$TMP/stderr" | tr '\n' ' '))"
	fi
	awk -v mb="$mb" -v n="$n" -v ips="$ips" -v xs="$xs" -v xk="$xk" -v is="$is" -v ik="$ik" \
	    -v xc="$xc" -v ic="$ic" \
	    -v rmax="$RATIO_MAX" -v mmax="$RSS_MAX_MIB" -v irc="$irc" 'BEGIN {
		ratio = (xs > 0) ? is / xs : 0
		rps = (is > 0) ? n / is : 0
		ximb = xk / 1024; imb = ik / 1024
		t = (irc == 0 && ratio <= rmax) ? "PASS" : "MISS"
		m = (irc == 0 && imb <= mmax) ? "PASS" : "MISS"
		printf "%-8s %9d %7s %10.2f %9.2f %9.2f %11.0f %9.1f %9.1f %8.2f %8.2f %6s %6s\n",
			mb, n, ips, xs, is, ratio, rps, ximb, imb, xc, ic, t, m
	}'
	rm -f "$f" "$TMP/b.db" "$TMP/b.db-wal" "$TMP/b.db-shm" "$TMP/b.db-journal"
done
done
say "load average at end: $(loadavg)"
say "targets: import time <= ${RATIO_MAX} x xmllint --stream; import peak RSS <= ${RSS_MAX_MIB} MiB"
exit 0
