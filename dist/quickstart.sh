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
echo "== import: the format samples"
$DW import -q samples/reports
$DW reports | tail -n 5
echo
# The demo: ten days of a closed-loop warm-up of two new IPs (samples/
# make_demo.py): each morning `hints` runs, the simulated MTA sends what
# the hints allow, its log and the receivers' DMARC reports go in.
echo "== the demo: ten days of warm-up, the MTA obeying the hints"
python3 samples/make_demo.py --exe ./build/cli/dmarcwatch \
    --conf samples/demo/dmarcwatch.conf --work demo-out/input
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
