#!/usr/bin/env python3
"""Allocation-failure sweep over the samples (issue 7 item 4).

  failmalloc_run.py DW_EXE LIBFAILMALLOC_SO [options] [INPUT...]

For each INPUT (a file or a directory, as `dmarcwatch import` takes it)
a clean `dmarcwatch import` into a fresh database is traced with the shim
(tests/tools/failmalloc.c) in counting mode: the number of allocations
(malloc, calloc, realloc, strdup, strndup, posix_memalign, aligned_alloc
calls) and the call stack of each. Then, for each chosen index N, an
import into a fresh database with the Nth allocation failing once, and
these checks:

  - the allocation was reached and failed (else the run is not what it
    claims to be);
  - no signal, no sanitizer report (ASan, LeakSanitizer, UBSan in the
    ASan+UBSan build; valgrind's error exit 99 when DW_EXEC_WRAPPER is
    the valgrind command line of `meson test --setup valgrind`);
  - exit status 1 (runtime error: out of memory) or 4 (transient, run
    again) or 0 (the failure was absorbed), or 3 when the clean run
    exits 3 too (the input holds rejected parts) - doc/cli.md; after 0
    or 3 the database must already hold what a clean run stores;
  - `PRAGMA integrity_check` is ok;
  - an import of the same input without the failure into that database
    exits 0 or as the clean run did, and then the database holds exactly
    what the clean run stored: every table, every column, except the
    import times (TIME_COLUMNS) and row ids (replaced by the rows'
    natural keys), so a half-stored report or a rejection caused by the
    failed allocation shows.

Every input imports into a fresh database, so the first allocations
(start-up, creating the schema) are the same code path for every input.
The longest prefix of indices whose call stacks are equal in every input
traced in this run is swept once, with the first input; for the other
inputs only the indices after it ("prefix" below). Say --no-prefix to
sweep every index of every input.

Options:
  --full            every index (default for the inputs named; see below)
  --each-stack      every allocation site once: the first index of each
                    distinct call stack (over all the inputs: a stack
                    failed in one input is not failed again in the next)
  --step K          every Kth index (K > 1: offsets vary per input so
                    that different inputs cover different indices)
  --prefix-step K   every Kth index of the shared prefix (default: as
                    --step)
  --set NAME        inputs: 'representative' (one of each input kind:
                    xml, xml.gz, zip, eml, mbox, Maildir, TLS-RPT json and
                    json.gz, ARF, a mixed good/bad batch), 'all' (every
                    sample file and directory under samples/reports
                    and samples/hostile), 'rest'
                    ('all' but the representative ones), 'suite' (the
                    sampled run of the 'failmalloc' test)
  --cases FILE      the numbered regression cases (failmalloc_cases.txt):
                    each fails the allocation found by its call stack
  --jobs J          runs in parallel (default 1)
  --no-prefix       do not share the prefix between inputs
  --budget SECONDS  stop starting new runs after this long, times
                    DW_TIMEOUT_MULT (the test then fails: a sampled run
                    must finish)

Environment: DW_SAMPLES (samples/), DW_EXEC_WRAPPER (tests/tools/
dwexec.py; valgrind), ASAN_OPTIONS / LSAN_OPTIONS are extended here
(the shim must come before ASan: verify_asan_link_order=0; third-party
leaks: tests/tools/lsan.supp).

Prints one line per input and every failure (index, checks failed, the
call stack of the failed allocation, the end of stderr); exit 1 when any
failure, 0 otherwise.

By hand, the full sweep (ASan+UBSan build; see README.md):
  meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false
  meson compile -C build-san
  python3 tests/tools/failmalloc_run.py build-san/cli/dmarcwatch \
      build-san/tests/libfailmalloc.so --set all --full --jobs 2
"""
import concurrent.futures
import itertools
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dwexec  # noqa: E402

SAMPLES = os.environ.get("DW_SAMPLES", os.path.join(HERE, "..", "..",
                                                     "samples"))
REPRESENTATIVE = [
    "reports/gmx.net!example.com!1700265600!1700351999.xml",      # xml
    "reports/yahoo.com!example.org!1700092800!1700179199.xml.gz",  # xml.gz
    "reports/google.com!example.com!1700006400!1700092799.zip",   # zip
    "reports/google-zip.eml",                                     # eml
    "reports/outlook-enterprise.eml",          # eml, nested multipart
    "reports/mbox/dmarc.mbox",                                    # mbox
    "reports/maildir",                                            # Maildir
    "reports/tlsrpt-three-policies.json",                         # json
    "reports/google.com!example.com!1700006400!1700092799.json.gz",
    "reports/arf-dmarc-failure.eml",                              # arf
    "hostile/batch-mixed",                     # good and bad in a batch
]
# The sampled run of the suite (test 'failmalloc'): one of each kind,
# every SUITE_STEP-th index after the shared prefix (offsets differ per
# input), every SUITE_PREFIX_STEP-th of the prefix: about 150 runs.
# Plus the recover pass (parser thread, re-nesting, the raw <record>
# count): failures there were stored as permanent rejections (a file
# read's ENOMEM taken for "file grew", libxml2's out-of-memory for broken
# XML).
SUITE = REPRESENTATIVE + ["hostile/unclosed-policy-published.xml"]
SUITE_STEP = 89
SUITE_PREFIX_STEP = 997
# Columns that hold the time of the import, not what was imported.
TIME_COLUMNS = {("messages", "received"), ("message_origins", "seen"),
                ("reports", "imported_at"), ("rejected", "at"),
                ("imap_folders", "updated"), ("imap_uids", "updated"),
                ("providers", "synced_at"), ("sendlog_sources", "first_seen"),
                ("sendlog_sources", "updated"), ("engine_state", "updated"),
                ("engine_days", "decided_at"), ("hints_runs", "run_at")}
OK_EXIT = {0, 1, 4}
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|"
                       r"runtime error:|SUMMARY: UndefinedBehaviorSanitizer|"
                       r"AddressSanitizer: CHECK failed")


def all_inputs():
    out = []
    for sub in ("reports", "hostile"):
        d = os.path.join(SAMPLES, sub)
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if name == "mbox":
                p = os.path.join(p, "dmarc.mbox")
            out.append(p)
    return out


# -------------------------------------------------------------- the dump
def dump(path):
    """Every table of the database, rows sorted, import times left out
    and row ids replaced by the rows' natural keys."""
    c = sqlite3.connect(path)
    try:
        msg = {i: s for i, s in c.execute("SELECT id, sha256 FROM messages")}
        rep = {r[0]: r[1:] for r in c.execute(
            "SELECT id, kind, reporter_key, report_id, begin, end,"
            " policy_domain FROM reports")}
        rec = {i: (rep.get(r), s) for i, r, s in c.execute(
            "SELECT id, report_id, seq FROM records")}
        pol = {}
        if c.execute("SELECT 1 FROM sqlite_master WHERE name ="
                     " 'tlsrpt_policies'").fetchone():
            pol = {i: (rep.get(r), s) for i, r, s in c.execute(
                "SELECT id, report_id, seq FROM tlsrpt_policies")}
        maps = {"message_id": msg, "report_id": rep, "record_id": rec,
                "policy_id": pol}
        out = {}
        tables = [r[0] for r in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name"
            " NOT LIKE 'sqlite_%' ORDER BY name")]
        for t in tables:
            cols = [r[1] for r in c.execute(f'PRAGMA table_info("{t}")')]
            keep = [x for x in cols if (t, x) not in TIME_COLUMNS and
                    not (x == "id" and t in ("messages", "reports",
                                             "records", "tlsrpt_policies",
                                             "rejected"))]
            rows = []
            for r in c.execute("SELECT " + ", ".join(f'"{x}"' for x in keep)
                               + f' FROM "{t}"'):
                row = []
                for x, v in zip(keep, r):
                    # reports.report_id is the reporter's id (text), the
                    # other report_id columns point at reports.id.
                    if x in maps and not (t == "reports" and
                                          x == "report_id"):
                        v = ("->", maps[x].get(v, ("dangling", v)))
                    row.append(v)
                rows.append(tuple(row))
            out[t] = sorted(rows, key=repr)
        return out
    finally:
        c.close()


def diff_dumps(a, b):
    for t in sorted(set(a) | set(b)):
        ra, rb = a.get(t, []), b.get(t, [])
        if ra != rb:
            only_a = [r for r in ra if r not in rb][:2]
            only_b = [r for r in rb if r not in ra][:2]
            return (f"table {t}: {len(ra)} rows vs clean {len(rb)};"
                    f" here only {only_a!r:.300} clean only {only_b!r:.300}")
    return None


# ------------------------------------------------------------- the runs
class Runner:
    def __init__(self, exe, shim, tmp):
        self.exe, self.shim, self.tmp = exe, os.path.abspath(shim), tmp
        self.seq = itertools.count(1)   # next() is atomic: --jobs threads
        self.timeout = dwexec.scale(120)

    def env(self, n, trace=None):
        env = dict(os.environ)
        if n is not None:
            env["LD_PRELOAD"] = self.shim
            env["DW_FAILMALLOC"] = str(n)
            # Only dmarcwatch: not the shell or valgrind launcher of a
            # DW_EXEC_WRAPPER, which inherit LD_PRELOAD.
            env["DW_FAILMALLOC_EXE"] = os.path.realpath(self.exe)
            if trace:
                env["DW_FAILMALLOC_TRACE"] = trace
            # The shim must come before ASan's allocator (when there is
            # one): see failmalloc.c.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [
                env.get("ASAN_OPTIONS", ""), "verify_asan_link_order=0"]))
        else:
            for k in ("LD_PRELOAD", "DW_FAILMALLOC", "DW_FAILMALLOC_EXE",
                      "DW_FAILMALLOC_TRACE"):
                env.pop(k, None)
        supp = os.path.join(HERE, "lsan.supp")
        env["LSAN_OPTIONS"] = ":".join(filter(None, [
            env.get("LSAN_OPTIONS", ""), "suppressions=" + supp,
            "print_suppressions=0"]))
        return env

    def import_(self, db, path, n=None, trace=None, wrap=True):
        argv = (dwexec.cmd(self.exe) if wrap else [self.exe]) + \
            ["-q", "import", "-d", db, path]
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               errors="backslashreplace",
                               env=self.env(n, trace), timeout=self.timeout)
            return p.returncode, p.stderr
        except subprocess.TimeoutExpired as e:
            err = e.stderr or ""
            if isinstance(err, bytes):
                err = err.decode(errors="backslashreplace")
            return "timeout", err

    def fresh(self, tag):
        d = os.path.join(self.tmp, f"{tag}-{next(self.seq)}")
        os.makedirs(d)
        return d


def scratch_dir():
    """Where the databases go: DW_FAILMALLOC_TMP, else /dev/shm when
    there is one (SQLite's fsyncs on a disk made the runs 2-3 times
    slower), else the default temporary directory."""
    d = os.environ.get("DW_FAILMALLOC_TMP")
    if d:
        return d
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return None


def calls_of(stderr):
    m = re.findall(r"failmalloc: calls=(\d+) failed=(\d+)", stderr)
    return (int(m[-1][0]), int(m[-1][1])) if m else (None, None)


def read_trace(path):
    """-> list of stack keys per call (a tuple of "object:offset" frames,
    or "E" for a start-up call); the object table."""
    objs, stacks, calls, lost = {}, {}, [], None
    with open(path) as f:
        for line in f:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "M":
                i, _, name = rest.partition(" ")
                objs[i] = name
            elif kind == "S":
                sid, *frames = rest.split(" ")
                stacks[sid] = frames
            elif kind == "C":
                calls.extend(rest.split(" "))
            elif kind == "L":
                lost = int(rest)
    if lost:
        raise RuntimeError(f"{path}: {lost} calls not traced")

    def key(sid):
        if sid == "E":
            return "E"
        out = []
        for fr in stacks[sid]:
            o, _, off = fr.partition(":")
            out.append(os.path.basename(objs.get(o, "?")) + ":" + off)
        return tuple(out)
    return [key(s) for s in calls], objs


class Symbols:
    """object:offset -> function (file:line) through addr2line, cached."""

    def __init__(self, exe):
        self.exe = os.path.realpath(exe)
        self.cache = {}
        self.paths = {}

    def add_objects(self, objs):
        for name in objs.values():
            p = self.exe if os.path.basename(name) == os.path.basename(
                self.exe) else name
            self.paths[os.path.basename(name)] = p

    def resolve(self, frames):
        todo = {}
        for fr in frames:
            if fr in self.cache or fr == "E":
                continue
            obj, _, off = fr.partition(":")
            todo.setdefault(obj, []).append(off)
        for obj, offs in todo.items():
            path = self.paths.get(obj)
            names = []
            if path and os.path.exists(path) and shutil.which("addr2line"):
                # The return address points after the call: -1 gives the
                # line of the call itself.
                q = subprocess.run(["addr2line", "-f", "-s", "-e", path] +
                                   [hex(int(o, 16) - 1) for o in offs],
                                   capture_output=True, text=True)
                lines = q.stdout.splitlines()
                names = [f"{lines[2 * i]} ({lines[2 * i + 1]})"
                         for i in range(len(lines) // 2)]
            for i, o in enumerate(offs):
                nm = names[i] if i < len(names) and \
                    not names[i].startswith("??") else f"{obj}+0x{o}"
                self.cache[f"{obj}:{o}"] = nm
        return [self.cache.get(fr, fr) for fr in frames]

    def function(self, fr):
        return self.resolve([fr])[0].split(" ")[0]


# ----------------------------------------------------------- per input
class Input:
    def __init__(self, path):
        self.path = path
        self.name = os.path.relpath(path, SAMPLES) \
            if os.path.abspath(path).startswith(os.path.abspath(SAMPLES)) \
            else path
        self.total = self.rc = self.want = None
        self.stacks = []
        self.fails = []
        self.tried = self.skipped = 0


def prepare(r, inp):
    """The clean runs: traced (shim counting) and plain; both must store
    the same."""
    d = r.fresh("clean")
    db = os.path.join(d, "db")
    tr = os.path.join(d, "trace")
    rc, err = r.import_(db, inp.path, n=0, trace=tr)
    total, _ = calls_of(err)
    if total is None or not isinstance(rc, int) or rc < 0 or \
            SANITIZER.search(err):
        raise RuntimeError(f"{inp.name}: clean traced run: exit {rc}:"
                           f" {err[-800:]}")
    inp.total, inp.rc = total, rc
    inp.stacks, objs = read_trace(tr)
    if len(inp.stacks) != total:
        raise RuntimeError(f"{inp.name}: trace has {len(inp.stacks)} calls,"
                           f" the count says {total}")
    inp.want = dump(db)
    d2 = r.fresh("plain")
    rc2, err2 = r.import_(os.path.join(d2, "db"), inp.path)
    got = dump(os.path.join(d2, "db"))
    if rc2 != rc or diff_dumps(got, inp.want):
        raise RuntimeError(f"{inp.name}: the shim changes the import: exit"
                           f" {rc2} vs {rc}; {diff_dumps(got, inp.want)}")
    shutil.rmtree(d)
    shutil.rmtree(d2)
    return objs


def one(r, inp, n):
    """Import with allocation n failing; -> None or what went wrong."""
    d = r.fresh("f")
    db = os.path.join(d, "db")
    try:
        rc, err = r.import_(db, inp.path, n=n)
        why = []
        calls, failed = calls_of(err)
        ok_exit = OK_EXIT | ({3} if inp.rc == 3 else set())
        if rc == "timeout":
            why.append("timed out")
        elif rc < 0:
            why.append(f"killed by signal {-rc}")
        elif rc not in ok_exit:
            why.append(f"exit {rc} (not in {sorted(ok_exit)})")
        if SANITIZER.search(err):
            why.append("sanitizer report")
        if rc != "timeout" and (failed is None or failed != 1):
            why.append(f"allocation {n} not reached (calls={calls}):"
                       " not deterministic?")
        if not why and os.path.exists(db):
            c = sqlite3.connect(db)
            ok = c.execute("PRAGMA integrity_check").fetchone()[0]
            c.close()
            if ok != "ok":
                why.append("integrity_check: " + ok)
        if not why and rc in (0, 3):
            # 0 (or 3: some parts rejected) says everything else landed:
            # nothing may be missing without a re-run.
            dd = diff_dumps(dump(db), inp.want) if os.path.exists(db) \
                else "no database"
            if dd:
                why.append(f"exit {rc} but not all stored: {dd}")
        if not why:
            rc2, err2 = r.import_(db, inp.path, wrap=False)
            if rc2 not in (0, inp.rc) or SANITIZER.search(err2):
                why.append(f"re-run: exit {rc2}: {err2[-300:]}")
            else:
                dd = diff_dumps(dump(db), inp.want)
                if dd:
                    why.append("re-run stores other than a clean run: " +
                               dd)
        if why:
            return "; ".join(why), err
        return None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def common_prefix(inputs):
    if len(inputs) < 2:
        return 0
    first = inputs[0].stacks
    p = len(first)
    for inp in inputs[1:]:
        k = 0
        lim = min(p, len(inp.stacks))
        while k < lim and inp.stacks[k] == first[k]:
            k += 1
        p = k
    return p


RUNTIME = ("libasan.", "libubsan.", "liblsan.", "libtsan.")


def runtime_alloc(stack):
    return stack != "E" and any(fr.startswith(RUNTIME) for fr in stack)


def pick(lo, hi, step, salt):
    """Indices lo..hi (1-based, inclusive), every step-th, starting at an
    offset that depends on salt so inputs cover different residues."""
    if hi < lo:
        return []
    if step <= 1:
        return list(range(lo, hi + 1))
    return list(range(lo + salt % step, hi + 1, step))


def describe(sym, inp, n):
    st = inp.stacks[n - 1]
    if st == "E":
        return "    (start-up, before main's libraries finished loading)"
    names = sym.resolve(list(st))
    return "\n".join("    " + x for x in names[:14])


# ------------------------------------------------------------ the cases
def load_cases(path):
    """Lines 'NNNN  INPUT  FUNC[>FUNC...]  [OCCURRENCE]  # why': fail the
    OCCURRENCE-th (default 1st) allocation whose call stack holds these
    functions, outermost first (not necessarily adjacent)."""
    cases = []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) not in (3, 4):
                raise SystemExit(f"{path}:{ln}: want NUM INPUT FUNCS [N]")
            occ = parts[3] if len(parts) == 4 else "1"
            cases.append((parts[0], parts[1], parts[2].split(">"),
                          "all" if occ == "all" else int(occ)))
    return cases


def find_index(sym, inp, funcs, occurrence):
    """The index of that allocation (1-based), or with occurrence 'all'
    the list of every such index; None when there is none."""
    seen = 0
    memo = {}
    every = []
    for i, st in enumerate(inp.stacks):
        if st == "E":
            continue
        if st not in memo:
            names = [sym.function(fr) for fr in reversed(st)]
            k = 0
            for nm in names:
                if k < len(funcs) and nm == funcs[k]:
                    k += 1
            memo[st] = k == len(funcs)
        if memo[st]:
            seen += 1
            every.append(i + 1)
            if seen == occurrence:
                return i + 1
    return (every or None) if occurrence == "all" else None


def main():
    args = sys.argv[1:]
    opts = {"--step": None, "--prefix-step": None, "--set": None,
            "--cases": None, "--jobs": "1", "--budget": None}
    flags = {"--full": False, "--no-prefix": False, "--each-stack": False}
    rest = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in opts:
            opts[a] = args[i + 1]
            i += 2
        elif a in flags:
            flags[a] = True
            i += 1
        else:
            rest.append(a)
            i += 1
    if len(rest) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe, shim, files = rest[0], rest[1], rest[2:]
    step = int(opts["--step"] or 1)
    pstep = int(opts["--prefix-step"] or step)
    if opts["--set"] == "suite":
        files = files or [os.path.join(SAMPLES, f) for f in SUITE]
        step = int(opts["--step"] or SUITE_STEP)
        pstep = int(opts["--prefix-step"] or SUITE_PREFIX_STEP)
    elif opts["--set"] == "representative":
        files = files or [os.path.join(SAMPLES, f) for f in REPRESENTATIVE]
    elif opts["--set"] == "all":
        files = files or all_inputs()
    elif opts["--set"] == "rest":
        rep = {os.path.normpath(os.path.join(SAMPLES, f))
               for f in REPRESENTATIVE}
        files = files or [f for f in all_inputs()
                          if os.path.normpath(f) not in rep]
    elif not files and not opts["--cases"]:
        files = [os.path.join(SAMPLES, f) for f in REPRESENTATIVE]
    if flags["--full"]:
        step = pstep = 1
    budget = dwexec.scale(float(opts["--budget"])) if opts["--budget"] \
        else None
    jobs = int(opts["--jobs"])
    t0 = time.time()
    bad = 0
    with tempfile.TemporaryDirectory(prefix="dw-failmalloc-",
                                     dir=scratch_dir()) as tmp:
        r = Runner(exe, shim, tmp)
        sym = Symbols(exe)
        prepared = {}

        def get_input(path):
            key = os.path.normpath(path)
            if key not in prepared:
                inp = Input(path)
                sym.add_objects(prepare(r, inp))
                prepared[key] = inp
            return prepared[key]

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
        if opts["--cases"]:
            cases = load_cases(opts["--cases"])
            todo = []
            for num, name, funcs, occ in cases:
                inp = get_input(os.path.join(SAMPLES, name))
                found = find_index(sym, inp, funcs, occ)
                idx = found if isinstance(found, list) else \
                    [] if found is None else [found]
                todo.append((num, name, funcs, occ, inp, found,
                             [pool.submit(one, r, inp, n) for n in idx]))
            for num, name, funcs, occ, inp, found, futs in todo:
                what = f"{'>'.join(funcs)} #{occ}"
                if found is None:
                    print(f"not ok {num} - {name}: no allocation under"
                          f" {what}: case out of date")
                    bad += 1
                    continue
                idx = found if isinstance(found, list) else [found]
                fails = []
                for n, fut in zip(idx, futs):
                    res = fut.result()
                    if res:
                        fails.append(n)
                        print(f"# {name} allocation {n} ({what}):"
                              f" {res[0]}\n{describe(sym, inp, n)}\n"
                              f"    stderr: {res[1][-600:]!r}")
                if isinstance(found, list):
                    what += f": {len(found)} allocations"
                else:
                    what = f"allocation {found} of {inp.total} ({what})"
                if fails:
                    bad += 1
                    print(f"not ok {num} - {name} {what}: {len(fails)}"
                          f" failed")
                else:
                    print(f"ok {num} - {name} {what}")
            if not files:
                print(f"{len(cases)} cases, {bad} failed")
                pool.shutdown()
                return 1 if bad else 0
        inputs = [get_input(f) for f in files]
        prefix = 0 if flags["--no-prefix"] else common_prefix(inputs)
        plan, last = [], []
        for k, inp in enumerate(inputs):
            # Allocations of the sanitizer runtime itself (ASan starting
            # a thread): failing them tests ASan, not us.
            idx = pick(prefix + 1, inp.total, step, k)
            ours = [n for n in idx if not runtime_alloc(inp.stacks[n - 1])]
            inp.skipped = len(idx) - len(ours)
            plan += [(inp, n) for n in ours]
            if k == 0 and prefix:
                # the shared prefix last: the inputs' own parts first
                idx = pick(1, prefix, pstep, 0)
                last = [n for n in idx
                        if not runtime_alloc(inp.stacks[n - 1])]
                inp.skipped += len(idx) - len(last)
            inp.tried = len(ours) + (len(last) if k == 0 else 0)
        plan += [(inputs[0], n) for n in last]
        if flags["--each-stack"]:
            # Every allocation site once: the first allocation of each
            # distinct call stack, over the prefix and every input's own
            # part (a stack already failed in an earlier input is not
            # failed again).
            plan, seen_st = [], set()
            for k, inp in enumerate(inputs):
                mine, inp.skipped = [], 0
                for n in range(1 if k == 0 else prefix + 1, inp.total + 1):
                    st = inp.stacks[n - 1]
                    if st in seen_st:
                        continue
                    seen_st.add(st)
                    if runtime_alloc(st):
                        inp.skipped += 1
                    else:
                        mine.append(n)
                inp.tried = len(mine)
                plan += [(inp, n) for n in mine]
        distinct = {}
        for inp in inputs:
            for st in inp.stacks:
                distinct[st] = 1
        # Call sites in our code: the innermost frame of each stack that
        # is in the dmarcwatch executable (the call that led to it).
        exe_name = os.path.basename(exe)
        ours = set()
        for st in distinct:
            if st == "E":
                continue
            for fr in st:
                if fr.startswith(exe_name + ":"):
                    ours.add(fr)
                    break
        print(f"# {len(inputs)} inputs; shared prefix {prefix} allocations"
              f" (swept with {inputs[0].name}); {len(plan)} runs;"
              f" {len(distinct)} distinct call stacks, {len(ours)} call"
              f" sites in dmarcwatch", flush=True)
        stopped = 0
        with pool as ex:
            futs = {}
            for inp, n in plan:
                futs[ex.submit(lambda a, b: None if budget and
                               time.time() - t0 > budget else
                               ("ran", one(r, a, b)), inp, n)] = (inp, n)
            done = 0
            for fut in concurrent.futures.as_completed(futs):
                inp, n = futs[fut]
                res = fut.result()
                done += 1
                if done % 1000 == 0:
                    print(f"# {done} of {len(plan)} runs,"
                          f" {time.time() - t0:.0f} s", flush=True)
                if res is None:
                    stopped += 1
                    continue
                if res[1]:
                    inp.fails.append(n)
                    print(f"FAIL {inp.name} allocation {n} of {inp.total}:"
                          f" {res[1][0]}\n{describe(sym, inp, n)}\n"
                          f"    stderr: {res[1][1][-600:]!r}", flush=True)
        for k, inp in enumerate(inputs):
            span = (f"1..{inp.total}" if k == 0 else
                    f"{prefix + 1}..{inp.total}")
            skipped = (f" ({inp.skipped} of the sanitizer runtime left"
                       " out)" if inp.skipped else "")
            print(f"{inp.name}: {inp.total} allocations (clean exit"
                  f" {inp.rc}), indices {span}: {inp.tried} runs,"
                  f" {len(inp.fails)} failed{skipped}")
            bad += len(inp.fails)
        runs = len(plan) - stopped
        print(f"{runs} runs, {bad} failed, {time.time() - t0:.0f} s")
        if stopped:
            print(f"not finished: {stopped} runs not started within"
                  f" --budget {budget:.0f} s")
            return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
