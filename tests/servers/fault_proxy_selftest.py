#!/usr/bin/python3
"""Self-check of tests/servers/fault_proxy.py (stdlib only).

Starts an echo server (in this process, one thread per connection), runs the
proxy in front of it as a child process, exactly as a C test would, and checks
every control command with plain blocking sockets.  Each check prints
"PASS name" or "FAIL name: why"; the last line is
"selftest: N passed, N failed".  Exit status 0 when everything passed.

Usage: /usr/bin/python3 tests/servers/fault_proxy_selftest.py [--verbose]

Timing checks use generous bounds (the slow mode must take at least 60% of
its nominal time; the flood must reach 10,000 messages of 300 bytes per
second echoed both ways through the proxy); the measured figures are printed.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "fault_proxy.py")


# ---------------------------------------------------------------- echo server
class EchoServer:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(c,), daemon=True).start()

    @staticmethod
    def echo(c):
        try:
            while True:
                data = c.recv(262144)
                if not data:
                    c.shutdown(socket.SHUT_WR)
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()


# ---------------------------------------------------------------- helpers
class Proxy:
    def __init__(self, target_port, verbose):
        cmd = [sys.executable, PROXY, "--target", "127.0.0.1:%d" % target_port]
        if verbose:
            cmd.append("--verbose")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        parts = line.split()
        if len(parts) != 3 or parts[0] != "READY":
            raise RuntimeError("bad READY line %r" % line)
        self.port, self.ctl_port = int(parts[1]), int(parts[2])
        self.ctl = socket.create_connection(("127.0.0.1", self.ctl_port))
        self.ctl_file = self.ctl.makefile("rb")

    def cmd(self, text):
        """One command over the persistent control connection; returns the reply line."""
        self.ctl.sendall(text.encode() + b"\n")
        return self.ctl_file.readline().decode().rstrip("\n")

    def ok(self, text):
        r = self.cmd(text)
        if not r.startswith("OK"):
            raise AssertionError("%r -> %r" % (text, r))
        return r

    def stats(self):
        r = self.ok("stats").split()[1:]
        return {k: int(v) for k, v in (w.split("=") for w in r)}

    def connect(self, timeout=5.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def stop(self):
        try:
            self.ctl_file.close()
            self.ctl.close()
        except OSError:
            pass
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()


def recv_exact(s, n, timeout=5.0):
    s.settimeout(timeout)
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise AssertionError("EOF after %d of %d bytes" % (len(buf), n))
        buf += d
    return bytes(buf)


def recv_all(s, timeout=5.0):
    """Everything until EOF."""
    s.settimeout(timeout)
    buf = bytearray()
    while True:
        d = s.recv(65536)
        if not d:
            return bytes(buf)
        buf += d


def nothing_within(s, seconds):
    """True when no byte and no EOF/reset arrives within `seconds`."""
    s.settimeout(seconds)
    try:
        d = s.recv(1)
    except socket.timeout:
        return True
    except OSError as e:
        raise AssertionError("connection failed while stalled: %s" % e)
    raise AssertionError("got %r while stalled" % d)


def echo_ok(s, data):
    s.sendall(data)
    got = recv_exact(s, len(data))
    if got != data:
        raise AssertionError("echo mismatch")


def wait_for(pred, seconds=3.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


# ---------------------------------------------------------------- checks
def check_control(px):
    assert px.cmd("help").startswith("OK ")
    for bad in ("bogus", "slow abc", "slow", "corrupt -1", "stall sideways", "", "garbage 3 256",
                "close_after x", "pass now"):
        r = px.cmd(bad)
        assert r.startswith("ERR "), "%r -> %r" % (bad, r)
    # one-shot connection: two commands, CRLF, then shut down writing: both replies arrive
    c = socket.create_connection(("127.0.0.1", px.ctl_port), timeout=5)
    c.sendall(b"slow 1234\r\nmode\r\n")
    c.shutdown(socket.SHUT_WR)
    lines = recv_all(c).decode().splitlines()
    c.close()
    assert lines == ["OK slow 1234",
                     "OK refuse=0 stall=off slow=1234 corrupt=0 close_after=off"], lines
    px.ok("pass")
    assert px.cmd("mode") == "OK refuse=0 stall=off slow=0 corrupt=0 close_after=off"


def check_pass_halfclose(px):
    s = px.connect()
    data = os.urandom(200000)
    t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    t.start()
    got = recv_all(s)
    t.join()
    s.close()
    assert got == data, "echo through the proxy differs (%d of %d bytes)" % (len(got), len(data))


def check_refuse(px):
    old = px.connect()
    echo_ok(old, b"before")
    px.ok("refuse")
    # The kernel completes the handshake, then the proxy accepts and resets: the reset may
    # already be there when connect() looks at the socket's error, or come at the first recv.
    t0 = time.monotonic()
    try:
        s = px.connect()
        s.settimeout(3)
        try:
            d = s.recv(10)
            assert d == b"", "got data from a refused connection"
            how = "EOF"
        except ConnectionResetError:
            how = "reset"
        s.close()
    except ConnectionResetError:
        how = "reset"
    dt = time.monotonic() - t0
    assert dt < 1.0, "refusal took %.2f s" % dt
    assert how == "reset", "refused connection ended with %s, not a reset" % how
    echo_ok(old, b"still up")   # existing connections unaffected
    px.ok("pass")
    s = px.connect()
    echo_ok(s, b"after pass")
    s.close()
    old.close()


def check_stall_drop(px):
    a = px.connect()
    echo_ok(a, b"a0")
    assert px.ok("stall") == "OK stall drop"
    a.sendall(b"dropped-a")
    b = px.connect()            # a new connection is stalled too
    b.sendall(b"dropped-b")
    assert nothing_within(a, 0.5)
    assert nothing_within(b, 0.05)
    px.ok("pass")
    echo_ok(a, b"a2")           # what was sent while stalled never arrives
    echo_ok(b, b"b2")
    for s in (a, b):
        assert nothing_within(s, 0.1)
        s.close()


def check_stall_hold(px):
    a = px.connect()
    echo_ok(a, b"x")
    px.ok("stall hold")
    a.sendall(b"held bytes")
    assert nothing_within(a, 0.3)
    px.ok("pass")
    assert recv_exact(a, 10) == b"held bytes"
    a.close()


def check_slow(px):
    rate, n = 10000, 10000
    px.ok("slow %d" % rate)
    s = px.connect()
    data = os.urandom(n)
    t0 = time.monotonic()
    s.sendall(data)
    got = recv_exact(s, n, timeout=15)
    dt = time.monotonic() - t0
    s.close()
    px.ok("pass")
    assert got == data
    print("    slow %d B/s: %d bytes echoed in %.2f s (nominal %.2f s)" % (rate, n, dt, n / rate))
    assert dt >= 0.6 * n / rate, "too fast: %.2f s" % dt
    assert dt <= 8.0, "too slow: %.2f s" % dt


def check_corrupt(px):
    s = px.connect()
    echo_ok(s, b"clean")
    px.ok("corrupt 1")
    data = bytes(range(64))
    s.sendall(data)
    got = recv_exact(s, len(data))
    diff = [i for i in range(len(data)) if got[i] != data[i]]
    assert len(diff) == 1, "%d bytes differ" % len(diff)
    assert got[diff[0]] == data[diff[0]] ^ 0xFF
    assert px.cmd("mode").endswith("corrupt=0 close_after=off")
    echo_ok(s, data)            # then back to pass
    s.close()


def check_close_after(px):
    old = px.connect()
    echo_ok(old, b"x")          # so the proxy has surely accepted it before the command
    px.ok("close_after 10")
    s = px.connect()
    data = os.urandom(100)
    s.sendall(data)
    got = recv_all(s)           # a reset would raise here
    s.close()
    assert got == data[:10], "got %d bytes, wanted the first 10" % len(got)
    echo_ok(old, data)          # connections from before are not affected
    old.close()
    px.ok("close_after off")
    s = px.connect()
    echo_ok(s, data)
    s.close()


def check_reset(px):
    s = px.connect()
    echo_ok(s, b"hi")
    r = px.ok("reset")
    assert int(r.split()[2]) >= 1, r
    s.settimeout(3)
    try:
        d = s.recv(10)
        raise AssertionError("got %r instead of ECONNRESET" % d)
    except ConnectionResetError:
        pass
    s.close()


def check_garbage(px):
    s = px.connect()
    echo_ok(s, b"hello")
    assert px.ok("garbage 7").startswith("OK garbage 7 conns=")
    assert len(recv_exact(s, 7)) == 7
    assert px.ok("garbage 5 0xff").startswith("OK garbage 5 conns=")
    assert recv_exact(s, 5) == b"\xff" * 5
    echo_ok(s, b"continues")
    assert nothing_within(s, 0.05)
    s.close()


def check_close(px):
    s = px.connect()
    echo_ok(s, b"x")
    r = px.ok("close")
    assert int(r.split()[2]) >= 1, r
    t0 = time.monotonic()
    assert recv_all(s, timeout=3) == b""      # a FIN, not a reset
    assert time.monotonic() - t0 < 1.0
    s.close()


def check_stats(px):
    assert wait_for(lambda: px.stats()["conns"] == 0), "connections left over: %r" % px.stats()
    a = px.stats()
    s = px.connect()
    echo_ok(s, b"12345")
    b = px.stats()
    assert b["conns"] == 1 and b["accepted"] == a["accepted"] + 1, (a, b)
    assert b["c2s"] == a["c2s"] + 5 and b["s2c"] == a["s2c"] + 5, (a, b)
    s.close()
    assert wait_for(lambda: px.stats()["conns"] == 0), "connection not released: %r" % px.stats()


def check_upstream_refused(px, verbose):
    # a second proxy whose target does not listen: the client's connection is reset
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    p2 = Proxy(port, verbose)
    try:
        try:
            s = p2.connect()        # (the reset may beat connect(), as with refuse)
            s.settimeout(3)
            try:
                d = s.recv(10)
                raise AssertionError("got %r instead of a reset" % d)
            except ConnectionResetError:
                pass
            s.close()
        except ConnectionResetError:
            pass
        assert wait_for(lambda: p2.stats()["conns"] == 0), p2.stats()
    finally:
        p2.stop()


def check_flood(px):
    size, count = 300, 50000
    msg = (b"{\"channel\":\"trades\",\"data\":" + b"x" * size)[:size - 1] + b"\n"
    data = msg * count
    s = px.connect()
    t0 = time.monotonic()
    def send():                 # one send() per message, as a server writes them
        for _ in range(count):
            s.sendall(msg)
    t = threading.Thread(target=send)
    t.start()
    got = 0
    s.settimeout(10)
    while got < len(data):
        d = s.recv(262144)
        if not d:
            break
        got += len(d)
    dt = time.monotonic() - t0
    t.join()
    s.close()
    assert got == len(data), "got %d of %d bytes" % (got, len(data))
    rate = count / dt
    print("    flood: %d messages of %d bytes echoed both ways in %.2f s = %.0f msg/s (%.1f MB/s)"
          % (count, size, dt, rate, len(data) / dt / 1e6))
    assert rate >= 10000, "only %.0f msg/s" % rate


def check_stdin_exit(px):
    s = px.connect()
    echo_ok(s, b"x")
    px.p.stdin.close()
    try:
        rc = px.p.wait(3)
    except subprocess.TimeoutExpired:
        raise AssertionError("proxy still running 3 s after stdin EOF") from None
    assert rc == 0, "exit status %d" % rc
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    t_start = time.monotonic()
    echo = EchoServer()
    px = Proxy(echo.port, args.verbose)
    checks = [
        ("control protocol", lambda: check_control(px)),
        ("pass: echo and half-close", lambda: check_pass_halfclose(px)),
        ("refuse: reset at once, old connections unaffected", lambda: check_refuse(px)),
        ("stall: silent 0.5 s, still open, bytes dropped", lambda: check_stall_drop(px)),
        ("stall hold: bytes delivered after pass", lambda: check_stall_hold(px)),
        ("slow: rate respected", lambda: check_slow(px)),
        ("corrupt: one byte flipped, then clean", lambda: check_corrupt(px)),
        ("close_after: EOF after exactly N bytes", lambda: check_close_after(px)),
        ("reset: ECONNRESET", lambda: check_reset(px)),
        ("garbage: extra bytes arrive, then forwarding", lambda: check_garbage(px)),
        ("close: FIN", lambda: check_close(px)),
        ("stats counters", lambda: check_stats(px)),
        ("upstream refused: client reset", lambda: check_upstream_refused(px, args.verbose)),
        ("flood throughput", lambda: check_flood(px)),
        ("exit at stdin EOF", lambda: check_stdin_exit(px)),
    ]
    passed = failed = 0
    for name, fn in checks:
        try:
            fn()
            print("PASS %s" % name)
            passed += 1
        except Exception as e:  # noqa: BLE001 - any failure of a check is reported
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            traceback.print_exc(file=sys.stderr)
            failed += 1
            try:
                px.cmd("pass")
            except OSError:
                pass
        sys.stdout.flush()
    px.stop()
    print("(%.1f s)" % (time.monotonic() - t_start))
    print("selftest: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
