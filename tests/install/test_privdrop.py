#!/usr/bin/env python3
"""Privilege drop of fetch / watch (cli/privdrop.c) and the log targets.

Always: the log levels (-q, default, -v, -vv), the journal priority
prefixes when JOURNAL_STREAM names stderr, and that --syslog and
[general] log = syslog take the log lines off stderr; config check
accepts [general] user / log and refuses bad values.
As root with unshare: the syslog lines as received on a /dev/log of the
test's own (an overlay on /dev in a private mount namespace): facility
mail, the level's severity, ident dmarcwatch[pid], -q filtering.
As root only (else those checks are reported skipped): fetch and watch
with [general] user = nobody against an unreachable 127.0.0.1 port drop to
nobody (debug line; /proc/PID/status of the running watch: every uid and
gid is nobody's, no supplementary groups), and refuse to run when the user
does not exist (and keep root with a warning for user = root), before any connection;
a database or directory the dropped user cannot write is refused with
its owner and mode (and a read-only file system named),
before any connection.
Usage: test_privdrop.py DW_EXE
"""
import os
import pwd
import re
import shutil
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

    # ---- the journal: stderr named by JOURNAL_STREAM gets "<N>" ----
    def journal_run(args, name_it=True):
        r, w = os.pipe()
        st = os.fstat(w)
        env = dict(os.environ)
        env["JOURNAL_STREAM"] = (f"{st.st_dev}:{st.st_ino}" if name_it
                                 else f"{st.st_dev}:{st.st_ino + 1}")
        p = subprocess.Popen(DW + args, stdout=subprocess.DEVNULL,
                             stderr=w, env=env)
        os.close(w)
        with os.fdopen(r, errors="replace") as f:
            err = f.read()
        p.wait(timeout=60)
        return p.returncode, err

    rc, err = journal_run(["-vv", "-d", db, "import", fresh_bad(), again])
    lines = err.splitlines()
    check("journal: every line has its priority (<4> warning, <7> debug)",
          rc == 3 and lines and
          all(re.match(r"<[3467]>dmarcwatch: ", l) for l in lines) and
          any(l.startswith("<4>dmarcwatch: warning: rejected ")
              for l in lines) and
          any(l.startswith("<7>dmarcwatch: debug: ") for l in lines), err)
    rc, err = journal_run(["-d", "/nonexistent/dir/x.db", "reports"])
    check("journal: an error is <3>", rc == 1 and
          err.startswith("<3>dmarcwatch: error: "), (rc, err))
    rc, err = journal_run(["-d", db, "import", fresh_bad()], name_it=False)
    check("journal: stderr redirected elsewhere gets no prefix",
          rc == 3 and err.startswith("dmarcwatch: warning: rejected "), err)

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

    # ---- syslog, received (as root: /dev/log in a private mount
    # namespace, an overlay on /dev, so the machine's is not touched) ----
    SYSLOG_HELPER = r"""
import json, os, socket, subprocess, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    os.unlink("/dev/log")
except OSError:
    pass
s.bind("/dev/log")
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
s.settimeout(0.5)
got = []
try:
    while True:
        got.append(s.recv(65536).decode("utf-8", "replace"))
except socket.timeout:
    pass
print(json.dumps({"rc": p.returncode, "stderr": p.stderr, "lines": got}))
"""

    def syslog_run(*args):
        """(exit, stderr, datagrams) of dmarcwatch ARGS with a /dev/log
        of our own; None when no mount namespace can be made."""
        up = tempfile.mkdtemp(dir=tmp)
        os.mkdir(os.path.join(up, "u"))
        os.mkdir(os.path.join(up, "w"))
        q = subprocess.run(
            ["unshare", "-m", "sh", "-c",
             'mount --make-rprivate / && mount -t overlay overlay -o '
             f'lowerdir=/dev,upperdir={up}/u,workdir={up}/w /dev && '
             'exec "$@"', "sh", sys.executable, "-c", SYSLOG_HELPER] +
            DW + list(args), capture_output=True, text=True, timeout=120)
        try:
            r = __import__("json").loads(q.stdout)
        except ValueError:
            print(f"# no syslog namespace: {q.stderr.strip()[:300]}")
            return None
        return r["rc"], r["stderr"], r["lines"]

    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("ok - syslog lines received # SKIP not root or no unshare")
    else:
        good = os.path.join(tmp, "good.xml")
        open(good, "w").write(
            '<?xml version="1.0"?><feedback><report_metadata><org_name>'
            'o.example</org_name><email>e@o.example</email><report_id>sl1'
            '</report_id><date_range><begin>1700697600</begin><end>'
            '1700783999</end></date_range></report_metadata>'
            '<policy_published><domain>example.com</domain><p>none</p>'
            '</policy_published><record><row><source_ip>192.0.2.1'
            '</source_ip><count>1</count><policy_evaluated><disposition>'
            'none</disposition><dkim>pass</dkim><spf>pass</spf>'
            '</policy_evaluated></row><identifiers><header_from>'
            'example.com</header_from></identifiers><auth_results><spf>'
            '<domain>example.com</domain><result>pass</result></spf>'
            '</auth_results></record></feedback>\n')
        r = syslog_run("--syslog", "-v", "-d", db, "import", fresh_bad(),
                       good)
        if r is None:
            print("ok - syslog lines received # SKIP no overlay on /dev")
        else:
            rc, err, lines = r
            # <PRI> = facility mail (2) * 8 + severity: 4 warning, 6 info
            warn = [l for l in lines if re.match(
                r"<20>.*dmarcwatch\[\d+\]: warning: rejected ", l)]
            check("--syslog: the warning reaches syslog as mail.warning, "
                  "ident dmarcwatch[pid]", rc == 3 and len(warn) == 1 and
                  "dmarcwatch: warning" not in err, (rc, lines, err))
            check("--syslog -v: information lines are mail.info",
                  any(re.match(r"<22>.*dmarcwatch\[\d+\]: \S+good.xml: "
                               r"stored 1 report", l) for l in lines) and
                  all(re.match(r"<2[0-3]>", l) for l in lines), lines)
            r = syslog_run("--syslog", "-q", "-d", db, "import", fresh_bad())
            check("--syslog -q: no warning sent", r and r[0] == 3 and
                  not r[2], r)
            open(conf, "w").write(f"[general]\ndatabase = {db}\n"
                                  "log = syslog\n")
            r = syslog_run("-c", conf, "-vv", "import", again)
            check("log = syslog -vv: debug lines are mail.debug",
                  r and any(re.match(r"<23>.*dmarcwatch\[\d+\]: debug: ",
                                     l) for l in r[2]) and
                  "debug" not in r[1], r)
            r = syslog_run("-d", db, "import", fresh_bad())
            check("without --syslog nothing is sent", r and not r[2] and
                  "dmarcwatch: warning: rejected" in r[1], r)

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
                  "unknown user refused", "user = root warns",
                  "database of root's refused"):
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

        # config check as root reads the secret file as fetch will:
        # as [general] user. Owned by root it passes root's eye but
        # fails after the drop; config check says so.
        write_conf("nobody")
        os.chown(pw, 0, 0)
        p = run("-c", conf, "config", "check")
        check("config check as root: a secret file the user does not own",
              p.returncode == 1 and f"password_file {pw} belongs to uid 0, "
              f"but fetch and watch read it as nobody (uid {nobody.pw_uid})"
              in p.stdout, p.stdout + p.stderr)
        os.chown(pw, nobody.pw_uid, nobody.pw_gid)
        p = run("-c", conf, "config", "check")
        check("config check as root: owned by the user, ok",
              p.returncode == 0, p.stdout + p.stderr)
        write_conf("no-such-user-dw")
        p = run("-c", conf, "config", "check")
        check("config check as root: a user not on this machine is a note",
              p.returncode == 0 and "note: [general] user 'no-such-user-dw' "
              "does not exist here" in p.stdout, p.stdout + p.stderr)

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

        # ---- the environment after the switch ----
        # A token_command runs as nobody with nobody's HOME, USER and
        # LOGNAME (it had root's HOME). A server that greets and refuses
        # everything else is enough: the token is read before the login.
        import socket
        import threading
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(2)
        sock_uids = []

        def sock_uid(port):
            """Owner of the client socket of port (/proc/net/tcp): who
            made the connection."""
            for line in open("/proc/net/tcp").read().splitlines()[1:]:
                f = line.split()
                if int(f[1].split(":")[1], 16) == port:
                    return int(f[7])
            return None

        def greet():
            for _ in range(2):
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                sock_uids.append(sock_uid(c.getpeername()[1]))
                f = c.makefile("rb")
                c.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] hi\r\n")
                for line in f:
                    tag = line.split(b" ", 1)[0]
                    if line.startswith(b"+") or not tag:
                        continue
                    c.sendall(tag + b" NO refused\r\n")
                    if b"AUTHENTICATE" in line.upper():
                        break
                f.close()   # the file object holds the socket open too
                c.shutdown(socket.SHUT_RDWR)
                c.close()
        th = threading.Thread(target=greet, daemon=True)
        th.start()
        envf = os.path.join(work, "env")
        open(conf, "w").write(
            f"[general]\ndatabase = {work}/t.db\nuser = nobody\n"
            f"[imap]\nhost = 127.0.0.1\nport = {srv.getsockname()[1]}\n"
            f"tls = none\nuser = x\nauth = xoauth2\n"
            f"token_command = env > {envf}; id -u >> {envf}; echo tok\n")
        os.chmod(conf, 0o644)
        env = dict(os.environ, HOME="/root", USER="root", LOGNAME="root")
        p = run("-c", conf, "fetch", env=env)
        srv.close()
        got = dict(l.split("=", 1) for l in open(envf).read().splitlines()
                   if "=" in l) if os.path.exists(envf) else {}
        ids = [l for l in open(envf).read().splitlines() if l.isdigit()] \
            if os.path.exists(envf) else []
        check("fetch: the connection is made by nobody (after the drop)",
              sock_uids == [nobody.pw_uid], sock_uids)
        check("token_command runs as nobody with nobody's HOME/USER/LOGNAME",
              ids == [str(nobody.pw_uid)] and
              got.get("HOME") == nobody.pw_dir and
              got.get("USER") == "nobody" and got.get("LOGNAME") == "nobody",
              (p.returncode, p.stderr[-500:], ids,
               {k: got.get(k) for k in ("HOME", "USER", "LOGNAME")}))

        # ---- a database the dropped user cannot write ----
        # Made by root (an import as root before): after the switch the
        # open fails with the owner and mode named, not SQLite's "attempt
        # to write a readonly database", and before any connection.
        sample = os.path.join(os.environ.get("DW_SAMPLES", os.path.join(
            os.path.dirname(__file__), "..", "..", "samples")), "reports",
            "gmx.net!example.com!1700265600!1700351999.xml")
        rdb = f"{work}/root.db"
        p = run("-d", rdb, "import", sample)
        check("root's import makes a root-owned database",
              p.returncode == 0 and os.stat(rdb).st_uid == 0, p.stderr)
        write_conf("nobody")
        text = open(conf).read()
        open(conf, "w").write(text.replace(f"{work}/t.db", rdb))
        for cmd in ("fetch", "watch"):
            try:
                p = run("-c", conf, cmd)
            except subprocess.TimeoutExpired as e:
                p = subprocess.CompletedProcess(e.cmd, -1, "", str(e.stderr))
            check(f"{cmd}: root's database refused with owner and mode",
                  p.returncode == 1 and
                  f"cannot write the database as nobody (uid "
                  f"{nobody.pw_uid}): it belongs to root (uid 0), mode 0644"
                  in p.stderr and "connect" not in p.stderr,
                  (p.returncode, p.stderr))
        # (SQLite itself gives root's -wal and -shm files the database's
        # owner, so chowning the database is enough.)
        os.chown(rdb, nobody.pw_uid, nobody.pw_gid)
        p = run("-c", conf, "fetch")
        check("fetch: once chowned, the database opens (then: no server)",
              p.returncode == 1 and "cannot connect" in p.stderr and
              "cannot write" not in p.stderr, p.stderr)
        # A directory of root's where the database is to be made.
        rootdir = os.path.join(tmp, "rootdir")
        os.mkdir(rootdir, 0o755)
        text = open(conf).read()
        open(conf, "w").write(text.replace(rdb, f"{rootdir}/new.db"))
        p = run("-c", conf, "fetch")
        check("fetch: root's directory refused with owner and mode",
              p.returncode == 1 and f"cannot create the database files in "
              f"{rootdir} as nobody (uid {nobody.pw_uid}): the directory "
              "belongs to root (uid 0), mode 0755" in p.stderr and
              not os.path.exists(f"{rootdir}/new.db"), p.stderr)
        # A read-only file system (what ProtectSystem=strict makes of a
        # path outside ReadWritePaths): a private mount namespace with
        # the directory bound read-only.
        rodir = os.path.join(tmp, "ro")
        os.mkdir(rodir, 0o755)
        q = subprocess.run(
            ["unshare", "-m", "sh", "-c",
             'mount --make-rprivate / && mount --bind "$1" "$1" && '
             'mount -o remount,bind,ro "$1" && shift && exec "$@"', "sh",
             rodir] + DW + ["-d", f"{rodir}/ro.db", "import", sample],
            capture_output=True, text=True, timeout=60)
        if "unshare failed" in q.stderr or "mount:" in q.stderr:
            print("ok - read-only file system named # SKIP no mount "
                  "namespace: " + q.stderr.strip()[:200])
        else:
            check("import: a read-only file system named",
                  q.returncode == 1 and "cannot create the database files "
                  f"in {rodir}: read-only file system" in q.stderr,
                  (q.returncode, q.stderr))

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
