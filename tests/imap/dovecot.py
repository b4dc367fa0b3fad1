"""A throw-away Dovecot for the IMAP tests and bench/imap.sh.

Everything lives in one temp dir: a CA and server certificates made with
the openssl CLI, dovecot.conf, a passwd-file, Maildirs, logs. Dovecot
listens on 127.0.0.1 on free ports: IMAPS (implicit TLS) and IMAP with
STARTTLS. Python standard library only.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

SKIP = 77
PASSWORD = "s3cret-pw"   # test account only


def find_dovecot():
    for p in ("/usr/sbin/dovecot", shutil.which("dovecot") or ""):
        if p and os.access(p, os.X_OK):
            return p
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, f"{name}.pem")


def make_cert(d, ca, name, dns, ip=None):
    """A server certificate for dns (and ip) signed by ca."""
    san = f"DNS:{dns}" + (f",IP:{ip}" if ip else "")
    open(os.path.join(d, f"{name}.ext"), "w").write(
        f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n"
        "basicConstraints=CA:FALSE\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={dns}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem",
            "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
            "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def make_chain(d, depth, dns="localhost"):
    """A CA, depth intermediates each signed by the one before, and a
    server certificate for dns signed by the last (EC keys: quick).
    Returns (ca_pem, chain_pem, key): chain_pem holds the server
    certificate and the intermediates, depth + 1 certificates."""
    def key(name):
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", f"{name}.key", cwd=d)

    def sign(name, issuer, ext):
        open(os.path.join(d, f"{name}.ext"), "w").write(ext)
        openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}",
                "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem",
                "-CAkey", f"{issuer}.key", "-CAcreateserial", "-days", "2",
                "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)

    ca_ext = ("basicConstraints=critical,CA:TRUE\n"
              "keyUsage=critical,keyCertSign,cRLSign\n")
    key("chainca")
    openssl("req", "-x509", "-key", "chainca.key", "-days", "2", "-subj",
            "/CN=chainca", "-out", "chainca.pem", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    issuer = "chainca"
    names = []
    for i in range(depth):
        name = f"chainint{i}"
        key(name)
        sign(name, issuer, ca_ext)
        names.append(name)
        issuer = name
    key("chainsrv")
    sign("chainsrv", issuer, f"subjectAltName=DNS:{dns}\n"
         "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    chain = os.path.join(d, "chain.pem")
    with open(chain, "w") as out:
        for n in ["chainsrv"] + names[::-1]:
            out.write(open(os.path.join(d, f"{n}.pem")).read())
    return (os.path.join(d, "chainca.pem"), chain,
            os.path.join(d, "chainsrv.key"))


CONF = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 0
first_valid_gid = 0
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{d}/mail/%u
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
# xoauth2: Dovecot checks the token against the passdb like a password
# (no OAuth2 server needed), enough to test dmarcwatch's side of it.
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
mail_max_userip_connections = 50
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {sport}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


class Dovecot:
    """Start with .start(); .stop() / .restart(). Ports stay the same."""

    def __init__(self, tmp, user="reports", users=(), extra="", name="dovecot",
                 pki_from=None):
        """extra: more dovecot.conf lines; pki_from: another instance
        whose CA and certificates to reuse (saves the key generation)."""
        self.exe = find_dovecot()
        self.d = os.path.join(tmp, name)
        self.extra = extra
        self.user = user
        self.port = free_port()
        self.sport = free_port()
        self.proc = None
        if self.exe is None:
            return
        d = self.d
        for sub in ("run", "state", "mail", "home", "pki"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        # dovenull / dovecot must reach the config, certs and sockets.
        p = d
        while p not in ("/", ""):
            os.chmod(p, os.stat(p).st_mode | 0o011)
            p = os.path.dirname(p)
        # Dovecot refuses uid 0 for mail: as root, mail belongs to nobody.
        self.uid, self.gid = os.getuid(), os.getgid()
        if self.uid == 0:
            import pwd
            nb = pwd.getpwnam("nobody")
            self.uid, self.gid = nb.pw_uid, nb.pw_gid
            for sub in ("mail", "home"):
                os.chown(os.path.join(d, sub), self.uid, self.gid)
        pki = os.path.join(d, "pki")
        if pki_from is not None:
            self.ca, self.other_ca = pki_from.ca, pki_from.other_ca
            self.cert, self.key = pki_from.cert, pki_from.key
        else:
            self.ca = make_ca(pki, "testca")
            self.other_ca = make_ca(pki, "otherca")
            # For "localhost" only: connecting as 127.0.0.1 is a name
            # mismatch.
            self.cert, self.key = make_cert(pki, "testca", "server",
                                            "localhost")
        self.passwd = os.path.join(d, "passwd")
        # All users up front: Dovecot's auth process does not reliably
        # notice a passwd-file that changes under it.
        open(self.passwd, "w").write("".join(
            f"{u}:{{PLAIN}}{PASSWORD}\n" for u in (user,) + tuple(users)))
        self.conf = os.path.join(d, "dovecot.conf")
        self.write_conf(self.cert, self.key)

    def write_conf(self, cert, key):
        open(self.conf, "w").write(CONF.format(
            d=self.d, uid=self.uid, gid=self.gid, cert=cert, key=key,
            port=self.port, sport=self.sport) + self.extra + "\n")

    def available(self):
        return self.exe is not None

    def start(self):
        # Its own process group: stop() ends the sessions too, like a
        # real server crash (logged-in imap processes outlive the master).
        self.proc = subprocess.Popen([self.exe, "-F", "-c", self.conf],
                                     start_new_session=True,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.d, "stderr.log"), "ab"))
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: " + self.log_tail())
            try:
                socket.create_connection(("127.0.0.1", self.sport), 0.5).close()
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not listen: " + self.log_tail())

    def stop(self):
        if self.proc is not None:
            # SIGTERM to the whole group, as systemctl stop does to the
            # service's cgroup: sessions end at a safe point.
            pgid = self.proc.pid
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            deadline = time.time() + 5
            while time.time() < deadline:
                try:
                    os.killpg(pgid, 0)
                    time.sleep(0.05)
                except ProcessLookupError:
                    break
            else:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        # Dovecot's children linger a moment after the master exits.
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.sport), 0.2).close()
                time.sleep(0.1)
            except OSError:
                break

    def restart(self):
        self.stop()
        self.start()

    def log_tail(self):
        out = ""
        for f in ("dovecot.log", "stderr.log"):
            p = os.path.join(self.d, f)
            if os.path.exists(p):
                out += open(p, errors="replace").read()[-2000:]
        return out

    def deliver(self, user, msgs):
        """Drops messages into the user's Maildir INBOX (new/): much faster
        than APPEND for thousands; Dovecot assigns UIDs on next SELECT."""
        root = os.path.join(self.d, "mail", user)
        for sub in ("", "new", "cur", "tmp"):
            p = os.path.join(root, sub)
            os.makedirs(p, exist_ok=True)
            os.chown(p, self.uid, self.gid)
        host = socket.gethostname()
        t = int(time.time())
        for i, m in enumerate(msgs):
            name = f"{t}.M{i}P{os.getpid()}.{host}"
            tmp = os.path.join(root, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(m.replace(b"\r\n", b"\n"))
            os.chown(tmp, self.uid, self.gid)
            os.rename(tmp, os.path.join(root, "new", name))

    def counts(self, user):
        """{folder: messages} over every folder of user."""
        c = self.imap(user)
        out = {}
        typ, lines = c.list()
        for line in lines or []:
            name = line.decode().rsplit(' "/" ', 1)[1].strip('"')
            if b"\\Noselect" in line:
                continue
            typ, n = c.select(f'"{name}"', readonly=True)
            out[name] = int(n[0])
        c.logout()
        return out

    def imap(self, user=None):
        """A logged-in imaplib connection (IMAPS, our CA)."""
        import imaplib
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca)
        c = imaplib.IMAP4_SSL("localhost", self.sport, ssl_context=ctx)
        c.login(user or self.user, PASSWORD)
        return c

    def config(self, **over):
        """dmarcwatch.conf text for this server; over replaces keys."""
        pwfile = os.path.join(self.d, "client-password")
        if not os.path.exists(pwfile):
            open(pwfile, "w").write(PASSWORD + "\n")
            os.chmod(pwfile, 0o600)
        keys = {"host": "localhost", "port": str(self.sport),
                "tls": "implicit", "ca_file": self.ca,
                "password_file": pwfile, "folders": "INBOX",
                "user": over.pop("user", self.user),
                "archive_folder": "dmarcwatch", "batch": "50",
                "poll_interval": "2"}
        keys.update(over)
        # fetch/watch drop root to [general] user (default dmarcwatch, which
        # a CI machine lacks); as root the tests keep root explicitly.
        general = "[general]\nuser = root\n\n" if os.geteuid() == 0 else ""
        return general + "[imap]\n" + "".join(
            f"{k} = {v}\n" for k, v in keys.items() if v is not None)
