#!/bin/sh
# bench/imap.sh [BUILD_DIR] - IMAP fetch throughput and memory.
#
# Starts a throw-away Dovecot on 127.0.0.1 (the test harness,
# tests/imap/dovecot.py), drops BENCH_IMAP_MESSAGES (default 5000) unique
# report messages of every kind into its INBOX (tests/imap/gen.py), and
# times one `dmarcwatch fetch` with /usr/bin/time -v: wall time,
# messages/s, peak RSS. Then checks that the INBOX is empty and every
# report landed once. BENCH_IMAP_BATCH sets [imap] batch (default 100).
# Informational: exits 0 (skips with a line when a tool is missing).
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac

say() { printf '%s\n' "$*"; }

for tool in python3 ninja openssl; do
	command -v "$tool" >/dev/null 2>&1 || { say "bench: $tool not found, skipping"; exit 0; }
done
[ -x /usr/bin/time ] || { say "bench: /usr/bin/time not found (apt-get install time), skipping"; exit 0; }
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" >/dev/null || { say "bench: meson setup failed"; exit 0; }
fi
ninja -C "$BUILD" >/dev/null || { say "bench: build failed"; exit 0; }
EXE=$BUILD/cli/dmarcwatch
[ -x "$EXE" ] || { say "bench: $EXE missing"; exit 0; }

exec python3 - "$EXE" "$SRC" <<'PY'
import os, re, subprocess, sqlite3, sys, tempfile, time
exe, src = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "tests", "imap"))
import dovecot, gen

n = int(os.environ.get("BENCH_IMAP_MESSAGES", "5000"))
batch = os.environ.get("BENCH_IMAP_BATCH", "100")
with tempfile.TemporaryDirectory(prefix="dw-bench-imap.") as tmp:
    dv = dovecot.Dovecot(tmp)
    if not dv.available():
        print("bench: dovecot not found (apt-get install dovecot-imapd), skipping")
        sys.exit(0)
    dv.start()
    try:
        msgs = [gen.message(i) for i in range(n)]
        dv.deliver(dv.user, msgs)
        mbytes = sum(len(m) for m in msgs) / 1048576
        conf = os.path.join(tmp, "dw.conf")
        open(conf, "w").write(dv.config(batch=batch))
        # The first SELECT makes Dovecot index the new mail: do it
        # before timing, as a live mailbox would have it indexed.
        dv.counts(dv.user)
        db = os.path.join(tmp, "bench.db")
        p = subprocess.run(["/usr/bin/time", "-v", exe, "-c", conf, "-q",
                            "fetch", "-d", db, "--json"],
                           capture_output=True, text=True)
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
        secs = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 +
                float(wall.group(3)))
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                            p.stderr).group(1))
        cpu_u = float(re.search(r"User time \(seconds\): ([\d.]+)", p.stderr).group(1))
        cpu_s = float(re.search(r"System time \(seconds\): ([\d.]+)", p.stderr).group(1))
        counts = dv.counts(dv.user)
        c = sqlite3.connect(db)
        reports = c.execute("SELECT count(*) FROM reports").fetchone()[0]
        c.close()
        exp = gen.expected(n)
        ok = (counts.get("INBOX") == 0 and
              reports == n - exp.get("invalid", 0))
        print(f"messages      {n} ({mbytes:.1f} MiB; {exp})")
        print(f"batch         {batch}")
        print(f"exit status   {p.returncode} (3 = some rejected, expected)")
        print(f"wall time     {secs:.2f} s")
        print(f"cpu time      {cpu_u:.2f} s user, {cpu_s:.2f} s sys")
        print(f"messages/s    {n / secs:.0f}")
        print(f"peak RSS      {rss / 1024:.1f} MiB")
        print(f"check         {'PASS' if ok else 'FAIL'}: INBOX left "
              f"{counts.get('INBOX')}, reports {reports}")
    finally:
        dv.stop()
PY
