#!/bin/sh
# Quick start: install what is missing, build, and run the main job on the
# bundled samples (samples/README.md, samples/demo/): a database, the HTML
# pages, the terminal summary and throttle hints. Run from anywhere; it
# works in the repository root. Running it again starts from scratch
# (the database and demo-out/ are recreated).
set -eu
cd "$(dirname "$0")/.."
# The demo needs no browser (Chromium/npm are for tests/html; run-all.sh
# installs them): DW_NO_BROWSER=0 to install them here too.
DW_NO_BROWSER="${DW_NO_BROWSER:-1}" sh dist/deps.sh
[ -d build ] || meson setup build
meson compile -C build
DW="./build/cli/dmarcwatch -c samples/demo/dmarcwatch.conf"
# samples/demo/dmarcwatch.conf: database = dmarcwatch.db, hints and
# exports under demo-out/ (relative to this directory).
rm -f dmarcwatch.db dmarcwatch.db-wal dmarcwatch.db-shm
rm -rf demo-out
mkdir -p demo-out
echo "== import: the format samples and the demo's DMARC reports"
$DW import -q samples/reports samples/demo/reports
$DW reports | tail -n 5
echo
echo "== sendlog import: ten days of the demo MTA's log"
$DW sendlog import --format csv samples/demo/sendlog.csv
echo
# One hints run per morning after each demo day (2026-01-05 .. 01-14),
# as the daily timer would: the engine gates each day in turn.
echo "== hints: one run per day, the last at $(cat samples/demo/NOW)"
for d in 06 07 08 09 10 11 12 13 14; do
	$DW -q hints --now "2026-01-${d}T06:00:00Z" >/dev/null
done
$DW hints --now "$(cat samples/demo/NOW)"
echo
echo "== report html"
$DW report html --out demo-out/html
echo
echo "== summary"
$DW summary
echo
echo "Database:     $(pwd)/dmarcwatch.db  (schema: doc/schema.md)"
echo "HTML pages:   $(pwd)/demo-out/html/index.html  (warm-up: warmup.html)"
echo "Hints (JSON): $(pwd)/demo-out/throttle-hints.json"
echo "Exports:      $(pwd)/demo-out/postfix/ $(pwd)/demo-out/kumomta-throttle.json $(pwd)/demo-out/pmta/"
echo "Try: sqlite3 dmarcwatch.db 'SELECT * FROM throttle_hints LIMIT 5'"
