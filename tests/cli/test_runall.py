#!/usr/bin/env python3
"""test_runall.py - tests/run-all.sh (CI's `.ci/run`) reports only what
this run tested, and always ends with the line "N passed, N failed".

run-all.sh is run in a scratch copy of the tree with stand-ins on PATH:
`meson` (setup / compile / test, each able to fail on request, `test`
writing a testlog.json of N results), `clang` (so the fuzz step runs the
same everywhere) and dist/deps.sh. Cases: all good; a failed compile next
to a stale testlog.json from an earlier run (must not be counted as
passes); dist/deps.sh failing; meson setup failing. Standard library only.
Prints `ok N - ...`; last line `N passed, N failed`.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "run-all.sh")
N = [0, 0]

FAKE_MESON = r"""#!/bin/sh
# stand-in: meson setup DIR ... | compile -C DIR | test -C DIR ...
cmd=$1; shift
case $cmd in
setup)
	case " ${FAKE_SETUP_FAIL:-} " in *" $1 "*) exit 1;; esac
	mkdir -p "$1/meson-logs"; exit 0;;
compile)
	case " ${FAKE_COMPILE_FAIL:-} " in *" $2 "*) exit 1;; esac
	exit 0;;
test)
	dir=$2; mkdir -p "$dir/meson-logs"; : > "$dir/meson-logs/testlog.json"
	i=0
	while [ $i -lt "${FAKE_TESTS:-3}" ]; do
		echo '{"name": "t", "result": "OK"}' >> "$dir/meson-logs/testlog.json"
		i=$((i + 1))
	done
	echo '{"name": "s", "result": "SKIP"}' >> "$dir/meson-logs/testlog.json"
	exit 0;;
esac
exit 2
"""


def check(cond, desc, detail=None):
    N[0 if cond else 1] += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", sum(N), desc))
    if not cond and detail is not None:
        for line in str(detail).splitlines()[-12:]:
            print("#   " + line)


def run_case(env_extra, stale=None, deps_rc=0):
    tmp = tempfile.mkdtemp(prefix="dw-runall-")
    try:
        os.makedirs(os.path.join(tmp, "tests"))
        os.makedirs(os.path.join(tmp, "dist"))
        os.makedirs(os.path.join(tmp, "bin"))
        shutil.copy(SCRIPT, os.path.join(tmp, "tests", "run-all.sh"))
        with open(os.path.join(tmp, "dist", "deps.sh"), "w") as f:
            f.write("exit %d\n" % deps_rc)
        for name, text in (("meson", FAKE_MESON), ("clang", "exit 0\n")):
            path = os.path.join(tmp, "bin", name)
            with open(path, "w") as f:
                f.write(text if text.startswith("#!") else "#!/bin/sh\n" + text)
            os.chmod(path, 0o755)
        for d, n in (stale or {}).items():
            os.makedirs(os.path.join(tmp, d, "meson-logs"))
            with open(os.path.join(tmp, d, "meson-logs", "testlog.json"),
                      "w") as f:
                f.write('{"result": "OK"}\n' * n)
        env = dict(os.environ)
        env["PATH"] = os.path.join(tmp, "bin") + os.pathsep + env["PATH"]
        env.update(env_extra)
        p = subprocess.run(["sh", os.path.join(tmp, "tests", "run-all.sh")],
                           env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        lines = out.strip().splitlines()
        return p.returncode, (lines[-1] if lines else ""), out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    rc, last, out = run_case({})
    check(rc == 0 and last == "9 passed, 0 failed",
          "all good: three builds of 3 tests, last line the plain count",
          out)
    rc, last, out = run_case({"FAKE_COMPILE_FAIL": "build-ci"},
                             stale={"build-ci": 50})
    check(rc != 0 and last == "6 passed, 1 failed",
          "a failed compile is one failure; an old testlog.json is not "
          "counted", out)
    rc, last, out = run_case({}, deps_rc=1)
    check(rc != 0 and last == "9 passed, 1 failed",
          "dist/deps.sh failing still ends with the count", out)
    rc, last, out = run_case({"FAKE_SETUP_FAIL": "build-san build-fuzz"})
    check(rc != 0 and last == "3 passed, 2 failed",
          "meson setup failing still ends with the count", out)
    print("%d passed, %d failed" % (N[0], N[1]))
    return 1 if N[1] else 0


if __name__ == "__main__":
    sys.exit(main())
