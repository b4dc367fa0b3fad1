#!/bin/sh
# Runs the whole test suite twice: a normal build with warnings as errors,
# and an ASan+UBSan build. Ends with "(N skipped)" and, last, the plain
# count "N passed, N failed" from both meson-logs/testlog.json files.
# Then a fuzz smoke run (clang libFuzzer, seconds per target).
# Not run here (too slow for CI; README.md): the suite under valgrind,
#   meson setup build-vg && meson test -C build-vg --setup valgrind \
#       --num-processes 1
# and the full allocation-failure sweep, tests/tools/failmalloc_run.py
# (the suite's 'failmalloc' test is a sampled one).
set -u
cd "$(dirname "$0")/.."
sh dist/deps.sh || exit 1
status=0
for cfg in "build-ci --werror" "build-san --werror -Db_sanitize=address,undefined -Db_lundef=false"; do
	dir=${cfg%% *}
	opts=${cfg#* }
	if [ ! -d "$dir" ]; then
		# shellcheck disable=SC2086
		meson setup "$dir" $opts >/dev/null || { echo "meson setup $dir failed"; exit 1; }
	fi
	meson compile -C "$dir" || { echo "build $dir failed"; status=1; continue; }
	meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
done
# Fuzz smoke: every libFuzzer target for a few seconds (clang, ASan+UBSan),
# seeded from samples/. Only the fuzz-smoke suite runs in this build.
if command -v clang >/dev/null 2>&1; then
	export DW_FUZZ_EXPECTED=1
	if [ ! -d build-fuzz ]; then
		CC=clang meson setup build-fuzz --werror -Dfuzzing_engine=libfuzzer \
		    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null ||
		    { echo "meson setup build-fuzz failed"; exit 1; }
	fi
	if meson compile -C build-fuzz; then
		meson test -C build-fuzz --suite fuzz-smoke --print-errorlogs \
		    --num-processes 2 || status=1
	else
		echo "build build-fuzz failed"; status=1
	fi
else
	echo "clang not installed: fuzz smoke run skipped"
fi
python3 - build-ci build-san build-fuzz <<'PY'
import json, sys, os
p = f = s = 0
for d in sys.argv[1:]:
    path = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(path):
        if d != "build-fuzz" or os.environ.get("DW_FUZZ_EXPECTED"):
            f += 1
        continue
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
print(f"({s} skipped)")
print(f"{p} passed, {f} failed")
PY
exit $status
