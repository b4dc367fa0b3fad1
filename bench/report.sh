#!/bin/sh
# bench/report.sh [BUILD_DIR] - how long `dmarcwatch report html` and
# `dmarcwatch summary` take on a big database.
#
# Builds dmarcwatch if needed (default build dir: build), fills a fresh
# database with bench/gen_db.py (default 10M aggregate records over 90
# days, by bulk SQL shaped like an import, with the agg_daily rollup;
# see gen_db.py) and bench/gen_engine.py (the send log and the engine's
# tables over the same days for BENCH_SENDER_IPS of our IPs x every
# provider profile, 3 of them with mail per IP, plus a configuration
# naming them in [sender] ips, so warmup.html is drawn in full), then
# times, best of BENCH_REPEAT runs (default 3):
#   dmarcwatch -c CONF report html -d DB --out DIR     (all pages)
#   dmarcwatch -c CONF summary -d DB
# and prints wall time, CPU and peak RSS with PASS/MISS against the
# target (report html < 2 s), the page sizes, and the load average
# (the machine may be shared: read the wall time with it).
# Informational: always exits 0.
# Environment: BENCH_RECORDS, BENCH_DAYS, BENCH_IPS, BENCH_REPORTERS,
# BENCH_SENDER_IPS (the shape), BENCH_TMPDIR (where the ~2 GB database
# goes), BENCH_KEEP=1 to keep it.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
RECORDS=${BENCH_RECORDS:-10000000}
DAYS=${BENCH_DAYS:-90}
IPS=${BENCH_IPS:-200}
REPORTERS=${BENCH_REPORTERS:-20}
SENDER_IPS=${BENCH_SENDER_IPS:-20}
REPEAT=${BENCH_REPEAT:-3}
TARGET=2.0

say() { printf '%s\n' "$*"; }

for tool in python3 ninja; do
	command -v "$tool" >/dev/null 2>&1 || { say "bench: $tool not found, skipping"; exit 0; }
done
[ -x /usr/bin/time ] || { say "bench: /usr/bin/time not found (apt-get install time), skipping"; exit 0; }
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" >/dev/null || { say "bench: meson setup failed"; exit 0; }
fi
ninja -C "$BUILD" >/dev/null || { say "bench: build failed"; exit 0; }
EXE=$BUILD/cli/dmarcwatch

TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/dw-rbench.XXXXXX") || exit 0
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT INT TERM
DB=$TMP/bench.db

say "generating: $RECORDS records, $DAYS days, $IPS source IPs, $REPORTERS reporters x 2 domains"
python3 "$SRC/bench/gen_db.py" "$EXE" "$DB" "$RECORDS" "$DAYS" "$IPS" "$REPORTERS" || { say "bench: gen_db failed"; exit 0; }
CONF=$TMP/bench.conf
python3 "$SRC/bench/gen_engine.py" "$EXE" "$DB" "$CONF" "$DAYS" "$SENDER_IPS" 3 || { say "bench: gen_engine failed"; exit 0; }
say "database: $(du -h "$DB" | cut -f1)"

# best-of-N: prints "wall cpu rss_kib" of the fastest run
best() {
	b=""
	i=0
	while [ "$i" -lt "$REPEAT" ]; do
		/usr/bin/time -f '%e %U %S %M' -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err" ||
			{ say "bench: failed: $*"; cat "$TMP/err"; return 1; }
		set -- "$@"
		read -r w u s m <"$TMP/t"
		line="$w $(echo "$u $s" | awk '{printf "%.2f", $1 + $2}') $m"
		if [ -z "$b" ] || awk -v a="$w" -v b="${b%% *}" 'BEGIN{exit !(a < b)}'; then
			b=$line
		fi
		i=$((i + 1))
	done
	echo "$b"
}

# The first run also warms the page cache, as an admin's cron job would
# find it after the import.
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
r=$(best "$EXE" -c "$CONF" report html -d "$DB" --out "$TMP/out") || exit 0
s=$(best "$EXE" -c "$CONF" summary -d "$DB") || exit 0
load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
pages=$(ls "$TMP/out" | wc -l)
say ""
printf '%-34s %8s %8s %10s\n' "command" "wall s" "cpu s" "peak RSS"
set -- $r
printf '%-34s %8s %8s %7d MiB\n' "report html ($pages pages)" "$1" "$2" $(($3 / 1024))
rw=$1
set -- $s
printf '%-34s %8s %8s %7d MiB\n' "summary" "$1" "$2" $(($3 / 1024))
say "page sizes: $(cd "$TMP/out" && for f in index sources warmup tls; do printf '%s %s KiB  ' "$f.html" $(($(wc -c <"$f.html") / 1024)); done)"
say "load average (1, 5, 15 min) before: ${load0:-?}; after: ${load1:-?} ($(nproc 2>/dev/null || echo ?) CPUs)"
if awk -v a="$rw" -v t="$TARGET" 'BEGIN{exit !(a < t)}'; then
	say "PASS: report html ${rw} s < ${TARGET} s"
else
	say "MISS: report html ${rw} s >= ${TARGET} s"
fi
exit 0
