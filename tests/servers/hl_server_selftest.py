#!/usr/bin/python3
"""Self-test of tests/servers/hl_server.py (stdlib only: a small blocking RFC 6455 client).

    /usr/bin/python3 tests/servers/hl_server_selftest.py [--verbose]

Starts four instances of the server on ephemeral ports of 127.0.0.1 and checks: ack formats
byte for byte against the fixtures (reordered candle keys, l2Book defaults, unsubscribe),
other normalizations, pong, error frames (parse error, invalid subscription, already
(un)subscribed), streams (channel, coin, tids, book shape, candle bounds, allMids), isSnapshot
first for userFills, the silent coin, unsubscribe stopping a stream, pause/resume, stats, the
idle close, the subscription / user / message-rate limits, post, `drop` (TCP RST), `close CODE`
and --drop-every.  Prints PASS/FAIL lines and ends with "selftest: N passed, N failed";
exit status 0 when everything passed.  Takes about 10 s.
"""

import base64
import json
import os
import queue
import re
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "hl_server.py")
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(os.path.dirname(REPO), "shared", "fixtures", "hl")
PARSE = "Error parsing JSON into valid websocket request: "
USER1 = "0x" + "Ab" * 20
VERBOSE = "--verbose" in sys.argv
# The server needs Debian's python3-websockets, i.e. the system interpreter.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

RESULTS = {"pass": 0, "fail": 0}
RESULTS_LOCK = threading.Lock()


def check(name, ok, why=""):
    with RESULTS_LOCK:
        if ok:
            RESULTS["pass"] += 1
            print(f"PASS {name}", flush=True)
        else:
            RESULTS["fail"] += 1
            print(f"FAIL {name}: {why}", flush=True)
    return ok


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read().decode("utf-8")


def sub_msg(sub, method="subscribe"):
    return json.dumps({"method": method, "subscription": sub}, separators=(",", ":"))


# --------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------

class Server:
    def __init__(self, *args):
        cmd = [PYTHON, SERVER, "--port", "0", "--seed", "7"] + list(args)
        if VERBOSE:
            cmd.append("--verbose")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=None if VERBOSE else subprocess.DEVNULL)
        self.lines = queue.Queue()
        line = self.proc.stdout.readline().decode()
        m = re.match(r"READY (\d+)$", line.strip())
        if not m:
            raise RuntimeError(f"server did not start: {line!r}")
        self.port = int(m.group(1))
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode().rstrip("\n"))

    def ctl(self, command, timeout=3.0):
        """Send one control line, return the reply line."""
        self.proc.stdin.write((command + "\n").encode())
        self.proc.stdin.flush()
        return self.lines.get(timeout=timeout)

    def stats(self):
        m = re.match(r"STATS conns=(\d+) subs=(\d+) msgs_sent=(\d+)", self.ctl("stats"))
        return tuple(int(x) for x in m.groups()) if m else None

    def stop(self):
        self.proc.stdin.close()  # EOF = exit
        try:
            return self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


# --------------------------------------------------------------------------
# Minimal WebSocket client
# --------------------------------------------------------------------------

class CloseFrame(Exception):
    def __init__(self, code, reason):
        super().__init__(f"close {code} {reason!r}")
        self.code, self.reason = code, reason


class Eof(Exception):
    pass


class Client:
    def __init__(self, port, path="/ws"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Eof("handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head.decode(errors="replace"))
        self.log = []  # every text message received, in order

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self.send_frame(1, text.encode())

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Eof("connection closed without a close frame")
            self.buf += chunk

    def recv_frame(self, timeout):
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, pos = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, pos = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(pos + n, deadline)
        payload, self.buf = self.buf[pos:pos + n], self.buf[pos + n:]
        return b0 & 0x0F, payload

    def recv(self, timeout=3.0):
        """Next text message (str); raises CloseFrame, socket.timeout, Eof, ConnectionResetError."""
        deadline = time.monotonic() + timeout
        while True:
            opcode, payload = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if opcode == 1:
                text = payload.decode()
                self.log.append(text)
                return text
            if opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                try:
                    self.send_frame(8, payload[:2])
                except OSError:
                    pass
                raise CloseFrame(code, payload[2:].decode(errors="replace"))
            if opcode == 9:
                self.send_frame(10, payload)

    def until(self, pred, timeout=3.0):
        """Read until pred(parsed message) holds; return (raw, parsed) or (None, None)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, None
            try:
                raw = self.recv(left)
            except socket.timeout:
                return None, None
            msg = json.loads(raw)
            if pred(msg):
                return raw, msg

    def control(self, timeout=3.0):
        """Next subscriptionResponse / error / pong / post message (data pushes are skipped)."""
        return self.until(lambda m: m.get("channel") in
                          ("subscriptionResponse", "error", "pong", "post"), timeout)

    def collect(self, seconds):
        out, deadline = [], time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                out.append(json.loads(self.recv(left)))
            except socket.timeout:
                return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

def test_acks(srv):
    c = Client(srv.port)
    c.send(fixture("req_subscribe_trades.json"))
    raw, _ = c.control()
    check("ack trades == subscriptionResponse.json", raw == fixture("subscriptionResponse.json"),
          raw)
    c.send(sub_msg({"type": "candle", "coin": "HYPE", "interval": "1d"}))
    raw, _ = c.control()
    check("ack candle reorders keys (== subscriptionResponse_candle.json)",
          raw == fixture("subscriptionResponse_candle.json"), raw)
    c.send(sub_msg({"type": "l2Book", "coin": "HYPE"}))
    raw, _ = c.control()
    check("ack l2Book adds nSigFigs/mantissa null (== subscriptionResponse_l2Book.json)",
          raw == fixture("subscriptionResponse_l2Book.json"), raw)
    c.send(sub_msg({"type": "userFills", "user": USER1}))
    raw, _ = c.control()
    want = ('{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":'
            '{"type":"userFills","user":"%s","aggregateByTime":false}}}' % USER1.lower())
    check("ack userFills adds aggregateByTime, lowercases user", raw == want, raw)
    c.send(sub_msg({"type": "trades", "coin": "ETH", "extra": 1}))
    raw, msg = c.control()
    check("ack drops unknown keys",
          msg and msg["data"]["subscription"] == {"type": "trades", "coin": "ETH"}, raw)
    c.send(fixture("req_subscribe_l2Book.json"))
    raw, msg = c.control()
    check("ack l2Book keeps nSigFigs 5 mantissa 2",
          msg and list(msg["data"]["subscription"].items()) ==
          [("type", "l2Book"), ("coin", "BTC"), ("nSigFigs", 5), ("mantissa", 2)], raw)
    c.send(fixture("req_ping.json"))
    raw, _ = c.control()
    check("ping -> pong.json", raw == fixture("pong.json"), raw)
    c.send(fixture("req_subscribe_trades.json"))
    raw, msg = c.control()
    check("duplicate subscribe -> Already subscribed",
          msg == {"channel": "error",
                  "data": 'Already subscribed: {"type":"trades","coin":"SOL"}'}, raw)
    c.send('{ "type": "allMids" }')
    raw, _ = c.control()
    check("request without method -> error.json", raw == fixture("error.json"), raw)
    bad = '{"method":"subscribe","subscription":{"type":"noSuchFeed","coin":"BTC"}}'
    c.send(bad)
    raw, msg = c.control()
    check("unknown subscription type -> parse error",
          msg == {"channel": "error", "data": PARSE + bad}, raw)
    c.send("not json{")
    raw, msg = c.control()
    check("malformed JSON -> parse error",
          msg == {"channel": "error", "data": PARSE + "not json{"}, raw)
    c.send(sub_msg({"type": "l2Book", "coin": "BTC", "nSigFigs": 7}))
    raw, msg = c.control()
    check("nSigFigs 7 -> Invalid subscription",
          msg == {"channel": "error",
                  "data": 'Invalid subscription {"type":"l2Book","coin":"BTC","nSigFigs":7}'},
          raw)
    c.send(fixture("req_unsubscribe_trades.json"))
    raw, _ = c.control()
    check("unsubscribe ack == subscriptionResponse_unsubscribe.json",
          raw == fixture("subscriptionResponse_unsubscribe.json"), raw)
    c.send(fixture("req_unsubscribe_trades.json"))
    raw, msg = c.control()
    check("second unsubscribe -> Already unsubscribed",
          msg == {"channel": "error",
                  "data": 'Already unsubscribed: {"type":"trades","coin":"SOL"}'}, raw)
    c.send('{"method":"post","id":7,"request":{"type":"info","payload":'
           '{"type":"l2Book","coin":"BTC"}}}')
    raw, msg = c.control()
    check("post info l2Book -> post reply with id",
          msg and msg["channel"] == "post" and msg["data"]["id"] == 7
          and msg["data"]["response"]["payload"]["data"]["coin"] == "BTC", raw)
    c.close()


def is_desc(pxs):
    return all(a > b for a, b in zip(pxs, pxs[1:]))


def test_streams(srv):
    c = Client(srv.port)
    subs = [{"type": "trades", "coin": "BTC"}, {"type": "l2Book", "coin": "ETH"},
            {"type": "bbo", "coin": "HYPE"}, {"type": "candle", "coin": "SOL", "interval": "1m"},
            {"type": "allMids"}, {"type": "userFills", "user": USER1},
            {"type": "trades", "coin": "DOGE"}, {"type": "l2Book", "coin": "DOGE"}]
    for s in subs:
        c.send(sub_msg(s))
    msgs = c.collect(1.5)
    acks = [m for m in msgs if m.get("channel") == "subscriptionResponse"]
    check("streams: 8 acks incl. the silent coin", len(acks) == 8, f"{len(acks)} acks")
    by = {}
    for m in msgs:
        by.setdefault(m["channel"], []).append(m)
    order = [m["channel"] for m in msgs]
    for s in subs[:6]:
        ch = s["type"]
        ack_at = next((i for i, m in enumerate(msgs) if m["channel"] == "subscriptionResponse"
                       and m["data"]["subscription"]["type"] == ch), None)
        first_at = order.index(ch) if ch in order else None
        check(f"stream {ch}: data arrives after its ack",
              ack_at is not None and first_at is not None and ack_at < first_at,
              f"ack at {ack_at}, first data at {first_at}")

    trades = [t for m in by.get("trades", []) for t in m["data"]]
    tids = [t["tid"] for t in trades]
    check("trades: coin BTC, string px/sz, increasing tids",
          trades and all(t["coin"] == "BTC" and isinstance(t["px"], str) and
                         float(t["px"]) > 0 and isinstance(t["sz"], str) for t in trades)
          and all(a < b for a, b in zip(tids, tids[1:]))
          and list(trades[0]) == ["coin", "side", "px", "sz", "time", "hash", "tid", "users"],
          f"{len(trades)} trades, tids {tids[:5]}")
    t_ms = int(time.time() * 1000)
    check("trades: time in ms near now",
          trades and all(abs(t["time"] - t_ms) < 10000 for t in trades), "")

    books = by.get("l2Book", [])
    ok = bool(books)
    why = f"{len(books)} books"
    for b in books:
        d = b["data"]
        bids = [float(x["px"]) for x in d["levels"][0]]
        asks = [float(x["px"]) for x in d["levels"][1]]
        if not (d["coin"] == "ETH" and len(bids) == 20 and len(asks) == 20 and is_desc(bids)
                and is_desc(asks[::-1]) and bids[0] < asks[0] and isinstance(d["time"], int)):
            ok, why = False, json.dumps(d)[:300]
    check("l2Book: ETH full 20x20 snapshots, sorted, not crossed", ok, why)

    bbos = by.get("bbo", [])
    check("bbo: coin HYPE, bid < ask",
          bbos and all(m["data"]["coin"] == "HYPE" and len(m["data"]["bbo"]) == 2 and
                       float(m["data"]["bbo"][0]["px"]) < float(m["data"]["bbo"][1]["px"])
                       for m in bbos), json.dumps(bbos[:1]))

    candles = by.get("candle", [])
    check("candle: one object, s SOL, i 1m, t/T bounds",
          candles and all(isinstance(m["data"], dict) and m["data"]["s"] == "SOL" and
                          m["data"]["i"] == "1m" and m["data"]["t"] % 60000 == 0 and
                          m["data"]["T"] == m["data"]["t"] + 59999 for m in candles),
          json.dumps(candles[:1]))

    mids = by.get("allMids", [])
    check("allMids: mids map with BTC and HYPE",
          mids and all("BTC" in m["data"]["mids"] and "HYPE" in m["data"]["mids"]
                       for m in mids), json.dumps(mids[:1])[:200])

    fills = by.get("userFills", [])
    check("userFills: first push isSnapshot:true with 3 fills, user lowercased",
          fills and fills[0]["data"].get("isSnapshot") is True
          and fills[0]["data"]["user"] == USER1.lower()
          and len(fills[0]["data"]["fills"]) == 3, json.dumps(fills[:1])[:300])
    check("userFills: later pushes are not snapshots",
          len(fills) >= 2 and all("isSnapshot" not in m["data"] for m in fills[1:]),
          f"{len(fills)} pushes")

    doge = [m for m in msgs if m["channel"] != "subscriptionResponse" and "DOGE" in json.dumps(
        m["data"] if m["channel"] != "allMids" else {})]
    check("silent coin DOGE: acked but no data", not doge, json.dumps(doge[:1]))

    c.send(sub_msg({"type": "trades", "coin": "BTC"}, "unsubscribe"))
    raw, _ = c.until(lambda m: m["channel"] == "subscriptionResponse")
    after = c.collect(0.6)
    check("unsubscribe stops the stream",
          raw is not None and not [m for m in after if m["channel"] == "trades"],
          f"{len([m for m in after if m['channel'] == 'trades'])} trades after the ack")

    check("control: pause", srv.ctl("pause") == "OK pause")
    c.collect(0.2)
    quiet = c.collect(0.8)
    c.send('{"method":"ping"}')
    raw, _ = c.control()
    check("pause: no data while paused, ping still answered",
          not quiet and raw == '{"channel":"pong"}', f"{len(quiet)} msgs, {raw}")
    check("control: resume", srv.ctl("resume") == "OK resume")
    resumed = c.collect(0.8)
    check("resume: data flows again", any(m["channel"] == "l2Book" for m in resumed),
          f"{[m['channel'] for m in resumed]}")

    st = srv.stats()
    check("stats: conns/subs/msgs_sent", st is not None and st[0] >= 1 and st[1] >= 7
          and st[2] > 20, str(st))
    c.close()


def test_drop_and_close(srv):
    c = Client(srv.port)
    c.send('{"method":"ping"}')
    c.control()
    reply = srv.ctl("drop")
    err = None
    try:
        while True:
            c.recv(3.0)
    except Exception as exc:  # noqa: BLE001 - any ending is classified below
        err = exc
    check("drop: OK reply", reply.startswith("OK drop conns="), reply)
    check("drop: connection reset (TCP RST)", isinstance(err, ConnectionResetError), repr(err))
    c.close()

    c = Client(srv.port)
    c.send('{"method":"ping"}')
    c.control()
    reply = srv.ctl("close 4001 bye now")
    err = None
    try:
        while True:
            c.recv(3.0)
    except Exception as exc:  # noqa: BLE001
        err = exc
    check("close CODE: close frame 4001 'bye now'",
          isinstance(err, CloseFrame) and err.code == 4001 and err.reason == "bye now",
          repr(err))
    c.close()
    check("control: unknown command", srv.ctl("frobnicate").startswith("ERROR"))


def idle_checks(port, results):
    """Run in a thread: one silent connection, one that pings every 0.5 s (timeout is 2 s)."""
    try:
        quiet, busy = Client(port), Client(port)
        start = time.monotonic()
        err = None
        pongs = 0
        while time.monotonic() - start < 3.2:
            busy.send('{"method":"ping"}')
            raw, _ = busy.control(2.0)
            pongs += raw == '{"channel":"pong"}'
            time.sleep(0.5)
        try:
            quiet.recv(3.0)
        except Exception as exc:  # noqa: BLE001
            err = exc
        results["busy"] = pongs
        results["quiet"] = err
        busy.close()
        quiet.close()
    except Exception as exc:  # noqa: BLE001
        results["error"] = repr(exc)


def test_limits(srv):
    c = Client(srv.port)
    users = ["0x%040x" % (i + 1) for i in range(11)]
    for u in users:
        c.send(sub_msg({"type": "userEvents", "user": u}))
    replies = [c.control()[1] for _ in users]
    ok10 = all(r and r["channel"] == "subscriptionResponse" for r in replies[:10])
    check("10 users acked, 11th refused: Cannot track more than 10 total users.",
          ok10 and replies[10] == {"channel": "error",
                                   "data": "Cannot track more than 10 total users."},
          json.dumps(replies[10]))
    c.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and srv.stats()[1] != 0:
        time.sleep(0.05)

    c = Client(srv.port)
    for i in range(1000):
        c.send(sub_msg({"type": "trades", "coin": f"C{i}"}))
    acks = 0
    while acks < 1000:
        raw, msg = c.until(lambda m: m["channel"] in ("subscriptionResponse", "error"), 5.0)
        if msg is None or msg["channel"] != "subscriptionResponse":
            break
        acks += 1
    check("1000 subscriptions acked", acks == 1000, f"{acks} acks, then {raw}")
    check("stats: subs=1000", srv.stats()[1] == 1000)
    c.send(sub_msg({"type": "trades", "coin": "C1000"}))
    raw, msg = c.until(lambda m: m["channel"] in ("subscriptionResponse", "error"), 3.0)
    check("1001st: Cannot subscribe to more than 1000 channels., no ack",
          msg == {"channel": "error", "data": "Cannot subscribe to more than 1000 channels."},
          raw)
    c.send(sub_msg({"type": "trades", "coin": "C0"}, "unsubscribe"))
    c.send(sub_msg({"type": "trades", "coin": "C1000"}))
    r1 = c.until(lambda m: m["channel"] in ("subscriptionResponse", "error"), 3.0)[1]
    r2 = c.until(lambda m: m["channel"] in ("subscriptionResponse", "error"), 3.0)[1]
    check("after an unsubscribe there is room again",
          r1 and r1["channel"] == "subscriptionResponse" and r1["data"]["method"] == "unsubscribe"
          and r2 and r2["channel"] == "subscriptionResponse"
          and r2["data"]["subscription"]["coin"] == "C1000", f"{r1} {r2}")
    got = c.collect(1.0)
    check("1000 subscriptions stream", sum(m["channel"] == "trades" for m in got) > 50,
          f"{len(got)} msgs")
    c.close()


def test_msg_rate(srv):
    c = Client(srv.port)
    for _ in range(6):
        c.send('{"method":"ping"}')
    replies = [c.control()[1] for _ in range(6)]
    check("message limit: 5 pongs then Cannot send more than 5 messages per minute.",
          replies[:5] == [{"channel": "pong"}] * 5 and replies[5] ==
          {"channel": "error", "data": "Cannot send more than 5 messages per minute."},
          json.dumps(replies))
    c.close()


def test_drop_every(srv):
    c = Client(srv.port)
    err = None
    try:
        while True:
            c.recv(4.0)
    except Exception as exc:  # noqa: BLE001
        err = exc
    check("--drop-every: connection reset", isinstance(err, ConnectionResetError), repr(err))
    c.close()
    c = Client(srv.port)
    c.send('{"method":"ping"}')
    raw, _ = c.control()
    check("--drop-every: reconnect works", raw == '{"channel":"pong"}', raw)
    c.close()


def main():
    started = time.monotonic()
    servers = []
    try:
        a = Server("--idle-timeout", "2", "--rate", "20", "--book-interval", "0.25",
                   "--mids-interval", "0.25", "--user-interval", "0.25",
                   "--snapshot-fills", "3", "--silent-coin", "DOGE")
        servers.append(a)
        b = Server("--rate", "2")
        servers.append(b)
        cc = Server("--max-msgs-per-min", "5")
        servers.append(cc)
        d = Server("--drop-every", "1")
        servers.append(d)

        idle = {}
        idle_thread = threading.Thread(target=idle_checks, args=(a.port, idle))
        idle_thread.start()

        test_acks(a)
        test_streams(a)
        test_drop_and_close(a)
        test_limits(b)
        test_msg_rate(cc)
        test_drop_every(d)

        idle_thread.join()
        q = idle.get("quiet")
        check("idle: silent connection closed with 1000 and no reason",
              isinstance(q, CloseFrame) and q.code == 1000 and q.reason == "",
              repr(q) + " " + idle.get("error", ""))
        check("idle: a pinging connection stays open past the timeout",
              idle.get("busy", 0) >= 6, f"{idle.get('busy')} pongs")
    except Exception as exc:  # noqa: BLE001
        check("selftest ran to the end", False, repr(exc))
    finally:
        for s in servers:
            rc = s.stop()
            check(f"server on port {s.port} exits at stdin EOF", rc == 0, f"rc {rc}")
    elapsed = time.monotonic() - started
    print(f"selftest: {RESULTS['pass']} passed, {RESULTS['fail']} failed ({elapsed:.1f} s)")
    return 1 if RESULTS["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
