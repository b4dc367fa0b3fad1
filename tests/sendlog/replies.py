"""Reads tests/sendlog/replies.txt (the reply classification cases) and
renders each case the way Postfix and KumoMTA log it. Used by
test_replies.py; tests/unit/test_replies.c reads the same file.
Python 3 standard library only."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "replies.txt")
SRC_IP = "198.51.100.10"


def load(path=CASES):
    cases, cur = [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            key, _, val = line.partition(" ")
            if key == "case":
                cur = {"id": val, "lines": [], "code": 0, "enh": "",
                       "only": None, "form": None, "line_no": n}
                cases.append(cur)
            elif cur is None:
                raise ValueError(f"{path}:{n}: field before a case")
            elif key == "domain":
                cur["domain"] = val
            elif key == "reply":
                parts = val.split()
                cur["code"] = int(parts[0])
                cur["enh"] = parts[1] if len(parts) > 1 else ""
            elif key == "line":
                cur["lines"].append(val)
            elif key == "expect":
                cur["expect"] = val
            elif key == "rule":
                cur["rule"] = val
            elif key == "only":
                cur["only"] = val
            elif key == "form":
                cur["form"] = val
            else:
                raise ValueError(f"{path}:{n}: unknown field {key}")
    for c in cases:
        for k in ("domain", "expect", "rule"):
            if k not in c:
                raise ValueError(f"case {c['id']}: no {k}")
    return cases


def status_of(c):
    if c["code"] >= 500:
        return "bounced"
    return "deferred"


def postfix_reply(c):
    """The reply text as Postfix logs it inside status=...(...)."""
    code, enh, lines = c["code"], c["enh"], c["lines"]
    host = f"mx.{c['domain']}[192.0.2.25]"
    if code == 0:
        return " ".join(lines)
    pre = f"{code}-{enh} " if enh else f"{code}-"
    last = f"{code} {enh} " if enh else f"{code} "
    flat = " ".join(pre + ln for ln in lines[:-1])
    flat = (flat + " " if flat else "") + last + lines[-1]
    if c["form"] == "greeting":
        return f"host {host} refused to talk to me: {flat}"
    return f"host {host} said: {flat} (in reply to end of DATA command)"


def postfix_line(c, when):
    """when: datetime (UTC)."""
    dsn = c["enh"] or (f"{c['code'] // 100}.0.0" if c["code"] else "4.4.1")
    if c["code"] == 0 and c["expect"] in ("internal",):
        dsn = "4.4.1"
    stamp = when.strftime("%b %e %H:%M:%S")
    qid = "4Bc1X3Kd1R" + c["id"].encode().hex()[:10].upper()
    return (f"{stamp} mx1 postfix/smtp[9121]: {qid}: "
            f"to=<bob@{c['domain']}>, relay=mx.{c['domain']}"
            f"[192.0.2.25]:25, delay=1.2, delays=0.1/0/0.4/0.7, "
            f"dsn={dsn}, status={status_of(c)} ({postfix_reply(c)})")


def kumomta_record(c, when):
    enh = None
    if c["enh"]:
        a, b, d = c["enh"].split(".")
        enh = {"class": int(a), "subject": int(b), "detail": int(d)}
    rec = {"type": "Bounce" if c["code"] >= 500 else "TransientFailure",
           "id": "k-" + c["id"], "sender": "news@example.com",
           "recipient": f"bob@{c['domain']}", "queue": c["domain"],
           "site": f"mx.{c['domain']}:25", "size": 1200,
           "response": {"code": c["code"], "enhanced_code": enh,
                        "content": "\n".join(c["lines"]), "command": None},
           "source_address": {"address": f"{SRC_IP}:0", "name": "ip-1"},
           "timestamp": int(when.timestamp())}
    return json.dumps(rec, separators=(",", ":"))
