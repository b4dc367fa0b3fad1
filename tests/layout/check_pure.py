#!/usr/bin/env python3
"""The parsers are pure (design.md "Parse", issue 7): bytes in, report out,
no global mutable state, no I/O, no logging. Checked on the compiled
objects of the core library (objdump), so it holds for what is built:

- every function of parse/*.c, and every common/ function they reach
  through calls (followed in the disassembly), calls nothing that does
  I/O, logs, reads the clock or the environment, keeps random state,
  changes libxml2's process-wide defaults or touches the store;
- the parse objects, and the common/ objects reached, hold no writable
  data (.data, .bss, thread-local .tdata/.tbss; relocated read-only
  tables in .data.rel.ro are fine) but the few allowed below, each with
  its reason.
Sanitizer and coverage instrumentation symbols are left out.
Usage: check_pure.py LIBDWCORE_A
"""
import re
import subprocess
import sys

ARCHIVE = sys.argv[1]
ROOTS = "parse_"      # objects of parse/*.c in the core library
HELPERS = "common_"   # objects the parsers may call into

# (object, symbol): writable state that is allowed, and why.
ALLOWED_DATA = {
    # pthread_once guard of libxml2's one-time init (xmlInitParser and
    # the entity loader that refuses everything): written once, then
    # only read; the parse itself keeps its state in its own context.
    ("parse_dmarc_xml.c.o", "init_once"),
    # common/json.c: pthread_once guard of json_set_alloc_funcs (set
    # once), and a thread-local flag jv_parse() clears before and reads
    # after each json_loadb(): scratch of one call on one thread.
    ("common_json.c.o", "alloc_once"),
    ("common_json.c.o", "alloc_failed"),
    # ... and the reserve that serves a failed allocation inside
    # jansson's lexer (it would drop a byte, then overrun a buffer), made
    # before and freed after each parse on the same thread.
    ("common_json.c.o", "reserve"),
    ("common_json.c.o", "reserve_len"),
    ("common_json.c.o", "reserve_used"),
    # parse/dmarc_xml.c: the same per-thread note of a failed allocation
    # for libxml2 (some come back as syntax errors), cleared at the start
    # of each parse on its thread; the recover thread hands its own over
    # in the parse's context.
    ("parse_dmarc_xml.c.o", "xml_alloc_failed"),
}

# (object, function, callee): process-wide calls that are allowed.
ALLOWED_CALLS = {
    # libxml2's allocator set once (pthread_once, before any other
    # libxml2 call) to the noting wrappers above; this file is the only
    # user of libxml2 in the program (design.md), so no one else's
    # allocations change.
    ("parse_dmarc_xml.c.o", "init_libxml", "xmlMemSetup"),
}

DENIED_CALLS = re.compile(r"^(?:"
    # files, descriptors, streams (snprintf and friends are fine)
    r"f?open(?:at)?(?:64)?|fdopen|creat|read|write|pread|pwrite|close|"
    r"fread|fwrite|fputs|fputc|puts|putchar|printf|fprintf|vprintf|"
    r"vfprintf|perror|fflush|fclose|fseek|ftell|f?stat(?:64)?|lstat|"
    r"unlink|rename|mkdir|socket|connect|send|recv|__printf_chk|"
    r"__fprintf_chk|__vfprintf_chk|__read_chk|"
    # logging, clock, environment, randomness, process
    r"syslog|openlog|log_[a-z]+|time|clock_gettime|gettimeofday|localtime|"
    r"localtime_r|getenv|secure_getenv|setenv|putenv|setlocale|rand|srand|"
    r"random|srandom|drand48|exit|_exit|abort|signal|sigaction|"
    # libxml2's process-wide defaults and error handlers
    r"xmlSetGenericErrorFunc|xmlSetStructuredErrorFunc|"
    r"xmlThrDefSetGenericErrorFunc|xmlThrDefSetStructuredErrorFunc|"
    r"xmlKeepBlanksDefault|xmlSubstituteEntitiesDefault|"
    r"xmlLineNumbersDefault|xmlPedanticParserDefault|"
    r"xmlLoadExtDtdDefaultValue|xmlCleanupParser|xmlMemSetup|"
    # the store and the network are not the parser's
    r"sqlite3_[a-z_]+|store_[a-z_]+|ingest_[a-z_]+"
    r")$")
INSTRUMENTATION = re.compile(r"^(?:_+asan|_+ubsan|__sancov|_+odr_asan|"
                             r"__llvm|__profc|__profd|__gcov|\.L)")


def objdump(*args):
    p = subprocess.run(["objdump", *args, ARCHIVE], capture_output=True,
                       text=True)
    if p.returncode != 0:
        print(f"not ok - objdump {' '.join(args)} {ARCHIVE}: {p.stderr}")
        sys.exit(1)
    return p.stdout


def obj_of(line):
    m = re.match(r"^(\S+\.o):\s+file format", line)
    return m.group(1).rsplit("/", 1)[-1] if m else None


# Symbol tables: writable data and global definitions per object.
data, defs = {}, {}
obj = None
for line in objdump("-t").splitlines():
    o = obj_of(line)
    if o:
        obj = o
        data[obj], defs[obj] = [], set()
        continue
    f = line.split()
    if obj is None or len(f) < 4 or not re.match(r"^[0-9a-f]{8,}$", f[0]):
        continue
    name, section = f[-1], f[-3]
    if "*UND*" in line or INSTRUMENTATION.match(name):
        continue
    flags = line[17:24]
    if "g" in line[16:18]:
        defs[obj].add(name)
    if re.match(r"^\.(t?data|t?bss)(\.|$)", section) and \
            not section.startswith(".data.rel.ro") and name != section \
            and "d" not in flags and "f" not in flags:
        data[obj].append((name, section))
definer = {s: o for o, ss in defs.items() for s in ss}

# Disassembly: what each function calls or takes the address of.
calls = {}      # (object, function) -> set of target names
obj = fn = None
for line in objdump("-dr", "--no-show-raw-insn").splitlines():
    o = obj_of(line)
    if o:
        obj, fn = o, None
        continue
    m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
    if m:
        fn = (obj, m.group(1))
        calls[fn] = set()
        continue
    if fn is None:
        continue
    m = re.search(r"\bR_[A-Z0-9_]+\s+([^\s+-]+)", line)
    if m:
        calls[fn].add(m.group(1))
    for m in re.finditer(r"<([^>+]+)(?:\+0x[0-9a-f]+)?>", line):
        calls[fn].add(m.group(1))

local = {}      # object -> its function names
for (o, f) in calls:
    local.setdefault(o, set()).add(f)

problems = []
start = [k for k in calls if k[0].startswith(ROOTS)]
seen, reached_objs, via = set(start), {k[0] for k in start}, {}
todo = list(start)
while todo:
    cur = todo.pop()
    for t in calls[cur]:
        if INSTRUMENTATION.match(t) or t.startswith("."):
            continue
        if t in local.get(cur[0], ()):
            nxt = (cur[0], t)
        elif t in definer and (cur[0], t) not in calls:
            nxt = (definer[t], t)
            if nxt not in calls:
                continue
        else:
            if DENIED_CALLS.match(t) and (cur[0], cur[1], t) not in \
                    ALLOWED_CALLS:
                path, k = [t], cur
                while k is not None:
                    path.append(k[1])
                    k = via.get(k)
                problems.append(f"{cur[0]}: calls {t}() "
                                f"({' <- '.join(path)})")
            continue
        if not (nxt[0].startswith(ROOTS) or nxt[0].startswith(HELPERS)):
            problems.append(f"{cur[0]}: {cur[1]}() reaches {nxt[1]}() "
                            f"of {nxt[0]}")
            continue
        if nxt not in seen:
            seen.add(nxt)
            via[nxt] = cur
            reached_objs.add(nxt[0])
            todo.append(nxt)
print(f"# {len(seen)} functions in {len(reached_objs)} objects: "
      f"{' '.join(sorted(reached_objs))}")

for o in sorted(reached_objs):
    for name, section in data.get(o, []):
        if (o, name) not in ALLOWED_DATA:
            problems.append(f"{o}: writable {section} object '{name}'")

# The check can fail: the objects were found, the walk went into common/,
# and each allowed piece of state is really there (else it is stale).
expect = {"parse_dmarc_xml.c.o", "parse_tlsrpt_json.c.o", "parse_arf.c.o",
          "common_json.c.o"}
if not expect <= reached_objs:
    problems.append(f"objects not found or not reached: "
                    f"{sorted(expect - reached_objs)}")
for o, name in sorted(ALLOWED_DATA):
    if name not in (n for n, _ in data.get(o, [])):
        problems.append(f"{o}: allowed '{name}' no longer there: "
                        "remove it from ALLOWED_DATA")

for p in problems:
    print("not ok -", p)
print(f"{len(seen)} functions checked, {len(problems)} problems")
print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
sys.exit(1 if problems else 0)
