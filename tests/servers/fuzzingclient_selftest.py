#!/usr/bin/python3
"""Regression check of tests/servers/fuzzingserver.py itself (stdlib only).

Starts the fuzzing server, runs a small but correct RFC 6455 echo client
(written here, in Python) through every case and requires that no case fails
and that nothing is merely NON-STRICT.  Then it runs deliberately broken
clients on a few cases and requires that the server catches each of them:

    no-utf8     does not validate UTF-8            -> 6.x invalid cases FAILED
    late-utf8   validates only whole messages      -> 6.4.x NON-STRICT
    echo-code   echoes any close code it gets      -> 7.9.x FAILED
    unmasked    sends unmasked frames              -> 1.1.x FAILED
    no-pong     ignores pings                      -> 2.x FAILED
    lenient     accepts RSV bits / reserved opcodes / long control frames
                                                   -> 2.5, 3.x, 4.x FAILED
    silent      completes the handshake, then never answers anything
                                                   -> FAILED, in bounded time
It also checks the control API and that bad opening handshakes are refused.

Usage: /usr/bin/python3 tests/servers/fuzzingclient_selftest.py [--cases GLOBS] [--quick] [--verbose]
  --quick skips the 9.x cases in the correct-client run.
Exit status 0 when every check passes.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzzingserver as fz  # noqa: E402  (shares the UTF-8 validator and case list)

VALID_CLOSE = fz.close_code_ok


class Closed(Exception):
    pass


class EchoClient:
    """Blocking echo client for one WebSocket connection.  `flaws` is a set of
    the deliberate mistakes listed in the module docstring."""

    def __init__(self, port, path, flaws=(), timeout=120.0):
        self.flaws = set(flaws)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.deadline = time.monotonic() + timeout
        self.buf = bytearray()
        self.pos = 0
        self.frame = None          # [opcode, fin, length, received]
        self.msg_opcode = None
        self.msg_parts = []
        self.utf8 = None
        self.ctrl = []
        self.close_sent = False
        self.close_received = False
        self.messages = []         # what the client received (for API calls)
        self._handshake(path)

    # ---- wire

    def _handshake(self, path):
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % (path, self.sock.getpeername()[1], key)).encode())
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise Closed("connection closed during handshake")
            self.buf += data
        end = self.buf.index(b"\r\n\r\n")
        head = self.buf[:end].decode("iso-8859-1").split("\r\n")
        del self.buf[:end + 4]
        if head[0].split(" ")[1] != "101":
            raise Closed("handshake refused: " + head[0])
        accept = base64.b64encode(hashlib.sha1(key.encode() + fz.WS_GUID).digest()).decode()
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        if headers.get("sec-websocket-accept") != accept or headers.get("upgrade", "").lower() != "websocket":
            raise Closed("bad handshake response")

    def send(self, opcode, payload=b""):
        if "unmasked" in self.flaws:
            self.sock.sendall(fz.frame_header(opcode, len(payload)) + payload)
            return
        mask = os.urandom(4)
        head = bytearray(fz.frame_header(opcode, len(payload)))
        head[1] |= 0x80
        self.sock.sendall(bytes(head) + mask + fz.unmask(payload, mask, 0))

    def fail(self, code):
        if not self.close_sent:
            self.close_sent = True
            self.send(8, struct.pack("!H", code))

    # ---- receive loop

    def run(self):
        """Process frames until the server closes TCP (or the deadline)."""
        try:
            while True:
                self._parse()
                if "silent" in self.flaws:
                    self.buf.clear()
                    self.pos = 0
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.sock.settimeout(min(remaining, 5.0))
                try:
                    data = self.sock.recv(1 << 20)
                except socket.timeout:
                    continue
                except ConnectionError:
                    return
                if not data:
                    return
                if self.pos:
                    del self.buf[:self.pos]
                    self.pos = 0
                self.buf += data
        finally:
            self.sock.close()

    def _parse(self):
        if "silent" in self.flaws:
            return
        while True:
            if self.frame is None:
                avail = len(self.buf) - self.pos
                if avail < 2:
                    return
                b0, b1 = self.buf[self.pos], self.buf[self.pos + 1]
                fin, rsv, opcode, masked, len1 = b0 & 0x80, (b0 >> 4) & 7, b0 & 15, b1 & 0x80, b1 & 0x7F
                if not self.close_sent and not self._header_ok(fin, rsv, opcode, masked, len1):
                    return
                ext = {126: 2, 127: 8}.get(len1, 0)
                if avail < 2 + ext:
                    return
                length = (struct.unpack_from("!H", self.buf, self.pos + 2)[0] if ext == 2 else
                          struct.unpack_from("!Q", self.buf, self.pos + 2)[0] if ext == 8 else len1)
                self.pos += 2 + ext
                self.frame = [opcode, bool(fin), length, 0]
                if opcode < 8 and self.msg_opcode is None:
                    self.msg_opcode = opcode
                    self.msg_parts = []
                    self.utf8 = fz.Utf8Validator() if opcode == 1 and not self.flaws & {"no-utf8", "late-utf8"} else None
                if opcode >= 8:
                    self.ctrl = []
            opcode, fin, length, got = self.frame
            take = min(length - got, len(self.buf) - self.pos)
            if take == 0 and got < length:
                return
            chunk = bytes(self.buf[self.pos:self.pos + take])
            self.pos += take
            self.frame[3] += take
            if opcode >= 8:
                self.ctrl.append(chunk)
            else:
                self.msg_parts.append(chunk)
                if self.utf8 is not None and not self.close_sent and not self.utf8.feed(chunk)[0]:
                    self.fail(1007)
            if self.frame[3] == length:
                self.frame = None
                if opcode >= 8:
                    self._control(opcode, b"".join(self.ctrl))
                elif fin:
                    self._message_end()

    def _header_ok(self, fin, rsv, opcode, masked, len1):
        strict = "lenient" not in self.flaws
        bad = masked or (strict and (
            rsv or opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
            or (opcode >= 8 and (not fin or len1 > 125))
            or (opcode == 0 and self.msg_opcode is None)
            or (opcode in (1, 2) and self.msg_opcode is not None)))
        if bad:
            self.fail(1002)
        return not bad

    def _message_end(self):
        opcode, payload = self.msg_opcode, b"".join(self.msg_parts)
        self.msg_opcode = None
        if self.close_sent or opcode not in (1, 2):
            return
        if opcode == 1:
            if self.utf8 is not None and not self.utf8.complete:
                return self.fail(1007)
            if "late-utf8" in self.flaws and not fz.utf8_valid(payload):
                return self.fail(1007)
        self.messages.append(payload)
        self.send(opcode, payload)

    def _control(self, opcode, payload):
        if opcode == 9 and not self.close_sent and "no-pong" not in self.flaws:
            self.send(10, payload)
        elif opcode == 8 and not self.close_received:
            self.close_received = True
            if self.close_sent:
                return
            if "echo-code" in self.flaws:
                self.close_sent = True
                return self.send(8, payload[:2])
            if len(payload) == 1:
                return self.fail(1002)
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            if code is not None and not VALID_CLOSE(code):
                return self.fail(1002)
            if not fz.utf8_valid(payload[2:]):
                return self.fail(1007)
            self.close_sent = True
            self.send(8, payload[:2])


# --------------------------------------------------------------------------

def api(port, path):
    c = EchoClient(port, path)
    c.run()
    return c.messages


def raw_request(port, text):
    """Send a hand-made opening handshake; return the response status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(text.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n")[0].decode("iso-8859-1")


def run_cases(port, agent, indices, flaws=(), verbose=False):
    for n in indices:
        t0 = time.monotonic()
        try:
            EchoClient(port, "/runCase?case=%d&agent=%s" % (n, agent), flaws).run()
        except (Closed, OSError) as exc:
            print("  case #%d: %s" % (n, exc))
        if verbose:
            print("  %s #%d %s %.2fs" % (agent, n, CASE_IDS[n - 1], time.monotonic() - t0), flush=True)


CASE_IDS = [d.id for d in fz.ALL_CASES]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="*", help="globs for the correct-client run (default all)")
    ap.add_argument("--quick", action="store_true", help="leave out 9.x in the correct-client run")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    report_dir = tempfile.mkdtemp(prefix="fuzzingserver-selftest-")
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "fuzzingserver.py"), "--port", "0",
                               "--report-dir", report_dir, "--max-wait", "20"]
                              + (["--verbose"] if args.verbose else []),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    problems = []
    try:
        line = server.stdout.readline().split()
        assert line and line[0] == "READY", line
        port = int(line[1])
        index = {cid: n for n, cid in enumerate(CASE_IDS, 1)}

        count = api(port, "/getCaseCount")
        if count != [str(len(CASE_IDS)).encode()]:
            problems.append("getCaseCount answered %r" % count)
        info = json.loads(api(port, "/getCaseInfo?case=%d" % index["7.7.3"])[0])
        if info.get("id") != "7.7.3" or not info.get("description"):
            problems.append("getCaseInfo answered %r" % info)

        t0 = time.monotonic()
        excl = "9.*" if args.quick else ""
        good = [index[d.id] for d in fz.select_cases(args.cases, excl)]
        run_cases(port, "good", good, verbose=args.verbose)
        elapsed = time.monotonic() - t0
        status = json.loads(api(port, "/getCaseStatus?case=%d&agent=good" % good[0])[0])

        # Deliberately broken clients, and what the server must say about them.
        bad_runs = [
            ("no-utf8", ["6.3.1", "6.3.2", "6.4.1", "6.4.3", "6.12.1", "6.20.1", "6.21.8"], FAILED_),
            ("late-utf8", ["6.4.1", "6.4.2", "6.4.3", "6.4.4"], NON_STRICT_),
            ("echo-code", ["7.9.%d" % i for i in range(1, 10)], FAILED_),
            ("unmasked", ["1.1.1", "1.2.2"], FAILED_),
            ("no-pong", ["2.1", "2.2", "2.9", "5.6"], FAILED_),
            ("lenient", ["2.5", "3.1", "3.2", "4.1.1", "4.2.5"], FAILED_),
            ("silent", ["1.1.1", "2.5", "5.19", "9.1.1"], FAILED_),
        ]
        t_bad = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(bad_runs)) as pool:
            for job in [pool.submit(run_cases, port, "bad-" + flaw, [index[i] for i in ids], {flaw}, args.verbose)
                        for flaw, ids, _ in bad_runs]:
                job.result()
        elapsed_bad = time.monotonic() - t_bad

        for request, want in [
            ("GET /getCaseCount HTTP/1.1\r\nHost: 127.0.0.1\r\n", "400"),          # Host without port
            ("GET /runCase?case=9999&agent=x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port, "400"),
            ("GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port, "404"),
        ]:
            got = raw_request(port, request + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            if got.split(" ")[1:2] != [want]:
                problems.append("%r answered %r, expected %s" % (request.split("\r\n")[0], got, want))

        api(port, "/updateReports?agent=good")
        summary = [server.stdout.readline().strip() for _ in range(1 + len(bad_runs))]
        with open(os.path.join(report_dir, "index.json")) as f:
            report = json.load(f)

        results = report.get("good", {})
        if len(results) != len(good):
            problems.append("good client: %d of %d cases reported" % (len(results), len(good)))
        for cid, r in results.items():
            if r["behavior"] not in ("OK", "INFORMATIONAL") or r["behaviorClose"] not in ("OK", "INFORMATIONAL"):
                problems.append("good client, case %s: %s / %s (%s; %s)" % (
                    cid, r["behavior"], r["behaviorClose"], r["detail"], r["detailClose"]))
        if status.get("behavior") != results.get(CASE_IDS[good[0] - 1], {}).get("behavior"):
            problems.append("getCaseStatus answered %r" % status)
        for flaw, ids, check in bad_runs:
            for cid in ids:
                r = report.get("bad-" + flaw, {}).get(cid)
                if r is None or not check(r):
                    problems.append("flaw %s, case %s not caught: %s" % (flaw, cid, r and (r["behavior"], r["behaviorClose"], r["detail"])))

        print("\n".join(summary))
        print("correct client: %d cases in %.1f s; broken clients: %.1f s" % (len(good), elapsed, elapsed_bad))
        per_section = {}
        for cid in results:
            per_section[cid.split(".")[0]] = per_section.get(cid.split(".")[0], 0) + 1
        print("cases per section:", ", ".join("%s: %d" % kv for kv in sorted(per_section.items(), key=lambda kv: int(kv[0]))))
    finally:
        server.stdin.close()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
    for p in problems:
        print("PROBLEM:", p)
    if problems:
        print("selftest FAILED (reports kept in %s)" % report_dir)
        return 1
    shutil.rmtree(report_dir, ignore_errors=True)
    print("selftest passed")
    return 0


def FAILED_(r):
    return r["behavior"] == "FAILED" or r["behaviorClose"] in ("FAILED", "UNCLEAN")


def NON_STRICT_(r):
    return r["behavior"] == "NON-STRICT"


if __name__ == "__main__":
    sys.exit(main())
