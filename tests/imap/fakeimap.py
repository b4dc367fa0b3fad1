"""A canned-response IMAP server on 127.0.0.1 (plain text: dmarcwatch talks
to it with tls = none) for what a real server does not do: lie about sizes,
send malformed responses. One connection at a time, in a thread.

mode: 'huge-literal' - RFC822.SIZE says 100 bytes, the FETCH announces a
      3 GB literal and streams until the client hangs up (or 200 MB);
      'garbage' - the FETCH response is not IMAP;
      'bye' - the server hangs up in the middle of the FETCH;
      'idle-fail' - an empty INBOX, IDLE announced but refused with NO
      every time (watch must back off, not reconnect in a tight loop);
      'nomove' - one real message (message=), no MOVE nor UIDPLUS: COPY,
      then the first UID STORE \\Deleted hangs up (a crash between COPY
      and EXPUNGE, seen from the server); .copies counts the COPYs;
      'nostarttls' - (any mode, in fact) STARTTLS is not announced and
      answered NO; .starttls counts the attempts;
      'store' - one good message (FakeImap(mode, message=bytes)) and a
      server with MOVE: the UID MOVE commands received are in .moves.
.logins counts the LOGIN commands (one per connection of dmarcwatch).
"""
import socket
import threading

SEND_CAP = 200 * 1024 * 1024


class FakeImap:
    def __init__(self, mode, message=b""):
        self.mode = mode
        self.message = message
        self.moves = []          # 'store': UID MOVE argument lines
        self.sent = 0            # literal bytes sent
        self.logins = 0
        self.starttls = 0
        self.msg = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.copies = 0
        self.flagged = False
        self.expunged = False
        self.drop_store = 1
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.th = threading.Thread(target=self.serve, daemon=True)
        self.th.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.session(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def session(self, conn):
        f = conn.makefile("rb")
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1] fake ready\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            parts = line.decode(errors="replace").split(" ", 2)
            tag, cmd = parts[0], parts[1].strip().upper() if len(parts) > 1 else ""
            rest = parts[2] if len(parts) > 2 else ""
            if cmd == "LOGIN":
                self.logins += 1
                out = f"{tag} OK LOGIN done\r\n"
            elif cmd == "CAPABILITY":
                caps = {"idle-fail": "IMAP4rev1 UIDPLUS IDLE",
                        "nomove": "IMAP4rev1",
                        "store": "IMAP4rev1 UIDPLUS MOVE"}.get(self.mode,
                                                   "IMAP4rev1 UIDPLUS")
                out = f"* CAPABILITY {caps}\r\n{tag} OK done\r\n"
            elif cmd == "SELECT" and self.mode == "idle-fail":
                out = ("* 0 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\n"
                       f"* OK [UIDNEXT 1] n\r\n{tag} OK [READ-WRITE] done\r\n")
            elif self.mode == "nomove" and cmd in ("SELECT", "UID", "CREATE",
                                                    "EXPUNGE", "NOOP"):
                out = self.nomove(tag, cmd, rest)
                if out is None:
                    return          # hang up
            elif cmd == "STARTTLS":
                self.starttls += 1
                out = f"{tag} NO STARTTLS not here (fake)\r\n"
            elif cmd == "IDLE":
                out = f"{tag} NO IDLE refused (fake)\r\n"
            elif cmd == "CREATE":
                out = f"{tag} OK done\r\n"
            elif cmd == "UID" and rest.upper().startswith("MOVE"):
                self.moves.append(rest.strip())
                out = f"{tag} OK moved\r\n"
            elif cmd == "LIST":
                out = f'* LIST (\\Noselect) "/" ""\r\n{tag} OK done\r\n'
            elif cmd == "SELECT":
                out = ("* 1 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\n"
                       f"* OK [UIDNEXT 2] n\r\n{tag} OK [READ-WRITE] done\r\n")
            elif cmd == "LOGOUT":
                out = f"* BYE bye\r\n{tag} OK done\r\n"
            elif cmd == "UID" and "RFC822.SIZE" in rest.upper():
                size = len(self.message) if self.mode == "store" else 100
                out = (f"* 1 FETCH (UID 1 RFC822.SIZE {size})\r\n"
                       f"{tag} OK done\r\n")
            elif cmd == "UID" and "BODY" in rest.upper():
                self.fetch_body(conn, tag)
                if self.mode == "bye":
                    return
                continue
            else:
                out = f"{tag} NO not here\r\n"
            conn.sendall(out.encode("latin-1"))

    def nomove(self, tag, cmd, rest):
        """A server without MOVE and UIDPLUS holding one message, UID 1."""
        sub = rest.split(" ", 1)[0].upper() if cmd == "UID" else ""
        n = 0 if self.expunged else 1
        if cmd == "SELECT":
            return (f"* {n} EXISTS\r\n* OK [UIDVALIDITY 5] v\r\n"
                    f"* OK [UIDNEXT 2] n\r\n{tag} OK [READ-WRITE] done\r\n")
        if cmd in ("CREATE", "NOOP"):
            return f"{tag} OK done\r\n"
        if cmd == "EXPUNGE":
            out = ""
            if self.flagged and not self.expunged:
                self.expunged = True
                out = "* 1 EXPUNGE\r\n"
            return out + f"{tag} OK done\r\n"
        if sub == "FETCH" and n == 0:
            return f"{tag} OK done\r\n"
        if sub == "FETCH" and "RFC822.SIZE" in rest.upper():
            return (f"* 1 FETCH (UID 1 RFC822.SIZE {len(self.msg)})\r\n"
                    f"{tag} OK done\r\n")
        if sub == "FETCH":
            return (f"* 1 FETCH (UID 1 BODY[] {{{len(self.msg)}}}\r\n"
                    + self.msg.decode("latin-1") + f")\r\n{tag} OK done\r\n")
        if sub == "COPY":
            self.copies += 1
            return f"{tag} OK done\r\n"
        if sub == "STORE":
            if self.drop_store > 0:
                self.drop_store -= 1
                return None
            self.flagged = True
            return f"{tag} OK done\r\n"
        return f"{tag} NO not here\r\n"

    def fetch_body(self, conn, tag):
        if self.mode == "store":
            conn.sendall(f"* 1 FETCH (UID 1 BODY[] {{{len(self.message)}}}"
                         "\r\n".encode() + self.message +
                         f")\r\n{tag} OK done\r\n".encode())
            return
        if self.mode == "garbage":
            conn.sendall(b"* 1 FETCH (UID 1 BODY[] \x00\x01{{{ nonsense\r\n"
                         + f"{tag} OK done\r\n".encode())
            return
        if self.mode == "bye":
            conn.sendall(b"* 1 FETCH (UID 1 BODY[] {100}\r\nFrom: a")
            conn.shutdown(socket.SHUT_RDWR)
            return
        conn.sendall(b"* 1 FETCH (UID 1 BODY[] {3000000000}\r\n")
        chunk = b"x" * 65536
        while self.sent < SEND_CAP:
            conn.sendall(chunk)
            self.sent += len(chunk)

    def close(self):
        self.sock.close()
