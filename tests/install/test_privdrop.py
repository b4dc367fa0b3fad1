#!/usr/bin/env python3
"""Privilege drop of fetch / watch (cli/privdrop.c) and the log targets.

Always: the log levels (-q, default, -v, -vv) and that --syslog and
[general] log = syslog take the log lines off stderr; config check
accepts [general] user / log and refuses bad values.
As root only (else those checks are reported skipped): fetch and watch
with [general] user = nobody against an unreachable 127.0.0.1 port drop to
nobody (debug line; /proc/PID/status of the running watch: every uid and
gid is nobody's, no supplementary groups), and refuse to run when the user
does not exist (and keep root with a warning for user = root), before any connection.
Usage: test_privdrop.py DW_EXE
"""
import os
import pwd
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER
import tempfile
import time

EXE = sys.argv[1]
DW = dwexec.cmd(EXE)
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{str(detail)[:1500]}]"))


def run(*args, **kw):
    return subprocess.run(DW + list(args), capture_output=True, text=True,
                          timeout=dwexec.scale(60), **kw)


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    db = os.path.join(tmp, "t.db")
    n_bad = [0]

    def fresh_bad():
        """A new input with no report (new bytes: not 'already known')."""
        n_bad[0] += 1
        path = os.path.join(tmp, f"bad{n_bad[0]}.xml")
        open(path, "w").write(f"<?xml version=\"1.0\"?><nothing n=\"{n_bad[0]}\"/>\n")
        return path
    conf = os.path.join(tmp, "c.conf")

    # ---- levels on stderr ----
    p = run("-d", db, "import", fresh_bad())
    check("default: a rejected input is a warning on stderr",
          p.returncode == 3 and "dmarcwatch: warning: rejected" in p.stderr,
          (p.returncode, p.stderr))
    p = run("-q", "-d", db, "import", fresh_bad())
    check("-q: no warning", p.returncode == 3 and "warning" not in p.stderr,
          p.stderr)
    again = fresh_bad()
    run("-d", db, "import", again)
    p = run("-vv", "-d", db, "import", again)
    check("-vv: debug lines (already known)",
          "dmarcwatch: debug: " in p.stderr, p.stderr)
    p = run("-v", "-d", db, "import", again)
    check("-v: no debug lines", "debug" not in p.stderr, p.stderr)

    # ---- syslog ----
    p = run("--syslog", "-vv", "-d", db, "import", fresh_bad(), again)
    check("--syslog: no log lines on stderr", p.returncode == 3 and
          "dmarcwatch: warning" not in p.stderr and "debug" not in p.stderr,
          p.stderr)
    open(conf, "w").write(f"[general]\ndatabase = {db}\nlog = syslog\n")
    p = run("-c", conf, "-vv", "import", fresh_bad())
    check("log = syslog: no log lines on stderr", p.returncode == 3 and
          "dmarcwatch: warning" not in p.stderr, p.stderr)
    open(conf, "w").write(f"[general]\ndatabase = {db}\nlog = stderr\n")
    p = run("-c", conf, "import", fresh_bad())
    check("log = stderr: warnings on stderr",
          "dmarcwatch: warning: rejected" in p.stderr, p.stderr)

    # ---- config check of the new keys ----
    for body, ok in (("user = nobody\nlog = syslog\n", True),
                     ("log = journal\n", False),
                     ("user = -rf\n", False),
                     ("user = a b\n", False),
                     ("user = " + "x" * 40 + "\n", False)):
        open(conf, "w").write("[general]\n" + body)
        p = run("-c", conf, "config", "check")
        check(f"config check {body.strip()!r}: {'ok' if ok else 'error'}",
              (p.returncode == 0) == ok and (ok or f"{conf}:2:" in p.stdout),
              p.stdout + p.stderr)

    # ---- privilege drop ----
    if os.geteuid() != 0:
        for n in ("fetch drops to nobody", "watch runs as nobody (/proc)",
                  "unknown user refused", "user = root warns"):
            print(f"ok - {n} # SKIP not root")
    else:
        nobody = pwd.getpwnam("nobody")
        work = os.path.join(tmp, "w")
        os.mkdir(work, 0o700)
        os.chown(work, nobody.pw_uid, nobody.pw_gid)
        pw = os.path.join(work, "pw")
        open(pw, "w").write("secret\n")
        os.chmod(pw, 0o600)
        os.chown(pw, nobody.pw_uid, nobody.pw_gid)
        # A port nothing listens on.
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()

        def write_conf(user):
            open(conf, "w").write(
                f"[general]\ndatabase = {work}/t.db\nuser = {user}\n"
                f"[imap]\nhost = 127.0.0.1\nport = {port}\ntls = none\n"
                f"user = x\npassword_file = {pw}\npoll_interval = 1\n")
            os.chmod(conf, 0o644)

        write_conf("nobody")
        p = run("-c", conf, "-vv", "fetch")
        check("fetch drops to nobody", p.returncode == 1 and
              f"dropped privileges to user nobody (uid {nobody.pw_uid}, "
              f"gid {nobody.pw_gid})" in p.stderr and
              "cannot connect" in p.stderr, (p.returncode, p.stderr))

        w = subprocess.Popen(DW + ["-c", conf, "-vv", "watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        status = ""
        deadline = time.time() + dwexec.scale(15)
        while time.time() < deadline:
            try:
                status = open(f"/proc/{w.pid}/status").read()
            except OSError:
                break
            if f"Uid:\t{nobody.pw_uid}\t" in status:
                break
            time.sleep(0.1)
        fields = {l.split(":")[0]: l.split(":", 1)[1].split()
                  for l in status.splitlines() if ":" in l}
        w.send_signal(signal.SIGTERM)
        try:
            out, err = w.communicate(timeout=dwexec.scale(30))
        except subprocess.TimeoutExpired:
            w.kill()
            out, err = w.communicate()
        check("watch runs as nobody (/proc)",
              fields.get("Uid") == [str(nobody.pw_uid)] * 4 and
              fields.get("Gid") == [str(nobody.pw_gid)] * 4 and
              fields.get("Groups", []) in ([], [str(nobody.pw_gid)]) and
              fields.get("CapEff") == ["0000000000000000"],
              (fields.get("Uid"), fields.get("Gid"), fields.get("Groups"),
               fields.get("CapEff"), err[-800:]))
        check("watch: SIGTERM ends it with 0", w.returncode == 0,
              (w.returncode, err[-800:]))

        write_conf("no-such-user-dw")
        for cmd in ("fetch", "watch"):
            p = run("-c", conf, "-vv", cmd)
            check(f"{cmd}: unknown user refused before connecting",
                  p.returncode == 1 and "refusing to run as root: user "
                  "'no-such-user-dw' does not exist" in p.stderr and
                  "connect" not in p.stderr, (p.returncode, p.stderr))
        write_conf("root")
        p = run("-c", conf, "fetch")
        check("user = root: keeps root, warns, goes on to connect",
              p.returncode == 1 and "running as root because [general] "
              "user = root" in p.stderr and
              "refusing" not in p.stderr, p.stderr)

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
