#!/usr/bin/env python3
"""Layout rules, checked on the #include lines of every C file:

- dependencies point down only: cli -> ingest, report; ingest -> parse,
  store; report -> store; parse, store -> common (store may include parse's
  neutral model parse/report.h only); common includes nothing of ours;
- each external library is included by exactly one module file:
  libxml2 -> parse/dmarc_xml.c, sqlite3.h -> store/, zlib and libarchive ->
  ingest/unpack.c, libetpan -> ingest/src_imap.c, jansson -> common/json.c,
  inih -> common/inifile.c, gnutls -> ingest/;
- banned functions (atoi, atol, sscanf, sprintf, strcpy, strcat, strtok,
  gets) appear nowhere in the program sources;
- report/ and store/ include no network header (netdb.h, sys/socket.h,
  arpa/*, netinet/*, resolv.h): the pages and the store never touch the
  network; reverse DNS is looked up by ingest/resolve.c only.
Tests and fuzz targets may include library headers to build their inputs.
"""
import os
import re
import sys

SRC = os.environ.get("DW_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
MODULES = ["cli", "common", "ingest", "parse", "report", "store"]
ALLOWED = {
    "cli": {"cli", "common", "ingest", "report"},
    "ingest": {"ingest", "common", "parse", "store"},
    "report": {"report", "common", "store"},
    "parse": {"parse", "common"},
    "store": {"store", "common", "parse/report.h"},
    "common": {"common"},
}
LIBS = [  # (regex on the include, allowed file prefixes)
    (r"^libxml/", ["parse/dmarc_xml.c"]),
    (r"^sqlite3\.h$", ["store/"]),
    (r"^zlib\.h$", ["ingest/unpack.c"]),
    (r"^archive(_entry)?\.h$", ["ingest/unpack.c"]),
    (r"^libetpan/", ["ingest/src_imap.c"]),
    (r"^jansson\.h$", ["common/json.c"]),
    (r"^ini\.h$", ["common/inifile.c"]),
    (r"^gnutls/", ["ingest/"]),
]
NETWORK = re.compile(r"^(netdb\.h|sys/socket\.h|arpa/|netinet/|resolv\.h)")
NO_NETWORK = ("report", "store")
BANNED = re.compile(r"\b(atoi|atol|atoll|sscanf|sprintf|vsprintf|strcpy|strcat|strtok|gets)\s*\(")
INC = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

problems = []
checked = 0
for mod in MODULES:
    base = os.path.join(SRC, mod)
    for root, _, files in os.walk(base):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, SRC)
            text = open(path, encoding="utf-8", errors="replace").read()
            checked += 1
            for kind, inc in INC.findall(text):
                if kind == '"':
                    target = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
                    tmod = target.split(os.sep)[0]
                    if tmod not in MODULES:
                        continue  # generated headers (dw_config.h)
                    ok = ALLOWED[mod]
                    if tmod not in ok and target not in ok:
                        problems.append(f"{rel}: includes {target} ({mod} -> {tmod} not allowed)")
                    if mod == "store" and tmod == "parse" and target != "parse/report.h":
                        problems.append(f"{rel}: store may include parse/report.h only, not {target}")
                else:
                    if mod in NO_NETWORK and NETWORK.search(inc):
                        problems.append(f"{rel}: includes <{inc}>: {mod}/ "
                                        "never touches the network")
                    for pat, owners in LIBS:
                        if re.search(pat, inc) and not any(rel.startswith(o) for o in owners):
                            problems.append(f"{rel}: includes <{inc}>, reserved for {', '.join(owners)}")
            code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
            for m in BANNED.finditer(code):
                line = code[:m.start()].count("\n") + 1
                problems.append(f"{rel}:{line}: banned function {m.group(1)}()")

for p in problems:
    print("not ok -", p)
print(f"{checked} files checked, {len(problems)} problems")
print(f"{1 if not problems else 0} passed, {1 if problems else 0} failed")
sys.exit(1 if problems else 0)
