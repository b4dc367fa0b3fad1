#!/bin/sh
# Quick start: install what is missing, build, and import the bundled
# samples into ./dmarcwatch.db. Run from the repository root.
set -eu
cd "$(dirname "$0")/.."
sh dist/deps.sh
[ -d build ] || meson setup build
meson compile -C build
rm -f dmarcwatch.db dmarcwatch.db-wal dmarcwatch.db-shm
./build/cli/dmarcwatch -d dmarcwatch.db import samples/reports
echo
./build/cli/dmarcwatch -d dmarcwatch.db reports
echo
echo "Database: $(pwd)/dmarcwatch.db  (schema: doc/schema.md)"
echo "Try: sqlite3 dmarcwatch.db 'SELECT * FROM v_daily_source LIMIT 20'"
echo "HTML summaries and throttle hints are not built yet (see README, Status)."
