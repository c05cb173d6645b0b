#!/usr/bin/python3
"""Stand-in for Autobahn|Testsuite's "wstest -m fuzzingserver" (client tests).

The real suite (Python 2, Twisted, autobahn 0.10.9) cannot be installed here,
so this single stdlib-only file re-implements what a WebSocket *client* sees
of it: the control API and the test cases of sections 1-7, 9 and 10
(301 cases; compression sections 12/13 are not reproduced).

Usage:

    /usr/bin/python3 tests/servers/fuzzingserver.py [--port N] [--report-dir DIR]
        [--cases "1.*,2.*"] [--exclude-cases "9.*"] [--max-wait S]
        [--ignore-stdin] [--verbose] [--list]

Protocol with the test harness (same convention as ws_python_server.py):
  * binds 127.0.0.1:<port> (0 = ephemeral), prints exactly one line
    "READY <port>" on stdout;
  * after each /updateReports prints one line per agent on stdout:
        agent <name>: <n> cases, <f> FAILED, <s> NON-STRICT, <i> INFORMATIONAL
    (", <u> UNIMPLEMENTED" / ", <m> missing" are appended when non-zero).
    A case counts as FAILED when its behavior is FAILED or its close
    behavior is FAILED or UNCLEAN;
  * exits when stdin reaches EOF (unless --ignore-stdin), or on SIGTERM/SIGINT;
  * logs to stderr only with --verbose.

Control API (every URL is a WebSocket endpoint; the client does a normal
RFC 6455 opening handshake, with a Host header carrying the port):
  /getCaseCount                 text message "<count>", then close
  /getCaseInfo?case=N           text message {"id": ..., "description": ...}
  /runCase?case=N&agent=A       runs case N (1-based, suite order) against an
                                echo client (casetuple=1.2.3 may replace case)
  /getCaseStatus?case=N&agent=A text message {"behavior": ...} (waits until
                                the case has finished)
  /updateReports?agent=A        writes DIR/index.json (+ one JSON detail file
                                per agent and case), then closes
  /stopServer                   shuts the server down
Like the real server, closes initiated by the API endpoints carry no status
code (empty close payload).

What is reproduced, case by case: the octets sent (frame layout, RSV bits,
opcodes, fragmentation, payload repetition, "sync" frame-wise and "chopsize"
octet-wise writes, one piece per event-loop iteration), the timers (killAfter,
closeAfter, continueLater), the expected event lists (OK / NON-STRICT) and
expected close (closedByMe, accepted close codes, requireClean,
closedByWrongEndpointIsFatal), and the way the real server reacts to the
client: it checks every client frame (masking, RSV, opcodes, control frame
rules, fragmentation, minimal length encoding, incremental fail-fast UTF-8,
close codes / reasons), fails the connection with a close frame (it does not
drop TCP first: failByDrop=False), answers pings, drops TCP itself once the
closing handshake is done, gives up on a closing handshake after 1 s and on
an opening handshake after 5 s.  Behaviors: OK, NON-STRICT, INFORMATIONAL,
FAILED (UNIMPLEMENTED exists in the vocabulary, but no case of these sections
yields it); close behaviors: OK, FAILED, UNCLEAN, WRONG CODE, INFORMATIONAL.
As in the real suite, section 9 cases are OK or FAILED, with the duration
reported; 7.1.6 and 7.13.x are always INFORMATIONAL; cases are numbered in
numeric id order (1.1.1 ... 10.1.1).

Regression check of this server: tests/servers/fuzzingclient_selftest.py.

Known differences from the real suite:
  * no HTML report, no wire log; index.json holds behavior, behaviorClose,
    remoteCloseCode, duration (ms) and detail/detailClose texts; the per-case
    JSON files hold expected and received events (payloads abbreviated);
  * section 9 checks the echoed payload bytes, not only their length;
  * timers longer than --max-wait (default 100 s) are shortened to it (only
    9.5.x/9.6.x use 1000 s in the real suite), and a watchdog aborts any case
    still running --max-wait + 30 s after it started (recorded as FAILED);
  * getCaseStatus for a case that never ran answers "MISSING" after
    --max-wait + 30 s instead of waiting forever;
  * unknown URL paths get HTTP 404 (the real server has a "direct command"
    mode there); no TLS, no Hixie-76, no permessage-deflate, no
    exclude-agent-cases; case descriptions are our own wording;
  * protocol checks on a frame header run once per frame (autobahn re-runs
    them every time more octets of an incomplete header arrive).
"""

import argparse
import asyncio
import base64
import codecs
import collections
import fnmatch
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

# --------------------------------------------------------------------------
# vocabulary

OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
FAILED = "FAILED"
WRONG_CODE = "WRONG CODE"   # close behavior only
UNCLEAN = "UNCLEAN"         # close behavior only

NORMAL, GOING_AWAY, PROTOCOL_ERROR, INVALID_PAYLOAD = 1000, 1001, 1002, 1007
# close codes a peer may put on the wire (as the suite's autobahn 0.10 knows them)
VALID_CLOSE_CODES = frozenset([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011])

OPEN_HANDSHAKE_TIMEOUT = 5.0
CLOSE_HANDSHAKE_TIMEOUT = 1.0
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

VERBOSE = False


def log(*args):
    if VERBOSE:
        print("[fuzzingserver]", *args, file=sys.stderr, flush=True)


def close_code_ok(code):
    return code in VALID_CLOSE_CODES or 3000 <= code <= 4999


# --------------------------------------------------------------------------
# UTF-8

def utf8_valid(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def utf8_prefix_ok(seq):
    """True if `seq` (a truncated multi-byte sequence) can still become valid."""
    lead = seq[0]
    if 0xC2 <= lead <= 0xDF:
        second = (0x80, 0xBF)
    elif lead == 0xE0:
        second = (0xA0, 0xBF)
    elif lead == 0xED:
        second = (0x80, 0x9F)
    elif 0xE1 <= lead <= 0xEF:
        second = (0x80, 0xBF)
    elif lead == 0xF0:
        second = (0x90, 0xBF)
    elif 0xF1 <= lead <= 0xF3:
        second = (0x80, 0xBF)
    elif lead == 0xF4:
        second = (0x80, 0x8F)
    else:
        return False
    if len(seq) > 1 and not second[0] <= seq[1] <= second[1]:
        return False
    return all(0x80 <= b <= 0xBF for b in seq[2:])


class Utf8Validator:
    """Incremental validator that fails on the first octet that cannot be
    part of valid UTF-8 (fail fast).  feed() returns (valid, complete)."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.rejected = False
        self.complete = True

    def feed(self, data):
        if self.rejected:
            return (False, False) if data else (True, False)
        if not data:
            return True, self.complete
        try:
            self._decoder.decode(data, False)
        except UnicodeDecodeError:
            self.rejected = True
            return False, False
        pending = self._decoder.getstate()[0]
        if pending and not utf8_prefix_ok(pending):
            self.rejected = True
            return False, False
        self.complete = not pending
        return True, self.complete


# --------------------------------------------------------------------------
# framing helpers

class F:
    """One frame to send: opcode, payload, FIN, RSV bits."""
    __slots__ = ("opcode", "payload", "fin", "rsv")

    def __init__(self, opcode, payload=b"", fin=True, rsv=0):
        self.opcode, self.payload, self.fin, self.rsv = opcode, payload, fin, rsv


class Close:
    """A close frame inside a frame sequence (raw code / reason, not checked)."""
    __slots__ = ("code", "reason")

    def __init__(self, code=None, reason=None):
        self.code, self.reason = code, reason


def frame_header(opcode, length, fin=True, rsv=0):
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    if length <= 125:
        return bytes((b0, length))
    if length <= 0xFFFF:
        return bytes((b0, 126)) + struct.pack("!H", length)
    return bytes((b0, 127)) + struct.pack("!Q", length)


def repeat_to(pattern, length):
    return (pattern * (length // len(pattern) + 1))[:length]


def message_frames(payload, opcode, frag=None):
    """Frames of one message cut into `frag`-octet pieces the way autobahn's
    sendMessage(fragmentSize=...) does it (a payload that is an exact multiple
    of `frag` ends with an empty FIN continuation frame)."""
    if frag is None or len(payload) <= frag:
        return [F(opcode, payload)]
    frames, i = [], 0
    while True:
        j = i + frag
        done = j > len(payload)
        frames.append(F(opcode if i == 0 else 0, payload[i:min(j, len(payload))], fin=done))
        if done:
            return frames
        i = j


def unmask(data, mask, offset):
    if not data:
        return data
    k = offset % 4
    key = mask[k:] + mask[:k]
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def short(payload, limit=64):
    """Printable abbreviation of a payload for the reports."""
    text = payload[:limit].decode("utf-8", "replace") if utf8_valid(payload[:limit]) else "0x" + payload[:limit].hex()
    return text + (" ... (%d octets)" % len(payload) if len(payload) > limit else "")


# --------------------------------------------------------------------------
# the per-connection WebSocket machinery (server side, autobahn semantics)

CONNECTING, OPEN, CLOSING, CLOSED = "CONNECTING", "OPEN", "CLOSING", "CLOSED"


class RxFrame:
    __slots__ = ("opcode", "fin", "rsv", "length", "mask", "got")

    def __init__(self, opcode, fin, rsv, length, mask):
        self.opcode, self.fin, self.rsv, self.length, self.mask = opcode, fin, rsv, length, mask
        self.got = 0


class FuzzConnection(asyncio.Protocol):

    def __init__(self, server):
        self.srv = server
        self.loop = asyncio.get_running_loop()
        self.transport = None
        self.state = CONNECTING
        self.buf = bytearray()
        self.pos = 0
        self.path = None
        self.agent = None
        self.case_index = None
        self.case = None
        # close tracking, same meaning as autobahn's flags
        self.closed_by_me = False     # I sent the first close frame
        self.failed_by_me = False     # I failed the connection (protocol error)
        self.dropped_by_me = False    # I closed the TCP connection
        self.was_clean = False        # a closing handshake took place
        self.not_clean_reason = None
        self.local_close_code = None
        self.remote_close_code = None
        self.remote_close_reason = None
        # timers
        self.timers = []
        self.close_hs_timer = None
        # sending
        self.send_queue = collections.deque()
        self.triggered = False
        self.tx_frames = collections.Counter()
        # receiving
        self.frame = None
        self.header_checked = False
        self.inside_message = False
        self.msg_binary = False
        self.msg_parts = []
        self.utf8 = None
        self.utf8_last = (True, True)
        self.control_parts = []
        self.case_start = self.case_end = 0.0

    # ---- timers

    def call_later(self, delay, fn, *args):
        handle = self.loop.call_later(delay, fn, *args)
        self.timers.append(handle)
        return handle

    def _cap(self, delay):
        return min(delay, self.srv.max_wait)

    def continue_later(self, delay, fn):
        self.call_later(delay, lambda: self.state != CLOSED and fn())

    def kill_after(self, delay):
        self.call_later(self._cap(delay), lambda: self.state != CLOSED and self.fail_connection())

    def close_after(self, delay):
        self.call_later(self._cap(delay), lambda: self.state != CLOSED and self.send_close())

    # ---- asyncio callbacks

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.call_later(OPEN_HANDSHAKE_TIMEOUT, self._open_timeout)

    def _open_timeout(self):
        if self.state == CONNECTING:
            self.was_clean = False
            self.not_clean_reason = "peer did not finish the opening handshake in time"
            self.drop(abort=True)

    def data_received(self, data):
        if self.state == CLOSED:
            return
        self.buf += data
        if self.state == CONNECTING:
            self._process_handshake()
        if self.state in (OPEN, CLOSING):
            self._process_frames()
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0

    def eof_received(self):
        return False   # let asyncio close the transport -> connection_lost

    def connection_lost(self, exc):
        for t in self.timers:
            t.cancel()
        if self.close_hs_timer:
            self.close_hs_timer.cancel()
        if self.state != CLOSED:
            self.state = CLOSED
        if not self.was_clean and not self.dropped_by_me and self.not_clean_reason is None:
            self.not_clean_reason = "peer dropped the TCP connection without closing handshake"
        if self.case is not None:
            self.case_end = time.monotonic()
            self.srv.record(self.agent, self.case.finish())

    # ---- sending

    def send_data(self, data, sync=False, chopsize=None):
        if chopsize:
            for i in range(0, len(data), chopsize):
                self.send_queue.append(data[i:i + chopsize])
            if not data:
                self.send_queue.append(data)
            self._trigger()
        elif sync or self.send_queue:
            self.send_queue.append(data)
            self._trigger()
        elif self.state != CLOSED:
            self.transport.write(data)

    def _trigger(self):
        if not self.triggered:
            self.triggered = True
            self._send_next()

    def _send_next(self):
        """Write one queued piece per event-loop iteration.  The suite asks
        Twisted for a 10 us pause here, i.e. a (near) zero-timeout poll
        between pieces; call_soon does the same, whereas asyncio's
        call_later would round the pause up to a 1 ms poll timeout."""
        if self.send_queue:
            data = self.send_queue.popleft()
            if self.state != CLOSED:
                self.transport.write(data)
            self.loop.call_soon(self._send_next)
        else:
            self.triggered = False

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, sync=False, chopsize=None):
        self.tx_frames[opcode] += 1
        self.send_data(frame_header(opcode, len(payload), fin, rsv) + payload, sync, chopsize)

    def send_frames(self, steps, mode=None):
        """Send a sequence of F / Close steps.  mode: None (plain writes),
        "sync" (one write per frame) or "chop" (one write per octet)."""
        batch = []
        for step in steps:
            if isinstance(step, Close) or mode:
                if batch:
                    self.send_data(b"".join(batch))
                    batch = []
            if isinstance(step, Close):
                self.send_close_frame(step.code, step.reason)
            elif mode:
                self.send_frame(step.opcode, step.payload, step.fin, step.rsv,
                                sync=(mode == "sync"), chopsize=(1 if mode == "chop" else None))
            else:
                self.tx_frames[step.opcode] += 1
                batch.append(frame_header(step.opcode, len(step.payload), step.fin, step.rsv))
                batch.append(step.payload)
        if batch:
            self.send_data(b"".join(batch))

    def send_message(self, payload, binary=False, frag=None):
        if self.state == OPEN:
            self.send_frames(message_frames(payload, 2 if binary else 1, frag))

    def send_close_frame(self, code=None, reason=None, is_reply=False):
        if self.state != OPEN:
            return
        payload = (struct.pack("!H", code) if code is not None else b"") + (reason or b"")
        self.send_frame(8, payload)
        self.state = CLOSING
        self.closed_by_me = not is_reply
        self.local_close_code = code
        if self.closed_by_me:
            self.close_hs_timer = self.loop.call_later(CLOSE_HANDSHAKE_TIMEOUT, self._close_timeout)

    def send_close(self, code=None, reason=None):
        self.send_close_frame(code, reason.encode() if isinstance(reason, str) else reason)

    def _close_timeout(self):
        self.close_hs_timer = None
        if self.state != CLOSED:
            self.was_clean = False
            self.not_clean_reason = "peer did not answer my close frame in time"
            self.drop(abort=True)

    def drop(self, abort=False):
        if self.state != CLOSED:
            self.dropped_by_me = True
            self.state = CLOSED
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def fail_connection(self, code=GOING_AWAY, reason="Going Away"):
        if self.state == CLOSED:
            return
        self.failed_by_me = True
        if self.state != CLOSING:
            self.send_close_frame(code, reason.encode()[:123])
        else:
            self.not_clean_reason = "I dropped TCP on a further error while closing (%s)" % reason
            self.drop(abort=False)

    def protocol_violation(self, reason):
        log("protocol violation:", reason)
        if self.case is not None:
            self.case.violations.append(reason)
        self.fail_connection(PROTOCOL_ERROR, reason)

    def invalid_payload(self, reason):
        log("invalid payload:", reason)
        if self.case is not None:
            self.case.violations.append(reason)
        self.fail_connection(INVALID_PAYLOAD, reason)

    # ---- receiving frames

    def _process_frames(self):
        while self.state in (OPEN, CLOSING):
            if self.frame is None:
                if not self._parse_header():
                    return
                continue
            f = self.frame
            remaining = f.length - f.got
            avail = len(self.buf) - self.pos
            if remaining and not avail:
                return
            take = min(remaining, avail)
            chunk = bytes(self.buf[self.pos:self.pos + take])
            self.pos += take
            if f.mask is not None:
                chunk = unmask(chunk, f.mask, f.got)
            f.got += take
            self._on_frame_data(chunk)
            if f.got == f.length:
                self._on_frame_end()

    def _parse_header(self):
        avail = len(self.buf) - self.pos
        if avail < 2:
            return False
        b0, b1 = self.buf[self.pos], self.buf[self.pos + 1]
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F
        masked, len1 = bool(b1 & 0x80), b1 & 0x7F
        if not self.header_checked:
            self.header_checked = True
            if rsv:
                self.protocol_violation("RSV = %d and no extension negotiated" % rsv)
            if not masked:
                self.protocol_violation("unmasked client-to-server frame")
            if opcode > 7:
                if not fin:
                    self.protocol_violation("fragmented control frame")
                if len1 > 125:
                    self.protocol_violation("control frame with payload length > 125 octets")
                if opcode not in (8, 9, 10):
                    self.protocol_violation("control frame using reserved opcode %d" % opcode)
                if opcode == 8 and len1 == 1:
                    self.protocol_violation("close frame with payload length 1")
            else:
                if opcode not in (0, 1, 2):
                    self.protocol_violation("data frame using reserved opcode %d" % opcode)
                if not self.inside_message and opcode == 0:
                    self.protocol_violation("continuation frame outside a fragmented message")
                if self.inside_message and opcode != 0:
                    self.protocol_violation("non-continuation data frame inside a fragmented message")
            if self.state == CLOSED:
                return False
        ext = 2 if len1 == 126 else 8 if len1 == 127 else 0
        hlen = 2 + ext + (4 if masked else 0)
        if avail < hlen:
            return False
        p = self.pos + 2
        if len1 == 126:
            length = struct.unpack_from("!H", self.buf, p)[0]
            if length < 126:
                self.protocol_violation("payload length not minimally encoded")
        elif len1 == 127:
            length = struct.unpack_from("!Q", self.buf, p)[0]
            if length > 0x7FFFFFFFFFFFFFFF:
                self.protocol_violation("payload length >= 2^63")
            if length < 65536:
                self.protocol_violation("payload length not minimally encoded")
        else:
            length = len1
        p += ext
        mask = bytes(self.buf[p:p + 4]) if masked else None
        self.pos += hlen
        self.header_checked = False
        if self.state == CLOSED:
            return False
        self.frame = RxFrame(opcode, fin, rsv, length, mask)
        if opcode > 7:
            self.control_parts = []
        elif not self.inside_message:
            self.inside_message = True
            self.msg_binary = opcode == 2
            self.msg_parts = []
            self.utf8 = Utf8Validator() if opcode == 1 else None
            self.utf8_last = (True, True)
        return True

    def _on_frame_data(self, chunk):
        f = self.frame
        if f.opcode > 7:
            self.control_parts.append(chunk)
            return
        if self.utf8 is not None:
            self.utf8_last = self.utf8.feed(chunk)
            if not self.utf8_last[0]:
                self.invalid_payload("invalid UTF-8 in text message")
        if not self.failed_by_me:
            self.msg_parts.append(chunk)

    def _on_frame_end(self):
        f = self.frame
        if f.opcode > 7:
            self._on_control(f.opcode, b"".join(self.control_parts))
        elif f.fin:
            if self.utf8 is not None and not self.utf8_last[1]:
                self.invalid_payload("text message ends inside a UTF-8 sequence")
            self.inside_message = False
            if not self.failed_by_me and self.case is not None:
                self.case.on_message(b"".join(self.msg_parts), self.msg_binary)
            self.msg_parts = []
        self.frame = None

    def _on_control(self, opcode, payload):
        if opcode == 8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            reason = payload[2:] if len(payload) > 2 else None
            self._on_close_frame(code, reason)
        elif opcode == 9:
            if self.state == OPEN and len(payload) <= 125:
                self.send_frame(10, payload)
        elif opcode == 10:
            if self.case is not None:
                self.case.on_pong(payload)

    def _on_close_frame(self, code, reason):
        self.remote_close_code = code
        if code is not None and not close_code_ok(code):
            self.protocol_violation("invalid close code %d" % code)
        if reason is not None:
            if not utf8_valid(reason):
                self.invalid_payload("close reason is not valid UTF-8")
            self.remote_close_reason = reason
        if self.state == CLOSING:          # answer to my close frame
            if self.close_hs_timer:
                self.close_hs_timer.cancel()
                self.close_hs_timer = None
            self.was_clean = True
            self.drop(abort=True)
        elif self.state == OPEN:           # peer starts the closing handshake
            self.was_clean = True
            self.send_close_frame(NORMAL, is_reply=True)
            self.drop(abort=False)
        else:
            self.was_clean = False

    # ---- opening handshake

    def _fail_handshake(self, status, reason, extra=""):
        log("handshake refused:", status, reason)
        body = (reason + "\n").encode()
        head = "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n" % (
            status, {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                     426: "Upgrade Required", 505: "HTTP Version Not Supported"}[status], len(body), extra)
        self.transport.write(head.encode() + body)
        self.drop(abort=False)

    def _process_handshake(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > 16384:
                self._fail_handshake(400, "request header too large")
            return
        head = bytes(self.buf[:end]).decode("iso-8859-1")
        self.pos = end + 4
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return self._fail_handshake(400, "bad request line %r" % lines[0])
        method, target, version = parts
        if method != "GET":
            return self._fail_handshake(405, "method %s not allowed" % method)
        if version != "HTTP/1.1":
            return self._fail_handshake(505, "unsupported HTTP version %s" % version)
        headers = collections.defaultdict(list)
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                return self._fail_handshake(400, "bad header line %r" % line)
            headers[name.strip().lower()].append(value.strip())

        def tokens(name):
            return [t.strip().lower() for v in headers.get(name, []) for t in v.split(",")]

        if len(headers.get("host", [])) != 1:
            return self._fail_handshake(400, "need exactly one Host header")
        host = headers["host"][0]
        if ":" not in host or host.endswith("]"):
            return self._fail_handshake(400, "missing port in Host header %r (server runs on non-standard port %d)" % (host, self.srv.port))
        port = host.rpartition(":")[2].strip()
        if not port.isdigit() or int(port) != self.srv.port:
            return self._fail_handshake(400, "port in Host header %r does not match server port %d" % (host, self.srv.port))
        if "websocket" not in tokens("upgrade"):
            return self._fail_handshake(426 if "upgrade" not in headers else 400, "Upgrade header must include 'websocket'")
        if "upgrade" not in tokens("connection"):
            return self._fail_handshake(400, "Connection header must include 'upgrade'")
        if headers.get("sec-websocket-version") != ["13"]:
            return self._fail_handshake(426, "need exactly one Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13\r\n")
        keys = headers.get("sec-websocket-key", [])
        if len(keys) != 1:
            return self._fail_handshake(400, "need exactly one Sec-WebSocket-Key header")
        key = keys[0]
        try:
            if len(key) != 24 or len(base64.b64decode(key, validate=True)) != 16:
                raise ValueError
        except ValueError:
            return self._fail_handshake(400, "bad Sec-WebSocket-Key %r" % key)
        url = urllib.parse.urlsplit(target)
        if url.fragment or "#" in target:
            return self._fail_handshake(400, "fragment identifier in request target")
        error = self._route(url.path, urllib.parse.parse_qs(url.query))
        if error:
            return self._fail_handshake(*error)
        accept = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
        self.transport.write((
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Server: hl_net-fuzzingserver (Autobahn fuzzingserver stand-in)\r\n"
            "Upgrade: WebSocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        self.state = OPEN
        self._on_open()

    def _route(self, path, params):
        """Validate the API request; returns None or (status, reason)."""
        def single(name):
            values = params.get(name, [])
            if len(values) > 1:
                raise ValueError("multiple values for %s" % name)
            return values[0] if values else None

        try:
            self.agent = single("agent")
            case, casetuple = single("case"), single("casetuple")
        except ValueError as exc:
            return 400, str(exc)
        if casetuple is not None:
            if casetuple.strip() not in self.srv.index_of:
                return 400, "unknown case %s" % casetuple
            self.case_index = self.srv.index_of[casetuple.strip()]
        if case is not None:
            if not case.isdigit() or not 1 <= int(case) <= len(self.srv.cases):
                return 400, "case %s not found (1..%d)" % (case, len(self.srv.cases))
            self.case_index = int(case)
        if path in ("/runCase", "/getCaseInfo", "/getCaseStatus") and self.case_index is None:
            return 400, "need case"
        if path in ("/runCase", "/getCaseStatus", "/updateReports") and not self.agent:
            return 400, "need agent"
        if path not in ("/runCase", "/getCaseInfo", "/getCaseStatus", "/getCaseCount",
                        "/updateReports", "/stopServer"):
            return 404, "unknown path %s" % path
        self.path = path
        return None

    def _on_open(self):
        srv = self.srv
        if self.path == "/runCase":
            cdef = srv.cases[self.case_index - 1]
            log("running case %s (#%d) for agent %s" % (cdef.id, self.case_index, self.agent))
            self.case = Case(cdef, self)
            self.case_start = time.monotonic()
            self.call_later(srv.max_wait + 30, self._watchdog)
            self.case.on_open()
        elif self.path == "/getCaseCount":
            self.send_message(str(len(srv.cases)).encode())
            self.send_close()
        elif self.path == "/getCaseInfo":
            cdef = srv.cases[self.case_index - 1]
            self.send_message(json.dumps({"id": cdef.id, "description": cdef.description}).encode())
            self.send_close()
        elif self.path == "/getCaseStatus":
            srv.when_recorded(self.agent, srv.cases[self.case_index - 1].id, self._send_status)
        elif self.path == "/updateReports":
            srv.write_reports()
            self.send_close()
        elif self.path == "/stopServer":
            self.send_close()
            srv.stop()

    def _send_status(self, behavior):
        if self.state == OPEN:
            self.send_message(json.dumps({"behavior": behavior}).encode())
            self.send_close()

    def _watchdog(self):
        if self.state != CLOSED:
            self.case.watchdog_fired = True
            self.drop(abort=True)


# --------------------------------------------------------------------------
# test cases

def msg(payload, binary=False):
    return ("message", payload, binary)


def pong(payload=b""):
    return ("pong", payload)


class CaseDef:
    """Static definition of one test case."""

    def __init__(self, cid, description, run, on_message=None, post=None,
                 suppress_close=False, report_time=False):
        self.id, self.description, self.run = cid, description, run
        self.on_message_hook, self.post = on_message, post
        self.suppress_close, self.report_time = suppress_close, report_time
        self.key = tuple(int(x) for x in cid.split("."))


class Case:
    """One run of a CaseDef on one connection (mirrors the suite's Case)."""

    def __init__(self, cdef, conn):
        self.d = cdef
        self.p = conn
        self.received = []
        self.expected = {}
        self.expected_close = {}
        self.behavior = FAILED
        self.behavior_close = FAILED
        self.result = "received events match no expectation"
        self.result_close = "TCP connection was dropped without closing handshake"
        self.violations = []
        self.watchdog_fired = False
        self.state = {}   # scratch space for multi-step cases

    # ---- used by the case definitions

    def expect(self, ok, non_strict=None):
        self.expected[OK] = ok
        if non_strict is not None:
            self.expected[NON_STRICT] = non_strict

    def expect_close(self, by_me, codes, clean, fatal=False):
        self.expected_close = {"closedByMe": by_me, "closeCode": codes, "requireClean": clean,
                               "closedByWrongEndpointIsFatal": fatal}

    def expect_normal_close(self):
        self.expect_close(True, [NORMAL], True)

    def expect_peer_fails(self, code=PROTOCOL_ERROR, fatal=False):
        self.expect_close(False, [code], False, fatal)

    # ---- events

    def on_open(self):
        self.d.run(self)

    def on_message(self, payload, binary):
        if self.d.on_message_hook:
            self.d.on_message_hook(self, payload, binary)
            return
        self.received.append(msg(payload, binary))
        self.finish_when_done()

    def on_pong(self, payload):
        self.received.append(pong(payload))
        self.finish_when_done()

    def finish_when_done(self):
        """Start the closing handshake once the received events match every
        expected outcome (as the suite does; with two outcomes this never
        happens and the case waits for its timer)."""
        if any(self.received != ev for ev in self.expected.values()):
            return
        if self.expected_close.get("closedByMe") and not self.d.suppress_close:
            self.p.send_close(self.expected_close["closeCode"][0])

    def finish(self):
        """Compute the outcome once the TCP connection is gone."""
        p, ec = self.p, self.expected_close
        for outcome, events in self.expected.items():
            if self.received == events:
                self.behavior = outcome
                self.result = "received events match the %s expectation" % outcome
                break
        if ec.get("closedByMe") != p.closed_by_me:
            self.behavior_close = FAILED
            self.result_close = "the connection was %s by the wrong endpoint (%s)" % (
                "closed" if p.closed_by_me else "failed",
                "server started the closing handshake" if p.closed_by_me else "client started the closing handshake or dropped TCP")
        elif ec.get("requireClean") and not p.was_clean:
            self.behavior_close = UNCLEAN
            self.result_close = "a clean closing handshake is required here (%s)" % p.not_clean_reason
        elif p.remote_close_code is not None and p.remote_close_code not in ec.get("closeCode", []):
            self.behavior_close = WRONG_CODE
            self.result_close = "close code should have been %s or empty, got %d" % (
                ",".join(map(str, ec["closeCode"])), p.remote_close_code)
        else:
            self.behavior_close = OK
            self.result_close = "connection was properly closed"
        if ec.get("closedByWrongEndpointIsFatal") and ec.get("closedByMe") != p.closed_by_me:
            self.behavior = FAILED
            self.result = "the client did not fail the connection (%s)" % self.result_close
        if self.d.post:
            self.d.post(self)
        if self.watchdog_fired:
            self.behavior = self.behavior_close = FAILED
            self.result = "case watchdog expired after %d s" % (self.p.srv.max_wait + 30)
        if self.violations and self.behavior == FAILED:
            self.result += "; server saw: " + "; ".join(self.violations[:3])
        duration = int(round(1000 * (p.case_end - p.case_start)))
        return {
            "id": self.d.id,
            "behavior": self.behavior,
            "behaviorClose": self.behavior_close,
            "duration": duration,
            "reportTime": self.d.report_time,
            "remoteCloseCode": p.remote_close_code,
            "detail": self.result,
            "detailClose": self.result_close,
            "description": self.d.description,
            "expected": {k: [describe(e) for e in v] for k, v in self.expected.items()},
            "expectedClose": ec,
            "received": [describe(e) for e in self.received],
            "closedByMe": p.closed_by_me,
            "failedByMe": p.failed_by_me,
            "droppedByMe": p.dropped_by_me,
            "wasClean": p.was_clean,
            "wasNotCleanReason": p.not_clean_reason,
            "localCloseCode": p.local_close_code,
        }


def describe(event):
    if event[0] == "message":
        return ["message", short(event[1]), event[2]]
    if event[0] == "pong":
        return ["pong", short(event[1])]
    return list(event)


CASES = []


def add(cid, description, run, **kw):
    CASES.append(CaseDef(cid, description, run, **kw))


def wrong_code_fails(case):
    """Section 7: an unexpected close code makes the case fail."""
    if case.behavior_close == WRONG_CODE:
        case.behavior = FAILED
        case.result = case.result_close


def informational(case):
    """Cases whose outcome the spec leaves open are always INFORMATIONAL."""
    case.result = "outcome left open by the spec (%s; %s)" % (case.result, case.result_close)
    case.behavior = case.behavior_close = INFORMATIONAL


def frames_case(cid, description, steps, mode=None, ok=(), non_strict=None,
                close="peer-fails", timer=("kill", 1), **kw):
    """Generic case: send `steps`, expect events `ok` (and optionally
    `non_strict`), and a close behavior:
      "normal"     - the server closes with 1000 once the echo is complete,
                     clean close required;
      "peer-fails" - the client must fail the connection with 1002;
      (by_me, codes, clean) - explicit."""
    def run(c):
        c.expect(list(ok), None if non_strict is None else list(non_strict))
        if close == "normal":
            c.expect_normal_close()
        elif close == "peer-fails":
            c.expect_peer_fails()
        else:
            c.expect_close(*close)
        c.p.send_frames(steps, mode)
        kind, secs = timer
        (c.p.kill_after if kind == "kill" else c.p.close_after)(secs)
    add(cid, description, run, **kw)


def define_cases():
    mode_text = {None: "", "sync": ", written frame by frame", "chop": ", written octet by octet"}

    # 1.x: echo of text / binary messages of boundary sizes
    for sub, opcode, fill, kind in ((1, 1, b"*", "text"), (2, 2, b"\xfe", "binary")):
        sizes = [(0, None, 1), (125, None, 1), (126, None, 1), (127, None, 1), (128, None, 1),
                 (65535, None, 10), (65536, None, 10), (65536, 997, 10)]
        for i, (n, chop, kill) in enumerate(sizes, 1):
            def run(c, opcode=opcode, payload=fill * n, chop=chop, kill=kill):
                c.expect([msg(payload, opcode == 2)])
                c.expect_normal_close()
                c.p.send_frame(opcode, payload, chopsize=chop)
                c.p.kill_after(kill)
            add("1.%d.%d" % (sub, i), "Send a %s message with a payload of %d octets%s; expect it echoed."
                % (kind, n, ", written in chops of %d octets" % chop if chop else ""), run)

    # 2.x: pings and pongs
    bin8 = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
    for cid, desc, steps, mode, ok, close, timer in [
        ("2.1", "Ping without payload", [F(9)], None, [pong()], "normal", ("close", 1)),
        ("2.2", "Ping with a short text payload", [F(9, b"Hello, world!")], None, [pong(b"Hello, world!")], "normal", ("close", 1)),
        ("2.3", "Ping with a short binary payload", [F(9, bin8)], None, [pong(bin8)], "normal", ("close", 1)),
        ("2.4", "Ping with a payload of 125 octets", [F(9, b"\xfe" * 125)], None, [pong(b"\xfe" * 125)], "normal", ("close", 1)),
        ("2.5", "Ping with a payload of 126 octets (too long for a control frame)", [F(9, b"\xfe" * 126)], None, [], "peer-fails", ("kill", 1)),
        ("2.6", "Ping with a payload of 125 octets", [F(9, b"\xfe" * 125)], "chop", [pong(b"\xfe" * 125)], "normal", ("close", 2)),
        ("2.7", "Unsolicited pong without payload, then close", [F(10), Close(NORMAL)], None, [], "normal", ("close", 1)),
        ("2.8", "Unsolicited pong with payload, then close", [F(10, b"unsolicited pong payload"), Close(NORMAL)], None, [], "normal", ("close", 1)),
        ("2.9", "Unsolicited pong, then a ping", [F(10, b"unsolicited pong payload"), F(9, b"ping payload")], None, [pong(b"ping payload")], "normal", ("close", 1)),
        ("2.10", "10 pings with payloads", [F(9, b"payload-%d" % i) for i in range(10)], None, [pong(b"payload-%d" % i) for i in range(10)], "normal", ("close", 3)),
        ("2.11", "10 pings with payloads", [F(9, b"payload-%d" % i) for i in range(10)], "chop", [pong(b"payload-%d" % i) for i in range(10)], "normal", ("close", 3)),
    ]:
        frames_case(cid, desc + mode_text[mode] + ".", steps, mode, ok, close=close, timer=timer)

    # 3.x: reserved bits
    hello = b"Hello, world!"
    for cid, rsv, mode, steps, echo_first in [
        ("3.1", 1, None, [F(1, hello, rsv=1)], False),
        ("3.2", 2, None, [F(1, hello), F(1, hello, rsv=2), F(9)], True),
        ("3.3", 3, "sync", [F(1, hello), F(1, hello, rsv=3), F(9)], True),
        ("3.4", 4, "chop", [F(1, hello), F(1, hello, rsv=4), F(9)], True),
        ("3.5", 5, None, [F(2, bin8, rsv=5)], False),
        ("3.6", 6, None, [F(2, hello, rsv=6)], False),
        ("3.7", 7, None, [F(8, rsv=7)], False),
    ]:
        desc = ("Text message, then the same with RSV = %d, then a ping" % rsv if echo_first
                else "A %s frame with RSV = %d" % ({1: "text", 2: "binary", 8: "close"}[steps[0].opcode], rsv))
        frames_case(cid, desc + mode_text[mode] + "; the client must fail the connection.", steps, mode,
                    ok=[msg(hello)] if echo_first else [], non_strict=[] if echo_first else None)

    # 4.x: reserved opcodes
    for sub, opcodes in ((1, (3, 4, 5, 6, 7)), (2, (11, 12, 13, 14, 15))):
        for i, op in enumerate(opcodes, 1):
            payload = b"reserved opcode payload" if i == 2 else hello if i >= 4 else b""
            if i <= 2:
                steps, ok, ns, mode = [F(op, payload)], [], None, None
                desc = "Frame with reserved opcode %d%s" % (op, " and a payload" if payload else "")
            else:
                steps, ok, ns = [F(1, hello), F(op, payload), F(9)], [msg(hello)], []
                mode = "chop" if i == 5 else None
                desc = "Text message, then a frame with reserved opcode %d%s, then a ping" % (op, " and a payload" if payload else "")
            frames_case("4.%d.%d" % (sub, i), desc + mode_text[mode] + "; the client must fail the connection.",
                        steps, mode, ok=ok, non_strict=ns)

    # 5.x: fragmentation
    frags = [b"fragment%d" % i for i in range(1, 6)]
    for op, name, cid in ((9, "Ping", "5.1"), (10, "Pong", "5.2")):
        frames_case(cid, "%s fragmented into 2 frames; the client must fail the connection." % name,
                    [F(op, frags[0], fin=False), F(0, frags[1])])
    for i, mode in enumerate((None, "sync", "chop")):
        frames_case("5.%d" % (3 + i), "Text message in 2 fragments%s; expect it echoed." % mode_text[mode],
                    [F(1, frags[0], fin=False), F(0, frags[1])], mode,
                    ok=[msg(frags[0] + frags[1])], close="normal", timer=("close", 1))
    for i, mode in enumerate((None, "sync", "chop")):
        frames_case("5.%d" % (6 + i), "Text message in 2 fragments with a ping in between%s; expect pong, then the echo." % mode_text[mode],
                    [F(1, frags[0], fin=False), F(9, b"ping payload"), F(0, frags[1])], mode,
                    ok=[pong(b"ping payload"), msg(frags[0] + frags[1])], close="normal", timer=("close", 1))
    for base, fin in ((9, True), (12, False)):
        for i, mode in enumerate((None, "sync", "chop")):
            frames_case("5.%d" % (base + i), "Continuation frame (FIN = %s) with nothing to continue, then a text message%s; the client must fail the connection."
                        % (fin, mode_text[mode]), [F(0, b"non-continuation payload", fin=fin), F(1, hello)], mode)
    frames_case("5.15", "Text message in 2 fragments, then a continuation frame (FIN = false) with nothing to continue, then a text message; the client must fail the connection.",
                [F(1, frags[0], fin=False), F(0, frags[1]), F(0, frags[2], fin=False), F(1, frags[3])],
                ok=[msg(frags[0] + frags[1])], non_strict=[])
    for cid, fin in (("5.16", False), ("5.17", True)):
        frames_case(cid, "Twice: continuation frame (FIN = %s) with nothing to continue, then a text message in 2 fragments; the client must fail the connection." % fin,
                    [F(0, frags[0], fin=fin), F(1, frags[1], fin=False), F(0, frags[2])] * 2)
    frames_case("5.18", "Text message in 2 fragments, both with the text opcode; the client must fail the connection.",
                [F(1, frags[0], fin=False), F(1, frags[1])])

    def run_5_19(c, sync):
        c.expect([pong(b"pongme 1!"), pong(b"pongme 2!"), msg(b"".join(frags))])
        c.expect_normal_close()
        mode = "sync" if sync else None
        c.p.send_frames([F(1, frags[0], fin=False), F(0, frags[1], fin=False), F(9, b"pongme 1!")], mode)

        def part2():
            c.p.send_frames([F(0, frags[2], fin=False), F(0, frags[3], fin=False),
                             F(9, b"pongme 2!"), F(0, frags[4])], mode)
            c.p.close_after(1)
        c.p.continue_later(1, part2)
    for cid, sync in (("5.19", False), ("5.20", True)):
        add(cid, "Text message in 5 fragments with 2 pings in between and a 1 s pause after the first ping%s; expect both pongs, then the echo."
            % (mode_text["sync"] if sync else ""), lambda c, sync=sync: run_5_19(c, sync))

    # 6.1 - 6.3: UTF-8 text messages, whole and fragmented
    greeting = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode()
    kosme = "\u03ba\u1f79\u03c3\u03bc\u03b5".encode()
    bad = kosme + b"\xed\xa0\x80" + b"edited"
    for cid, desc, steps in [
        ("6.1.1", "Text message of length 0", [F(1)]),
        ("6.1.2", "Text message in 3 empty fragments", [F(1, fin=False), F(0, fin=False), F(0)]),
        ("6.1.3", "Text message in 3 fragments, only the middle one non-empty", [F(1, fin=False), F(0, b"middle frame payload", fin=False), F(0)]),
        ("6.2.1", "Valid UTF-8 text message in one frame", message_frames(greeting, 1)),
        ("6.2.2", "Valid UTF-8 text message in 2 frames split on a code point boundary", [F(1, greeting[:15], fin=False), F(0, greeting[15:])]),
        ("6.2.3", "Valid UTF-8 text message in frames of 1 octet", message_frames(greeting, 1, 1)),
        ("6.2.4", "Valid UTF-8 text message (kosme) in frames of 1 octet", message_frames(kosme, 1, 1)),
    ]:
        payload = b"".join(f.payload for f in steps)
        frames_case(cid, desc + "; expect it echoed.", steps, ok=[msg(payload)], close="normal", timer=("close", 1))
    for cid, frag in (("6.3.1", None), ("6.3.2", 1)):
        def run(c, frag=frag):
            c.expect([])
            c.expect_peer_fails(INVALID_PAYLOAD, fatal=True)
            c.p.send_message(bad, frag=frag)
            c.p.kill_after(1)
        add(cid, "Invalid UTF-8 text message (a UTF-16 surrogate)%s; the client must fail the connection with 1007."
            % (" in frames of 1 octet" if frag else " in one frame"), run)

    # 6.4: fail fast on invalid UTF-8 (pauses of 1 s between the parts)
    bad2 = kosme + b"\xf4\x90\x80\x80" + b"edited"   # U+110000: out of range, invalid at octet 12
    for cid, frames, cut in (("6.4.1", True, (11, 15)), ("6.4.2", True, (12, 13)),
                             ("6.4.3", False, (11, 15)), ("6.4.4", False, (12, 13))):
        parts = (bad2[:cut[0]], bad2[cut[0]:cut[1]], bad2[cut[1]:])

        def run(c, frames=frames, parts=parts):
            c.expect([("timeout", "A")], [("timeout", "A"), ("timeout", "B")])
            c.expect_peer_fails(INVALID_PAYLOAD, fatal=True)
            if frames:
                send = [lambda: c.p.send_frame(1, parts[0], fin=False),
                        lambda: c.p.send_frame(0, parts[1], fin=False),
                        lambda: c.p.send_frame(0, parts[2])]
            else:    # one frame whose payload is written in three pieces
                send = [lambda: c.p.send_data(frame_header(1, len(bad2), fin=False) + parts[0]),
                        lambda: c.p.send_data(parts[1]),
                        lambda: (c.p.send_data(parts[2]), c.p.send_frame(0, b""))]
            send[0]()

            def step(n):
                if c.p.state == OPEN:
                    c.received.append(("timeout", "AB"[n - 1]))
                    send[n]()
                    if n == 1:
                        c.p.continue_later(1, lambda: step(2))
                    else:
                        c.p.kill_after(1)
            c.p.continue_later(1, lambda: step(1))
        add(cid, "Invalid UTF-8 text message sent in 3 %s with 1 s pauses; part 2 (%s) makes it invalid; the client should fail the connection on part 2."
            % ("frames" if frames else "pieces of one frame", parts[1].hex()), run)

    # 6.5 - 6.23: UTF-8 test sequences, one text message each
    for sub, (title, seqs) in enumerate(utf8_test_groups(), 5):
        for i, seq in enumerate(seqs, 1):
            valid = utf8_valid(seq)

            def run(c, seq=seq, valid=valid):
                if valid:
                    c.expect([msg(seq)])
                    c.expect_normal_close()
                else:
                    c.expect([])
                    c.expect_peer_fails(INVALID_PAYLOAD, fatal=True)
                c.p.send_message(seq)
                c.p.kill_after(0.5)
            add("6.%d.%d" % (sub, i), "%s: text message with %s UTF-8 payload 0x%s; %s."
                % (title, "valid" if valid else "invalid", seq.hex(),
                   "expect it echoed" if valid else "the client must fail the connection with 1007"), run)

    # 7.x: close handling
    def close_case(cid, description, steps, codes, clean, ok=(), post=wrong_code_fails, suppress=True):
        frames_case(cid, description, steps, ok=ok, close=(True, codes, clean),
                    post=post, suppress_close=suppress)
    hw = b"Hello World!"
    close_case("7.1.1", "Text message, then the server closes after the echo; expect the echo and a clean close.",
               [F(1, hw)], [NORMAL], True, ok=[msg(hw)], suppress=False)
    close_case("7.1.2", "Two close frames; the second must be ignored.", [Close(NORMAL), F(8)], [NORMAL], True)
    close_case("7.1.3", "Close, then a ping; no pong expected.", [Close(NORMAL), F(9)], [NORMAL], True)
    close_case("7.1.4", "Close, then a text message; the message must be ignored.", [Close(NORMAL), F(1, hw)], [NORMAL], True)
    close_case("7.1.5", "First fragment of a text message, close, then the last fragment.",
               [F(1, frags[0], fin=False), Close(NORMAL), F(0, frags[1])], [NORMAL], True)

    def run_7_1_6(c):
        c.expect([msg(hw)], [])
        c.expect_normal_close()
        c.p.send_frames([F(1, repeat_to(b"BAsd7&jh23", 256 * 1024)), F(1, hw), Close(NORMAL), F(9)])
        c.p.kill_after(1)
    add("7.1.6", "A 256 KiB text message, a short text message, close, then a ping (outcome left open by the spec).",
        run_7_1_6, post=informational, suppress_close=True)
    for cid, desc, close, codes, clean in [
        ("7.3.1", "Close frame without payload", Close(), [NORMAL], True),
        ("7.3.2", "Close frame with a payload of 1 octet (invalid)", Close(None, b"a"), [PROTOCOL_ERROR], False),
        ("7.3.3", "Close frame with code 1000", Close(NORMAL), [NORMAL], True),
        ("7.3.4", "Close frame with code 1000 and a reason", Close(NORMAL, b"Hello World!"), [NORMAL], True),
        ("7.3.5", "Close frame with code 1000 and a reason of 123 octets (maximum)", Close(NORMAL, b"*" * 123), [NORMAL], True),
        ("7.3.6", "Close frame with code 1000 and a reason of 124 octets (frame too long)", Close(NORMAL, b"*" * 124), [PROTOCOL_ERROR], False),
        ("7.5.1", "Close frame with code 1000 and a reason that is invalid UTF-8", Close(NORMAL, bad), [PROTOCOL_ERROR, INVALID_PAYLOAD], False),
    ]:
        close_case(cid, desc + ".", [close], codes, clean)
    for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999], 1):
        close_case("7.7.%d" % i, "Close frame with the valid code %d; expect a clean close with 1000 or %d." % (code, code),
                   [Close(code)], [NORMAL, code], True)
    for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], 1):
        close_case("7.9.%d" % i, "Close frame with the invalid code %d; expect close code 1002 or a dropped connection." % code,
                   [Close(code)], [PROTOCOL_ERROR], False)
    for i, code in enumerate([5000, 65535], 1):
        close_case("7.13.%d" % i, "Close frame with code %d (outcome left open by the spec)." % code,
                   [Close(code)], [NORMAL, code, PROTOCOL_ERROR], False, post=informational)

    # 9.x: limits and performance
    def big_case(cid, description, payload, binary, send, waitsecs):
        def run(c):
            c.expect_normal_close()
            c.result = "no echo within %d s" % min(waitsecs, c.p.srv.max_wait)
            send(c)
            c.p.close_after(waitsecs)

        def on_message(c, data, is_binary):
            if is_binary != binary:
                c.result = "expected a %s message, got %s" % (("text", "binary")[binary], ("text", "binary")[is_binary])
            elif len(data) != len(payload):
                c.result = "expected %d octets, got %d" % (len(payload), len(data))
            elif data != payload:
                c.result = "echoed payload differs from the one sent"
            else:
                c.behavior = OK
                c.result = "echo of %d octets received" % len(data)
            c.p.send_close(NORMAL)
        add(cid, description, run, on_message=on_message, report_time=True)

    sizes = [(64 << 10, "64 KiB"), (256 << 10, "256 KiB"), (1 << 20, "1 MiB"), (4 << 20, "4 MiB"), (8 << 20, "8 MiB"), (16 << 20, "16 MiB")]
    waits = {1: [10, 10, 100, 100, 100, 100], 2: [10, 10, 10, 10, 100, 100]}
    for sub, opcode, pattern in ((1, 1, b"BAsd7&jh23"), (2, 2, b"\x00\xfe\x23\xfa\xf0")):
        for i, (n, label) in enumerate(sizes, 1):
            big_case("9.%d.%d" % (sub, i), "Send a %s message of %s; expect it echoed."
                     % (("", "text", "binary")[opcode], label), repeat_to(pattern, n), opcode == 2,
                     lambda c, opcode=opcode, pattern=pattern, n=n: c.p.send_frame(opcode, repeat_to(pattern, n)),
                     waits[sub][i - 1])
    frag_sizes = [(64, "64 octets"), (256, "256 octets"), (1 << 10, "1 KiB"), (4 << 10, "4 KiB"), (16 << 10, "16 KiB"),
                  (64 << 10, "64 KiB"), (256 << 10, "256 KiB"), (1 << 20, "1 MiB"), (4 << 20, "4 MiB")]
    for sub, binary in ((3, False), (4, True)):
        for i, (frag, label) in enumerate(frag_sizes, 1):
            payload = (b"\xfe" if binary and i == 1 else b"*") * (4 << 20)
            big_case("9.%d.%d" % (sub, i), "Send a %s message of 4 MiB in fragments of %s; expect it echoed."
                     % ("binary" if binary else "text", label), payload, binary,
                     lambda c, payload=payload, binary=binary, frag=frag: c.p.send_message(payload, binary, frag), 100)
    for sub, opcode, pattern in ((5, 1, b"BAsd7&jh23"), (6, 2, b"\x00\xfe\x23\xfa\xf0")):
        for i, chop in enumerate([64, 128, 256, 512, 1024, 2048], 1):
            big_case("9.%d.%d" % (sub, i), "Send a %s message of 1 MiB, written in chops of %d octets; expect it echoed."
                     % (("", "text", "binary")[opcode], chop), repeat_to(pattern, 1 << 20), opcode == 2,
                     lambda c, opcode=opcode, pattern=pattern, chop=chop: c.p.send_frame(opcode, repeat_to(pattern, 1 << 20), chopsize=chop),
                     1000)

    def run_rtt(c, size, count, binary, waitsecs):
        c.expect_normal_close()
        c.result = "case did not finish within %d s" % min(waitsecs, c.p.srv.max_wait)
        c.p.close_after(waitsecs)
        c.state["sent"] = 1
        c.p.send_frame(2 if binary else 1, (b"\xfe" if binary else b"*") * size)

    def rtt_message(c, data, is_binary, size, count, binary):
        if is_binary != binary or len(data) != size:
            c.behavior = FAILED
            c.result = "echo differs from what was sent (binary = %s, %d octets)" % (is_binary, len(data))
            c.p.send_close(NORMAL)
        elif c.state["sent"] < count:
            c.state["sent"] += 1
            c.p.send_frame(2 if binary else 1, (b"\xfe" if binary else b"*") * size)
        else:
            c.behavior = OK
            c.result = "all %d echoes received" % count
            c.p.send_close(NORMAL)
    for sub, binary in ((7, False), (8, True)):
        for i, (size, waitsecs) in enumerate([(0, 60), (16, 60), (64, 60), (256, 120), (1024, 240), (4096, 480)], 1):
            add("9.%d.%d" % (sub, i), "Send 1000 %s messages of %d octets one after the other (round trip time)."
                % ("binary" if binary else "text", size),
                lambda c, a=(size, 1000, binary, waitsecs): run_rtt(c, *a),
                on_message=lambda c, d, b, a=(size, 1000, binary): rtt_message(c, d, b, *a), report_time=True)

    # 10.1.1: server-side auto-fragmentation
    def run_10_1_1(c):
        payload = b"*" * 65536
        c.expect([msg(payload)])
        c.expect_normal_close()
        c.p.send_message(payload, frag=1300)
        c.p.kill_after(10)

    def check_10_1_1(c):
        got = {0: c.p.tx_frames[0], 1: c.p.tx_frames[1]}
        want = {0: 65536 // 1300, 1: 1}
        if got != want:
            c.behavior = FAILED
            c.result = "frames sent %s differ from %s" % (got, want)
    add("10.1.1", "Send a text message of 64 KiB auto-fragmented into frames of 1300 octets; expect it echoed.",
        run_10_1_1, post=check_10_1_1)

    CASES.sort(key=lambda d: d.key)


def utf8_test_groups():
    """(title, [byte sequences]) for 6.5 ... 6.23, in suite order.  Most come
    from Markus Kuhn's UTF-8 decoder stress test; validity is computed."""
    kosme = "\u03ba\u1f79\u03c3\u03bc\u03b5".encode()

    def enc(cp):
        return chr(cp).encode("utf-8", "surrogatepass")

    missing_last = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
                    b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    highs, lows = [0xD800, 0xDB7F, 0xDB80, 0xDBFF], [0xDC00, 0xDFFF]
    return [
        ("Some valid UTF-8 sequences",
         [b"hello" + enc(cp) + b"world" for cp in (0x24, 0xA2, 0x20AC, 0x24B62)] + [kosme]),
        ("All prefixes of a valid string with multi-octet code points",
         [kosme[:i] for i in range(1, len(kosme) + 1)]),
        ("First possible sequence of each length", [enc(cp) for cp in (0x0, 0x80, 0x800, 0x10000)]),
        ("First possible 5/6-octet sequences (beyond Unicode)", [b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
        ("Last possible sequence of each length", [enc(cp) for cp in (0x7F, 0x7FF, 0xFFFF, 0x10FFFF)]),
        ("Last possible 4/5/6-octet sequences (beyond Unicode)",
         [b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"]),
        ("Other boundary conditions", [enc(cp) for cp in (0xD7FF, 0xE000, 0xFFFD, 0x10FFFF)] + [b"\xf4\x90\x80\x80"]),
        ("Unexpected continuation octets",
         [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80", b"\x80\xbf\x80\xbf", b"\x80\xbf\x80\xbf\x80",
          b"\x80\xbf\x80\xbf\x80\xbf", bytes(range(0x80, 0xBF))]),
        ("Lonely start octets",
         [b"".join(bytes((lead, 0x20)) for lead in range(lo, hi))
          for lo, hi in ((0xC0, 0xDF), (0xE0, 0xEF), (0xF0, 0xF7), (0xF8, 0xFB), (0xFC, 0xFD))]),
        ("Sequences with the last continuation octet missing", missing_last),
        ("Concatenation of incomplete sequences", [b"".join(missing_last)]),
        ("Impossible octets", [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]),
        ("Overlong encodings of '/'",
         [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xf8\x80\x80\x80\xaf", b"\xfc\x80\x80\x80\x80\xaf"]),
        ("Maximum overlong sequences",
         [b"\xc1\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xf8\x87\xbf\xbf\xbf", b"\xfc\x83\xbf\xbf\xbf\xbf"]),
        ("Overlong encodings of NUL",
         [b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf8\x80\x80\x80\x80", b"\xfc\x80\x80\x80\x80\x80"]),
        ("Single UTF-16 surrogates", [enc(cp) for cp in (0xD800, 0xDB7F, 0xDB80, 0xDBFF, 0xDC00, 0xDF80, 0xDFFF)]),
        ("Paired UTF-16 surrogates", [enc(h) + enc(lo) for h in highs for lo in lows]),
        ("Non-character code points (valid UTF-8)",
         [enc(0xFFFE), enc(0xFFFF)] + [enc(plane << 16 | low) for plane in range(1, 17) for low in (0xFFFE, 0xFFFF)]),
        ("Unicode specials (valid UTF-8)", [enc(cp) for cp in range(0xFFF9, 0x10000)]),
    ]


# --------------------------------------------------------------------------
# the server: case selection, results, reports

class FuzzingServer:

    def __init__(self, cases, report_dir, max_wait):
        self.cases = cases
        self.index_of = {d.id: i for i, d in enumerate(cases, 1)}
        self.report_dir = report_dir
        self.max_wait = max_wait
        self.results = {}          # agent -> {case id -> result}
        self.listeners = collections.defaultdict(list)
        self.port = None
        self.stop_event = None

    def record(self, agent, result):
        self.results.setdefault(agent, {})[result["id"]] = result
        log("case %s for %s: %s / %s (%s; %s)" % (result["id"], agent, result["behavior"], result["behaviorClose"],
                                                  result["detail"], result["detailClose"]))
        for fn in self.listeners.pop((agent, result["id"]), []):
            fn(result["behavior"])

    def when_recorded(self, agent, cid, fn):
        result = self.results.get(agent, {}).get(cid)
        if result is not None:
            fn(result["behavior"])
            return
        self.listeners[(agent, cid)].append(fn)

        def give_up():
            if fn in self.listeners.get((agent, cid), []):
                self.listeners[(agent, cid)].remove(fn)
                fn("MISSING")
        asyncio.get_running_loop().call_later(self.max_wait + 30, give_up)

    def write_reports(self):
        os.makedirs(self.report_dir, exist_ok=True)
        index = {}
        for agent in sorted(self.results):
            done = self.results[agent]
            index[agent] = {}
            for d in self.cases:
                r = done.get(d.id)
                if r is None:
                    continue
                fname = "%s_case_%s.json" % ("".join(ch if ch.isalnum() else "_" for ch in agent.lower()),
                                              d.id.replace(".", "_"))
                index[agent][d.id] = {k: r[k] for k in ("behavior", "behaviorClose", "duration", "remoteCloseCode",
                                                       "detail", "detailClose")}
                index[agent][d.id]["reportfile"] = fname
                with open(os.path.join(self.report_dir, fname), "w") as f:
                    json.dump(dict(r, agent=agent), f, indent=2)
            self.print_summary(agent)
        tmp = os.path.join(self.report_dir, "index.json.tmp")
        with open(tmp, "w") as f:
            json.dump(index, f, indent=2)
        os.replace(tmp, os.path.join(self.report_dir, "index.json"))

    def print_summary(self, agent):
        done = self.results[agent]
        count = collections.Counter()
        for r in done.values():
            if r["behavior"] == FAILED or r["behaviorClose"] in (FAILED, UNCLEAN):
                count[FAILED] += 1
            elif r["behavior"] in (NON_STRICT, INFORMATIONAL, UNIMPLEMENTED):
                count[r["behavior"]] += 1
        line = "agent %s: %d cases, %d FAILED, %d NON-STRICT, %d INFORMATIONAL" % (
            agent, len(done), count[FAILED], count[NON_STRICT], count[INFORMATIONAL])
        if count[UNIMPLEMENTED]:
            line += ", %d UNIMPLEMENTED" % count[UNIMPLEMENTED]
        missing = sum(1 for d in self.cases if d.id not in done)
        if missing:
            line += ", %d missing" % missing
        print(line, flush=True)

    def stop(self):
        if self.stop_event is not None:
            self.stop_event.set()


def select_cases(patterns, excludes):
    def matches(cid, pats):
        return any(fnmatch.fnmatchcase(cid, p.strip()) for p in pats.split(",") if p.strip())
    return [d for d in ALL_CASES if matches(d.id, patterns) and not (excludes and matches(d.id, excludes))]


define_cases()
ALL_CASES = list(CASES)


def watch_stdin(loop, stop):
    try:
        while os.read(sys.stdin.fileno(), 65536):
            pass
    except OSError:
        pass
    loop.call_soon_threadsafe(stop.set)


async def main(args):
    cases = select_cases(args.cases, args.exclude_cases)
    if not cases:
        print("fuzzingserver: no case matches %r" % args.cases, file=sys.stderr)
        return 2
    srv = FuzzingServer(cases, args.report_dir, args.max_wait)
    loop = asyncio.get_running_loop()
    srv.stop_event = stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not args.ignore_stdin:
        threading.Thread(target=watch_stdin, args=(loop, stop), daemon=True).start()
    server = await loop.create_server(lambda: FuzzConnection(srv), "127.0.0.1", args.port)
    srv.port = server.sockets[0].getsockname()[1]
    sys.stdout.write("READY %d\n" % srv.port)
    sys.stdout.flush()
    log("listening on port %d with %d cases" % (srv.port, len(cases)))
    await stop.wait()
    await asyncio.sleep(0.05)   # let a /stopServer close frame go out
    server.close()
    return 0


def parse_args():
    ap = argparse.ArgumentParser(description="Autobahn fuzzingserver stand-in (client test cases 1-10)")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    ap.add_argument("--report-dir", default="reports/clients", help="where /updateReports writes index.json")
    ap.add_argument("--cases", default="*", help="comma-separated globs on case ids (default: all 301)")
    ap.add_argument("--exclude-cases", default="", help="comma-separated globs of case ids to leave out")
    ap.add_argument("--max-wait", type=float, default=100.0,
                    help="cap in seconds for the suite's case timers (default 100)")
    ap.add_argument("--ignore-stdin", action="store_true", help="do not exit when stdin reaches EOF")
    ap.add_argument("--list", action="store_true", help="print the selected case ids and descriptions, then exit")
    ap.add_argument("--verbose", action="store_true", help="log to stderr")
    return ap.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    VERBOSE = ARGS.verbose
    if ARGS.list:
        for n, d in enumerate(select_cases(ARGS.cases, ARGS.exclude_cases), 1):
            print("%3d %-8s %s" % (n, d.id, d.description))
        sys.exit(0)
    rc = asyncio.run(main(ARGS))
    sys.stdout.flush()
    os._exit(rc or 0)
