#!/bin/sh
# Runs the whole test suite twice: a normal build with warnings as errors,
# and an ASan+UBSan build. Then a fuzz smoke run (clang libFuzzer, seconds
# per target). Ends with "(N skipped)" and, last, the plain count
# "N passed, N failed" over the tests run by THIS invocation: each
# meson-logs/testlog.json is deleted before its `meson test`, and a step
# that cannot run its tests (dist/deps.sh, meson setup or meson compile
# failing) counts as one failure. The last line is printed whatever fails.
# Not run here (too slow for CI; README.md): the suite under valgrind,
#   meson setup build-vg && meson test -C build-vg --setup valgrind \
#       --num-processes 1
# and the full allocation-failure sweep, tests/tools/failmalloc_run.py
# (the suite's 'failmalloc' test is a sampled one).
# tests/cli/test_runall.py checks these rules with a stand-in meson.
set -u
cd "$(dirname "$0")/.."
status=0
broken=0       # steps that failed before their tests could run
ran=""         # build dirs whose testlog.json belongs to this run

for d in build-ci build-san build-fuzz; do
	rm -f "$d/meson-logs/testlog.json"
done

if ! sh dist/deps.sh; then
	echo "dist/deps.sh failed: missing packages"
	broken=$((broken + 1))
	status=1
fi

# run_tests DIR [MESON-TEST-ARGS...]: compile, then test (the log is ours).
run_tests() {
	dir=$1
	shift
	if ! meson compile -C "$dir"; then
		echo "build $dir failed"
		broken=$((broken + 1))
		status=1
		return
	fi
	ran="$ran $dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" ||
	    status=1
}

for cfg in "build-ci --werror" "build-san --werror -Db_sanitize=address,undefined -Db_lundef=false"; do
	dir=${cfg%% *}
	opts=${cfg#* }
	if [ ! -d "$dir" ]; then
		# shellcheck disable=SC2086
		if ! meson setup "$dir" $opts >/dev/null; then
			echo "meson setup $dir failed"
			rm -rf "$dir"       # so the next run sets it up again
			broken=$((broken + 1))
			status=1
			continue
		fi
	fi
	run_tests "$dir"
done
# Fuzz smoke: every libFuzzer target for a few seconds (clang, ASan+UBSan),
# seeded from samples/. Only the fuzz-smoke suite runs in this build.
if command -v clang >/dev/null 2>&1; then
	if [ ! -d build-fuzz ] && ! CC=clang meson setup build-fuzz --werror \
	    -Dfuzzing_engine=libfuzzer -Db_sanitize=address,undefined \
	    -Db_lundef=false >/dev/null; then
		echo "meson setup build-fuzz failed"
		rm -rf build-fuzz
		broken=$((broken + 1))
		status=1
	else
		run_tests build-fuzz --suite fuzz-smoke
	fi
else
	echo "clang not installed: fuzz smoke run skipped"
fi
# shellcheck disable=SC2086
python3 - "$broken" $ran <<'PY' || { echo "0 passed, $((broken + 1)) failed"; exit 1; }
import json, os, sys
f = int(sys.argv[1])
p = s = 0
for d in sys.argv[2:]:
    path = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(path):
        f += 1          # meson test ran but wrote no log: a failure
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
