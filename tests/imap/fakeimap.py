"""A canned-response IMAP server on 127.0.0.1 (plain text: dmarcwatch talks
to it with tls = none) for what a real server does not do: lie about sizes,
send malformed responses. One connection at a time, in a thread.

mode: 'huge-literal' - RFC822.SIZE says 100 bytes, the FETCH announces a
      3 GB literal and streams until the client hangs up (or 200 MB);
      'garbage' - the FETCH response is not IMAP;
      'bye' - the server hangs up in the middle of the FETCH;
      'store' - one good message (FakeImap(mode, message=bytes)) and a
      server with MOVE: the UID MOVE commands received are in .moves.
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
                out = f"{tag} OK LOGIN done\r\n"
            elif cmd == "CAPABILITY":
                caps = "IMAP4rev1 UIDPLUS" + (
                    " MOVE" if self.mode == "store" else "")
                out = f"* CAPABILITY {caps}\r\n{tag} OK done\r\n"
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
            conn.sendall(out.encode())

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
