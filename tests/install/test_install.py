#!/usr/bin/env python3
"""Install checks (issue 7): the man pages, the help, the configuration
reference, the installed files, the systemd units and the sample config.

- every subcommand of the dispatch table (cli/main.c cli_commands[]) is in
  `dmarcwatch --help` and in dmarcwatch.1, with every long option of its
  cmd_*.c option table; the global options too;
- every (section, key) accepted by cli/settings.c (found by asking the
  binary: `config check` on a one-key file) is in dmarcwatch.conf.5 under
  its section, in doc/config.md and in dist/dmarcwatch.conf.sample;
- the man pages pass mandoc -Tlint, groff -ww and man --warnings
  (each when installed) without a message;
- `meson install --destdir TMP` puts every file in place;
- systemd-analyze verify passes on the installed units (ExecStart pointed
  at the destdir binary; skipped when systemd-analyze is missing), and the
  units carry the user, the hardening and ExecStartPre config check;
- the sample config passes `config check` as shipped, and with every
  commented line enabled (placeholder secret and CA files).
Usage: test_install.py DW_EXE BUILD_DIR
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER
import tempfile

EXE, BUILD = sys.argv[1], sys.argv[2]
DW = dwexec.cmd(EXE)
SRC = os.environ.get("DW_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{str(detail)[:2000]}]"))


def skip(name, why):
    print(f"ok - {name} # SKIP {why}")


def read(*p):
    return open(os.path.join(SRC, *p), encoding="utf-8").read()


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


# ---- the dispatch table, --help and dmarcwatch.1 --------------------------
main_c = read("cli", "main.c")
table = main_c[main_c.index("cli_commands[] = {"):]
table = table[:table.index("{ NULL, NULL, NULL, NULL }")]
commands = re.findall(r'\{\s*"([a-z-]+)",\s*cmd_[a-z_]+\s*,', table)
check("dispatch table parsed", len(commands) >= 9, commands)

h = run(DW + ["--help"])
check("--help exits 0", h.returncode == 0, h.stderr)
help_cmds = re.findall(r"^  ([a-z-]+) {2,}\S",
                       h.stdout.partition("Commands:\n")[2], re.M)
check("--help lists exactly the dispatch table", help_cmds == commands,
      f"help={help_cmds} table={commands}")

man1 = read("doc", "dmarcwatch.1.in")
# Each command is an ".It Xo / .Cm NAME" item of the COMMANDS list; its
# block runs to the next such item.
cmd_section = man1[man1.index(".Sh COMMANDS"):man1.index(".Sh SECURITY")]
items = re.split(r"^\.It Xo\n", cmd_section, flags=re.M)[1:]
blocks = {}
for it in items:
    m = re.match(r"\.Cm (\S+)", it)
    if m:
        blocks[m.group(1)] = it
for c in commands:
    check(f"dmarcwatch.1 documents command '{c}'", c in blocks,
          sorted(blocks))
    f = os.path.join(SRC, "cli", f"cmd_{c}.c")
    if not os.path.exists(f):
        check(f"cli/cmd_{c}.c exists", False)
        continue
    src = open(f, encoding="utf-8").read()
    longopts = re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument,\s*NULL,\s*\'(.)\'', src)
    m = re.search(r'getopt_long\(argc, argv, "([^"]*)"', src)
    shorts = set(m.group(1).replace(":", "").replace("+", "")) if m else set()
    check(f"cli/cmd_{c}.c option table parsed", longopts or c == "config")
    for o, v in longopts:
        b = blocks.get(c, "")
        check(f"dmarcwatch.1: {c} --{o}",
              re.search(rf"Fl -{re.escape(o)}\b", b) or
              (v in shorts and re.search(rf"Fl {re.escape(v)}\b", b)),
              f"neither 'Fl -{o}' nor 'Fl {v}' in the item of {c}")
gopts = re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required)_argument',
                   main_c[main_c.index("int\nmain("):])
check("global long options parsed", "syslog" in gopts, gopts)
desc = man1[man1.index(".Sh DESCRIPTION"):man1.index(".Sh COMMANDS")]
for o in gopts:
    check(f"dmarcwatch.1 documents --{o}", re.search(rf"Fl -{o}\b", desc))
    check(f"--help mentions --{o}", f"--{o}" in h.stdout or o in ("db", "config"),
          h.stdout)
for o in "cdvqhV":
    check(f"dmarcwatch.1 documents -{o}", re.search(rf"\.It Fl {o}\b", desc))
for sh in ("NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES",
           "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
    check(f"dmarcwatch.1 has section {sh}", f"\n.Sh {sh}\n" in man1)
codes = re.findall(r"#define EXIT_[A-Z]+ (\d+)", read("cli", "cli.h"))
es = man1[man1.index(".Sh EXIT STATUS"):man1.index(".Sh EXAMPLES")]
for c in codes:
    check(f"dmarcwatch.1 EXIT STATUS has {c}", f"\n.It {c}\n" in es)

# ---- configuration keys ---------------------------------------------------
settings_c = read("cli", "settings.c")
sections = sorted(set(re.findall(r'strcmp\(section, "([a-z_]+)"\)', settings_c)))
keys = sorted(set(re.findall(r'strcmp\(key, "([a-z_]+)"\)', settings_c)))
check("sections parsed", {"general", "imap", "sender", "hints", "failure"} <= set(sections), sections)
accepted = []
with tempfile.TemporaryDirectory() as tmp:
    conf = os.path.join(tmp, "k.conf")
    for s in sections:
        for k in keys:
            with open(conf, "w") as f:
                f.write(f"[{s}]\n{k} = x\n")
            p = run(DW + ["-c", conf, "config", "check"])
            out = p.stdout + p.stderr
            if f"unknown key '{k}' in [{s}]" not in out:
                accepted.append((s, k))
    # The probe can fail: a key nobody accepts is reported as unknown.
    with open(conf, "w") as f:
        f.write("[general]\nno_such_key = x\n")
    p = run(DW + ["-c", conf, "config", "check"])
    check("an unknown key is an error", p.returncode == 1 and
          "unknown key 'no_such_key' in [general]" in p.stdout + p.stderr,
          p.stdout + p.stderr)
check("accepted keys found", len(accepted) >= 30, accepted)

man5 = read("doc", "dmarcwatch.conf.5.in")
config_md = read("doc", "config.md")
sample = read("dist", "dmarcwatch.conf.sample")


def man5_section(s):
    m = re.search(rf"^\.Ss \[{s}\]\n(.*?)(?=^\.Ss |^\.Sh )", man5, re.M | re.S)
    return m.group(1) if m else ""


def md_has(s, k):
    if re.search(rf"\|\s*`{s}`\s*\|\s*`{k}`\s*\|", config_md):
        return True
    m = re.search(rf"^#+ [^\n]*`\[{s}\]`[^\n]*\n(.*?)(?=^## |\Z)", config_md, re.M | re.S)
    return bool(m and re.search(rf"^\|\s*`{k}`\s*\|", m.group(1), re.M))


for s, k in accepted:
    check(f"dmarcwatch.conf.5 [{s}] {k}",
          re.search(rf"^\.It Cm {k} No = ", man5_section(s), re.M))
    check(f"doc/config.md [{s}] {k}", md_has(s, k))
    sm = re.search(rf"^#?\[{s}\]\n(.*?)(?=^#?\[|\Z)", sample, re.M | re.S)
    check(f"dist/dmarcwatch.conf.sample [{s}] {k}",
          sm and re.search(rf"^#?{k} = ", sm.group(1), re.M))

# ---- meson install --destdir ----------------------------------------------
intro = run(["meson", "introspect", BUILD, "--buildoptions"])
opts = {o["name"]: o["value"] for o in json.loads(intro.stdout)} if intro.returncode == 0 else {}
check("meson introspect", opts, intro.stderr)
prefix = opts.get("prefix", "/usr/local")


def under(p):
    return p if os.path.isabs(p) else os.path.join(prefix, p)


bindir = under(opts.get("bindir", "bin"))
mandir = under(opts.get("mandir", "share/man"))
datadir = under(opts.get("datadir", "share"))
sysconfdir = under(opts.get("sysconfdir", "etc"))
unitdir = opts.get("systemdsystemunitdir", "")
if unitdir in ("", None):
    pc = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
    unitdir = pc.stdout.strip() if pc.returncode == 0 and pc.stdout.strip() \
        else os.path.join(prefix, "lib/systemd/system")
sysusersdir = opts.get("sysusersdir", "")
if sysusersdir in ("", None):
    pc = run(["pkg-config", "--variable=sysusersdir", "systemd"])
    sysusersdir = pc.stdout.strip() if pc.returncode == 0 and pc.stdout.strip() \
        else os.path.join(prefix, "lib/sysusers.d")
docdir = os.path.join(datadir, "doc", "dmarcwatch")
expected = {
    "binary": os.path.join(bindir, "dmarcwatch"),
    "dmarcwatch.1": os.path.join(mandir, "man1", "dmarcwatch.1"),
    "dmarcwatch.conf.5": os.path.join(mandir, "man5", "dmarcwatch.conf.5"),
    "providers.conf": os.path.join(datadir, "dmarcwatch", "providers.conf"),
    "sample": os.path.join(docdir, "examples", "dmarcwatch.conf.sample"),
    "operations.md": os.path.join(docdir, "operations.md"),
    "config.md": os.path.join(docdir, "config.md"),
    "watch.service": os.path.join(unitdir, "dmarcwatch-watch.service"),
    "hints.service": os.path.join(unitdir, "dmarcwatch-hints.service"),
    "hints.timer": os.path.join(unitdir, "dmarcwatch-hints.timer"),
    "sysusers": os.path.join(sysusersdir, "dmarcwatch.conf"),
}

with tempfile.TemporaryDirectory() as dest:
    p = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", dest])
    check("meson install --destdir", p.returncode == 0, p.stdout[-1500:] + p.stderr)
    inst = {k: dest + v for k, v in expected.items()}
    for k, v in inst.items():
        check(f"installed: {k} at {expected[k]}",
              os.path.isfile(v) and os.path.getsize(v) > 0, v)
    check("the binary is executable",
          os.path.isfile(inst["binary"]) and os.access(inst["binary"], os.X_OK))
    check("nothing installed over the admin's configuration",
          not os.path.exists(dest + os.path.join(sysconfdir, "dmarcwatch",
                                                 "dmarcwatch.conf")))
    p = run(dwexec.cmd(inst["binary"]) + ["--version"])
    check("installed binary runs", p.returncode == 0 and "dmarcwatch" in p.stdout,
          p.stderr)

    # Man pages: rendered with the install paths, lint-clean.
    for m in ("dmarcwatch.1", "dmarcwatch.conf.5"):
        page = inst[m]
        text = open(page, encoding="utf-8").read() if os.path.isfile(page) else ""
        check(f"{m}: paths filled in", text and
              not re.search(r"@[A-Z_]+@", text), re.findall(r".*@[A-Z_]+@.*", text)[:3])
        check(f"{m}: names the real config path",
              os.path.join(sysconfdir, "dmarcwatch", "dmarcwatch.conf") in text)
        ran = False
        if shutil.which("mandoc"):
            ran = True
            q = run(["mandoc", "-Tlint", "-W", "warning", page])
            msgs = [l for l in (q.stdout + q.stderr).splitlines()
                    if "outdated mandoc.db" not in l]
            check(f"{m}: mandoc -Tlint -W warning", q.returncode == 0 and
                  not msgs, "\n".join(msgs))
        if shutil.which("groff"):
            ran = True
            q = run(["groff", "-mandoc", "-ww", "-z", page])
            check(f"{m}: groff -mandoc -ww -z", q.returncode == 0 and
                  not q.stderr.strip(), q.stderr)
        if shutil.which("man"):
            ran = True
            q = run(["man", "--warnings", "-l", page],
                    env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
            check(f"{m}: man --warnings -l", q.returncode == 0 and
                  not q.stderr.strip(), q.stderr)
        if not ran:
            skip(f"{m}: lint", "no mandoc, groff or man")

    # Units.
    bin_path = os.path.join(bindir, "dmarcwatch")
    hard = ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
            "PrivateTmp=yes", "PrivateDevices=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "SystemCallFilter=@system-service", "SystemCallArchitectures=native",
            "CapabilityBoundingSet=", "LockPersonality=yes",
            "MemoryDenyWriteExecute=yes", "RestrictNamespaces=yes",
            "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes", "ProtectControlGroups=yes", "UMask=0077",
            "StateDirectory=dmarcwatch", "User=dmarcwatch"]
    for u, runs in (("watch.service", [f"ExecStart={bin_path} watch"]),
                    ("hints.service", [f"ExecStart={bin_path} hints",
                                       f"ExecStart={bin_path} report html --out /var/lib/dmarcwatch/html"])):
        lines = open(inst[u]).read().splitlines() if os.path.isfile(inst[u]) else []
        for d in hard + runs + [f"ExecStartPre={bin_path} config check"]:
            check(f"{u}: {d}", d in lines)
    tl = open(inst["hints.timer"]).read() if os.path.isfile(inst["hints.timer"]) else ""
    check("hints.timer: every 15 minutes", "OnCalendar=*:0/15" in tl)
    su = open(inst["sysusers"]).read() if os.path.isfile(inst["sysusers"]) else ""
    check("sysusers.d: user dmarcwatch", re.search(r"^u dmarcwatch ", su, re.M))

    if shutil.which("systemd-analyze"):
        with tempfile.TemporaryDirectory() as ud:
            names = []
            for u in ("watch.service", "hints.service", "hints.timer"):
                if not os.path.isfile(inst[u]):
                    continue
                t = open(inst[u]).read().replace(bin_path, inst["binary"])
                n = os.path.join(ud, os.path.basename(inst[u]))
                open(n, "w").write(t)
                names.append(n)
            q = run(["systemd-analyze", "verify", "--man=no"] + names)
            check("systemd-analyze verify", q.returncode == 0 and
                  not (q.stdout + q.stderr).strip(), q.stdout + q.stderr)
            # The check can fail: a misspelt directive is reported.
            bad = os.path.join(ud, "dmarcwatch-bad.service")
            open(bad, "w").write(open(names[0]).read().replace(
                "NoNewPrivileges=", "NoNewPrivilegs="))
            q = run(["systemd-analyze", "verify", "--man=no", bad])
            check("systemd-analyze verify reports a bad unit",
                  "NoNewPrivilegs" in q.stdout + q.stderr, q.stdout + q.stderr)
    else:
        skip("systemd-analyze verify", "systemd-analyze not installed")

    # The sample config, as installed.
    with tempfile.TemporaryDirectory() as tmp:
        p = run(dwexec.cmd(inst["binary"]) + ["-c", inst["sample"], "config", "check"])
        check("sample passes config check as shipped", p.returncode == 0,
              p.stdout + p.stderr)
        # Every commented line enabled, with placeholder files.
        pw = os.path.join(tmp, "imap-password")
        open(pw, "w").write("secret\n")
        os.chmod(pw, 0o600)
        ca = os.path.join(tmp, "ca.pem")
        open(ca, "w").write("placeholder\n")
        text = []
        for line in open(inst["sample"]).read().splitlines():
            m = re.match(r"^#(\[[a-z]+\]|[a-z_]+ = .*)$", line)
            line = m.group(1) if m else line
            line = re.sub(r"^password_file = .*", f"password_file = {pw}", line)
            line = re.sub(r"^ca_file = .*", f"ca_file = {ca}", line)
            line = re.sub(r"^providers = .*",
                          f"providers = {os.path.join(SRC, 'dist', 'providers.conf')}", line)
            if re.match(r"^token_(command|file) = ", line):
                continue   # auth = password: the token keys stay out
            text.append(line)
        full = os.path.join(tmp, "full.conf")
        open(full, "w").write("\n".join(text) + "\n")
        p = run(dwexec.cmd(inst["binary"]) + ["-c", full, "config", "check"])
        check("sample with every line enabled passes config check",
              p.returncode == 0 and "[imap]" in open(full).read(),
              p.stdout + p.stderr)

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
