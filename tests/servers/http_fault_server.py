#!/usr/bin/python3
"""Scripted HTTP/1.1 test server for the hl_net.h HTTP client tests (faults on purpose).

Standard library only, raw asyncio streams (not http.server): every response byte is chosen
here, so framing faults can be produced exactly.  Run it with the system interpreter:

    /usr/bin/python3 tests/servers/http_fault_server.py [--port N] [--fixtures DIR]
        [--ignore-stdin] [--verbose]

Protocol with the test harness (tests/harness.h, hl_test_server_start):
  * binds 127.0.0.1:<port> (0 = ephemeral) and prints exactly one line "READY <port>" on
    stdout; nothing else is ever written to stdout;
  * exits when stdin reaches EOF (unless --ignore-stdin), and on SIGTERM / SIGINT;
  * logs to stderr only with --verbose.
  * --fixtures DIR: the Hyperliquid samples for /info and /exchange (default: ../shared/
    fixtures/hl beside the repository, found from this script's location).

Connections.  HTTP/1.1 keep-alive: a connection serves requests one after the other (pipelined
requests are answered in order) until the client closes it, the request says
"Connection: close" (or is HTTP/1.0 without "Connection: keep-alive"), or the mode closes it.
The server never closes an idle connection by itself, except after /idle_close.
Connections are numbered 1, 2, 3 ... in accept order over the server's life (/_reset does not
restart the numbering); requests are numbered 1, 2, 3 ... within their connection.

Requests.  Request line and headers must end in CRLF (a bare LF, obs-fold, a space before the
colon or a malformed request line is answered 400 and closed; a head over 1 MiB is 431 and
closed).  The body is read by Content-Length or chunked Transfer-Encoding (both present: 400);
"Expect: 100-continue" with a body gets "HTTP/1.1 100 Continue\\r\\n\\r\\n" before the body is
read.  Bodies over 64 MiB: 413 and closed.

Responses.  Unless a mode says otherwise a response is, byte for byte:

    HTTP/1.1 <code> <reason>\\r\\n          (reason: REASONS below, else Python's phrase, else "Unknown")
    X-Conn: <connection number>\\r\\n
    X-Seq: <request number on that connection>\\r\\n
    <the mode's own headers, in the order listed below>\\r\\n
    Content-Type: <type>\\r\\n             (application/octet-stream unless listed)
    Content-Length: <n>\\r\\n              (or "Transfer-Encoding: chunked")
    Connection: close\\r\\n                (only when the server closes after this response)
    \\r\\n
    <body>

  * A HEAD request gets exactly the head a GET would get (Content-Length or Transfer-Encoding
    included) and no body, in every mode except /bad and /drop (those send their bytes as
    for GET).  204, 304 and 1xx responses never carry a body.
  * "Pattern bytes": body byte i of a pattern body is PATTERN[i % 62] with
    PATTERN = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".
  * Generic query parameters, accepted by every mode that sends a normal body (/ok, /echo,
    /bytewise, /slow_first_byte, /slow_body, /status, /flaky, /retry_after*, /storm,
    /idle_close, /info, /exchange, /interim):
        chunked=1   send the body chunked, in chunks of `chunk` bytes (default 4096), with no
                    extensions and no trailers ("<hex>\\r\\n<data>\\r\\n" ... "0\\r\\n\\r\\n");
        bytewise=1  write every byte of the response (interim heads included) with its own
                    send and a sleep of byte_delay_ms (default 1, may be fractional) after it;
        close=1     close the connection after this response (adds "Connection: close").
  * Invalid query parameter values are answered 400 "bad parameter <name>" and closed.

Modes (path; query parameters with defaults).  Counters ("attempt n") are kept per request
target, i.e. path plus query string exactly as sent, so /flaky?fail=2&id=a and
/flaky?fail=2&id=b count separately; /_reset clears them.  Counting modes add
"X-Attempt: <n>" (n from 1) as their first own header.

  /ok?size=16&pad=0            200, body = size pattern bytes (size <= 64 MiB).  pad=N adds a
                               header "X-Pad: " + N bytes of 'p' (a big but valid head).
  /echo                        200, own header "X-Method: <method>", body = the request body
                               (decoded if it came chunked), Content-Type = the request's
                               Content-Type or application/octet-stream.  Any method.
  /chunked?chunks=5,10,1&ext=0&trailers=0&upper=0&pad=0
                               200, chunked; chunk k has the size given by the k-th number
                               (decimal; zeros are skipped: an empty chunk would end the body)
                               and carries the next pattern bytes.  Size lines are lowercase
                               hex without leading zeros; upper=1: uppercase; pad=1: 8 digits
                               with leading zeros.  ext=1: every size line, the last "0" one
                               too, is followed by ';i=<k>;q="x;y \\"z\\"";flag' (k counts
                               from 0; the last chunk has k = number of data chunks).
                               trailers=1: own header "Trailer: X-Checksum, X-Trailer-Note" and
                               after "0[ext]\\r\\n" the fields "X-Checksum: <sum of the body
                               bytes, decimal>\\r\\nX-Trailer-Note: done\\r\\n" then "\\r\\n".
  /bytewise?size=16            /ok with bytewise=1 forced (every byte its own send, 1 ms apart).
  /close_delimited?size=16     200, no Content-Length, no Transfer-Encoding, "Connection:
                               close"; the body is size pattern bytes ended by the close (FIN).
  /status?code=200&body=...&reason=...&h=Name:Value&cl=10
                               code (200..999) with its standard reason (reason= overrides,
                               may be empty: "HTTP/1.1 200 \\r\\n"), body = body= (default
                               "status <code>"), Content-Type text/plain.  Each h= adds the
                               header "Name: Value" verbatim, in order.  For 204 and 304 the
                               head carries "Content-Length: <cl>" (default 10, cl=-1 leaves it
                               out) and no Content-Type, and no body follows; the connection
                               stays open.  HEAD /ok?size=N: Content-Length: N, no body.
  /interim?size=5&gap_ms=0     "HTTP/1.1 100 Continue\\r\\n\\r\\n", then "HTTP/1.1 103 Early Hints
                               \\r\\nLink: </style.css>; rel=preload; as=style\\r\\n\\r\\n" (gap_ms
                               between the three parts), then a normal 200 with "final" (size=5)
                               or size pattern bytes (size != 5).
  /slow_first_byte?delay_ms=1000&size=16
                               waits delay_ms before sending anything, then as /ok.
  /slow_body?delay_ms=2000&size=16&first=0
                               sends the head (Content-Length: size) and the first `first`
                               bytes of the framed body at once, stalls delay_ms, then the rest.
  /flaky?fail=1&status=503&retry_after=
                               attempts 1..fail get `status` with body "flaky failure <n>/<fail>"
                               (text/plain; own header "Retry-After: <retry_after>" when given);
                               later attempts get 200 with body "ok".
  /retry_after?seconds=1&times=1&status=429
                               attempts 1..times get `status` with own header "Retry-After:
                               <seconds>" and the body of the fixture http_429_body.txt
                               (text/plain; "null" at the time of writing); later ones 200 "ok".
  /retry_after_date?seconds=3&times=1&status=429
                               the same with "Retry-After: <IMF-fixdate>" naming the whole
                               second ceil(now + seconds), preceded by "Date: <IMF-fixdate of
                               floor(now)>"; a client's wait is thus within [seconds-1, seconds+1]
                               of the server's clock.
  /storm?status=500            always `status`, body "storm" (text/plain), until a request to
                               /_heal; then 200 "healed".  /_reset un-heals.
  /close_mid_body?size=100&after=10&rst=0
                               head with Content-Length: size, then `after` pattern bytes, then
                               the connection closes (FIN; rst=1: RST by SO_LINGER 0).
  /idle_close?after_ms=200&size=2
                               200 with size pattern bytes, keep-alive; if no byte of a new
                               request arrives within after_ms the server closes the connection
                               (FIN).  A request that arrives in time is served normally.
  /drop?fail=1&how=fin         attempts 1..fail get no response: how=fin closes (FIN), rst
                               resets (RST), partial sends "HTTP/1.1 200 OK\\r\\nContent-" and
                               closes, head sends a complete head with Content-Length: 10 and
                               no body and closes.  Later attempts: 200 "ok".
  /bad?kind=...&bytewise=0     sends exactly the bytes of BAD[kind] below, then closes (FIN):
                               two_cl, cl_list, cl_and_chunked, bad_chunk_size, chunk_overflow
                               (size 2^64+1: wraps to 1 in a 64-bit parser), chunk_overflow63
                               (size 2^63), chunk_no_crlf, obs_fold, huge_headers (size=70000:
                               headers "X-Pad-NNNN: " + 1000 'p' until the head passes size
                               bytes, > 64 KiB by default), huge_header_line (one "X-Huge:"
                               header of size 'h'), bad_status_line ("HTTP/1.1 2x0 OK"),
                               status_garbage, status_http2, status_4digit, status_lf_only
                               (status line ends in a bare LF), negative_cl, cl_plus,
                               cl_overflow (2^64+1), cl_hex, space_before_colon, no_colon,
                               bare_lf (every line ends in a bare LF), nul_in_header, te_gzip
                               (Transfer-Encoding: gzip alone: a close-delimited body, RFC 9112
                               6.3), te_chunked_not_last ("chunked, gzip"), cl_short (Content-
                               Length 10, 4 bytes, close).  GET /bad?kind=list: the names.
  /info (POST)                 Hyperliquid-like.  The body is JSON {"type": T, ...}:
                               T with a fixture "<T>_response.json" (meta, l2Book, allMids,
                               candleSnapshot, fundingHistory, openOrders, userFills,
                               userFunding, clearinghouseState; userFillsByTime -> userFills)
                               -> 200 application/json, the fixture bytes;
                               T = "big" -> 200 application/json, a JSON array of candle
                               objects of at least {"size": N} bytes (default 700000), with own
                               header "X-Body-Sum: <sum of the body bytes mod 2^32>";
                               anything else (bad JSON too) -> 422 text/plain with the bytes of
                               http_422_body.txt.  Query: fail=0&status=503 (attempts 1..fail
                               fail first, body "info failure"), delay_ms=0.  Not POST: 405
                               with "Allow: POST".
  /exchange (POST)             Counts attempts; attempts 1..fail (fail=0, status=502) get
                               `status` with body "bad gateway" (text/plain); the others 200
                               application/json with exchange_order_response_resting.json.
                               delay_ms=0 waits first.  Not POST: 405 with "Allow: POST".
  anything else                404 "not found" (text/plain).

Control endpoints (any method; never logged; normal responses with X-Conn/X-Seq):
  /_log?path=P                 200 application/json: the list of logged requests (path P
                               only, when given), oldest first, each
                               {"conn": c, "seq": s, "t_ms": ms since start (monotonic),
                                "method": m, "target": t, "path": p, "version": "HTTP/1.1",
                                "headers": [[name, value], ...], "chunked": bool,
                                "body_len": n, "body": text or null (null when over 64 KiB
                                or not UTF-8)}.
  /_count?path=P               200 application/json {"requests":R,"connections":C}: logged
                               requests (to path P when given) and how many distinct
                               connections carried them.
  /_reset                      200 "reset": clears the log, the attempt counters, /_heal.
  /_heal                       200 "healed": /storm answers 200 from now on.
"""

import argparse
import asyncio
import email.utils
import http
import json
import math
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

PATTERN = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MAX_HEAD = 1 << 20
MAX_BODY = 64 << 20
MAX_SIZE = 64 << 20
LOG_BODY_MAX = 64 << 10
CHUNK_EXT = b';i=%d;q="x;y \\"z\\"";flag'

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "hl"))


def pattern(n, start=0):
    """n pattern bytes starting at pattern offset start."""
    if n <= 0:
        return b""
    reps = (start % 62 + n) // 62 + 1
    s = start % 62
    return (PATTERN * reps)[s:s + n]


def _huge_headers(size):
    out = [b"HTTP/1.1 200 OK\r\n"]
    total = len(out[0])
    i = 0
    while total <= size:
        line = b"X-Pad-%04d: %s\r\n" % (i, b"p" * 1000)
        out.append(line)
        total += len(line)
        i += 1
    out.append(b"Content-Length: 2\r\n\r\nok")
    return b"".join(out)


# The exact bytes of every /bad kind (huge_* are built from `size`).
BAD = {
    "two_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "cl_list": b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
    "cl_and_chunked": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5\r\nhello\r\n0\r\n\r\n"),
    "bad_chunk_size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "chunk_overflow": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"10000000000000001\r\na\r\n0\r\n\r\n"),
    "chunk_overflow63": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"8000000000000000\r\na\r\n0\r\n\r\n"),
    "chunk_no_crlf": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n\r\nok",
    "bad_status_line": b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
    "status_garbage": b"hello world\r\n\r\n",
    "status_http2": b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "status_4digit": b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
    "status_lf_only": b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok",
    "negative_cl": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
    "cl_plus": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "cl_overflow": b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551617\r\n\r\nok",
    "cl_hex": b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok",
    "space_before_colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "no_colon": b"HTTP/1.1 200 OK\r\nX-Broken\r\nContent-Length: 2\r\n\r\nok",
    "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "nul_in_header": b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "te_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
    "te_chunked_not_last": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                            b"2\r\nok\r\n0\r\n\r\n"),
    "cl_short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshor",
    "huge_headers": None,
    "huge_header_line": None,
}


def bad_bytes(kind, size):
    if kind == "huge_headers":
        return _huge_headers(size)
    if kind == "huge_header_line":
        return b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * size + b"\r\nContent-Length: 2\r\n\r\nok"
    return BAD[kind]


# Reason phrases fixed here (Python's own table changes between versions, e.g. 422, 413).
REASONS = {
    100: "Continue", 103: "Early Hints", 200: "OK", 201: "Created", 202: "Accepted",
    204: "No Content", 206: "Partial Content", 301: "Moved Permanently", 302: "Found",
    304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
    413: "Content Too Large", 418: "I'm a teapot", 422: "Unprocessable Entity",
    425: "Too Early", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


def reason_of(code):
    if code in REASONS:
        return REASONS[code]
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def encode_chunked(body, sizes, ext=False, trailers=None, upper=False, pad=False):
    """Chunked framing of body cut by sizes (the last chunk takes the rest if sizes are short)."""
    out = []
    pos = 0
    k = 0

    def size_line(n, idx):
        if pad:
            s = "%08X" % n if upper else "%08x" % n
        else:
            s = "%X" % n if upper else "%x" % n
        line = s.encode()
        if ext:
            line += CHUNK_EXT % idx
        return line + b"\r\n"

    for n in sizes:
        if n <= 0:
            continue
        part = body[pos:pos + n]
        if not part:
            break
        out.append(size_line(len(part), k))
        out.append(part + b"\r\n")
        pos += len(part)
        k += 1
    if pos < len(body):
        out.append(size_line(len(body) - pos, k))
        out.append(body[pos:] + b"\r\n")
        k += 1
    out.append(size_line(0, k))
    for name, value in trailers or ():
        out.append(b"%s: %s\r\n" % (name.encode(), value.encode()))
    out.append(b"\r\n")
    return b"".join(out)


class BadRequest(Exception):
    def __init__(self, code, text):
        Exception.__init__(self, text)
        self.code = code
        self.text = text


class BadParam(Exception):
    pass


class IdleTimeout(Exception):
    pass


class Request:
    def __init__(self):
        self.method = ""
        self.target = ""
        self.path = ""
        self.query = {}
        self.version = ""
        self.headers = []
        self.body = b""
        self.chunked = False

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def tokens(self, name):
        out = []
        for k, v in self.headers:
            if k.lower() == name.lower():
                out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def wants_close(self):
        conn = self.tokens("connection")
        if "close" in conn:
            return True
        if self.version == "HTTP/1.0" and "keep-alive" not in conn:
            return True
        return False

    # query helpers
    def q(self, name, default=None):
        v = self.query.get(name)
        return v[-1] if v else default

    def qint(self, name, default, lo=0, hi=MAX_SIZE):
        v = self.q(name)
        if v is None or v == "":
            return default
        try:
            n = int(v, 10)
        except ValueError:
            raise BadParam(name)
        if n < lo or n > hi:
            raise BadParam(name)
        return n

    def qfloat(self, name, default, lo=0.0, hi=600000.0):
        v = self.q(name)
        if v is None or v == "":
            return default
        try:
            x = float(v)
        except ValueError:
            raise BadParam(name)
        if not (lo <= x <= hi):
            raise BadParam(name)
        return x

    def qbool(self, name):
        v = self.q(name, "0")
        if v not in ("0", "1", ""):
            raise BadParam(name)
        return v == "1"


class State:
    def __init__(self, fixtures, verbose):
        self.fixtures = fixtures
        self.verbose = verbose
        self.t0 = time.monotonic()
        self.conn_count = 0
        self.tasks = set()
        self.big_cache = {}
        self.reset()

    def reset(self):
        self.log = []
        self.counters = {}
        self.healed = False

    def attempt(self, req):
        n = self.counters.get(req.target, 0) + 1
        self.counters[req.target] = n
        return n

    def fixture(self, name):
        with open(os.path.join(self.fixtures, name), "rb") as f:
            return f.read()

    def say(self, *a):
        if self.verbose:
            print("http_fault_server:", *a, file=sys.stderr, flush=True)


STATE = None


def big_body(size):
    """A deterministic JSON array of candle objects, at least size bytes."""
    cached = STATE.big_cache.get(size)
    if cached is not None:
        return cached
    parts = []
    total = 1
    i = 0
    while total < size or i == 0:
        t = 1681920000000 + i * 3600000
        o = 1000 + (i * 7919) % 100000
        item = ('{"T":%d,"c":"%d.%04d","h":"%d.%04d","i":"1h","l":"%d.%04d","n":%d,'
                '"o":"%d.%04d","s":"kPEPE","t":%d,"v":"%d.0"}') % (
            t + 3599999, o // 10000, o % 10000, (o + 37) // 10000, (o + 37) % 10000,
            (o - 23) // 10000, (o - 23) % 10000, 100 + i % 997, o // 10000, (o + 11) % 10000,
            t, 1000000 + (i * 104729) % 90000000)
        parts.append(item)
        total += len(item) + 1
        i += 1
    body = ("[" + ",".join(parts) + "]").encode()
    STATE.big_cache[size] = body
    return body


class Conn:
    def __init__(self, cid, reader, writer):
        self.cid = cid
        self.reader = reader
        self.writer = writer
        self.sock = writer.get_extra_info("socket")
        self.buf = bytearray()
        self.seq = 0
        self.bytewise = False
        self.byte_delay = 0.001
        self.idle = None       # seconds: close if no new request byte arrives in time
        self.closed = False

    # ---- input
    async def fill(self):
        data = await self.reader.read(65536)
        if not data:
            raise EOFError()
        self.buf += data

    async def readline(self, limit=8192):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                if not line.endswith(b"\r\n"):
                    raise BadRequest(400, "bare LF")
                return line[:-2]
            if len(self.buf) > limit:
                raise BadRequest(400, "line too long")
            await self.fill()

    async def readexact(self, n):
        while len(self.buf) < n:
            await self.fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def read_request(self):
        """The next request, or None on a clean EOF between requests."""
        if not self.buf:
            try:
                if self.idle is not None:
                    try:
                        await asyncio.wait_for(self.fill(), self.idle)
                    except asyncio.TimeoutError:
                        raise IdleTimeout()
                else:
                    await self.fill()
            except EOFError:
                return None
        self.idle = None
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > MAX_HEAD:
                raise BadRequest(431, "request head too large")
            try:
                await self.fill()
            except EOFError:
                return None
        head = bytes(self.buf[:end])
        del self.buf[:end + 4]
        if len(head) > MAX_HEAD:
            raise BadRequest(431, "request head too large")
        lines = head.split(b"\r\n")
        for ln in lines:
            if b"\n" in ln or b"\r" in ln:
                raise BadRequest(400, "bare CR or LF in the head")
        try:
            rl = lines[0].decode("ascii")
        except UnicodeDecodeError:
            raise BadRequest(400, "bad request line")
        m = re.fullmatch(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP/1\.[01])", rl)
        if not m:
            raise BadRequest(400, "bad request line")
        req = Request()
        req.method, req.target, req.version = m.group(1), m.group(2), m.group(3)
        u = urllib.parse.urlsplit(req.target)
        req.path = u.path
        req.query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        for ln in lines[1:]:
            if ln[:1] in (b" ", b"\t"):
                raise BadRequest(400, "obs-fold in the request")
            i = ln.find(b":")
            if i <= 0:
                raise BadRequest(400, "header without a name or colon")
            name = ln[:i].decode("latin-1")
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise BadRequest(400, "bad header name")
            req.headers.append((name, ln[i + 1:].strip(b" \t").decode("latin-1")))
        te = req.tokens("transfer-encoding")
        cls = [v for k, v in req.headers if k.lower() == "content-length"]
        if te and cls:
            raise BadRequest(400, "both Content-Length and Transfer-Encoding")
        if te:
            if te != ["chunked"]:
                raise BadRequest(501, "unsupported transfer coding")
            req.chunked = True
            await self.expect_continue(req)
            req.body = await self.read_chunked()
        elif cls:
            if len(set(cls)) != 1 or not re.fullmatch(r"[0-9]{1,18}", cls[0]):
                raise BadRequest(400, "bad Content-Length")
            n = int(cls[0])
            if n > MAX_BODY:
                raise BadRequest(413, "request body too large")
            if n:
                await self.expect_continue(req)
            req.body = await self.readexact(n)
        return req

    async def expect_continue(self, req):
        if req.version == "HTTP/1.1" and "100-continue" in req.tokens("expect"):
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await self.writer.drain()

    async def read_chunked(self):
        body = bytearray()
        while True:
            line = await self.readline()
            size_s = line.split(b";", 1)[0].strip(b" \t")
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,15}", size_s):
                raise BadRequest(400, "bad chunk size")
            n = int(size_s, 16)
            if n == 0:
                while True:
                    t = await self.readline()
                    if not t:
                        return bytes(body)
            if len(body) + n > MAX_BODY:
                raise BadRequest(413, "request body too large")
            body += await self.readexact(n)
            if await self.readexact(2) != b"\r\n":
                raise BadRequest(400, "chunk data not followed by CRLF")

    # ---- output
    async def write(self, data):
        if not data:
            return
        if self.bytewise:
            for i in range(len(data)):
                self.writer.write(data[i:i + 1])
                await self.writer.drain()
                await asyncio.sleep(self.byte_delay)
        else:
            self.writer.write(data)
            await self.writer.drain()

    async def close(self, rst=False):
        if self.closed:
            return
        self.closed = True
        try:
            if rst and self.sock is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.writer.transport.abort()
                return
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        except Exception:
            pass


def build_head(conn, req, code, headers, ctype, framing, body_len, close, reason=None):
    """framing: 'cl', 'chunked', 'none' (close-delimited or no body), 'nobody' (204/304/1xx)."""
    if reason is None:
        reason = reason_of(code)
    out = [b"HTTP/1.1 %d %s\r\n" % (code, reason.encode("latin-1")),
           b"X-Conn: %d\r\n" % conn.cid,
           b"X-Seq: %d\r\n" % conn.seq]
    for k, v in headers:
        out.append(b"%s: %s\r\n" % (k.encode("latin-1"), v.encode("latin-1")))
    if framing != "nobody" and ctype:
        out.append(b"Content-Type: %s\r\n" % ctype.encode())
    if framing == "cl":
        out.append(b"Content-Length: %d\r\n" % body_len)
    elif framing == "chunked":
        out.append(b"Transfer-Encoding: chunked\r\n")
    if close:
        out.append(b"Connection: close\r\n")
    out.append(b"\r\n")
    return b"".join(out)


class Resp:
    """What a mode answers; sent by send()."""

    def __init__(self, code, body=b"", headers=(), ctype="application/octet-stream",
                 reason=None, close=False, framed=None, chunked=None, nobody=False):
        self.code = code
        self.body = body
        self.headers = list(headers)
        self.ctype = ctype
        self.reason = reason
        self.close = close
        self.framed = framed        # pre-framed chunked body (bytes), overrides body framing
        self.chunked = chunked      # None: from the query; True/False: forced
        self.nobody = nobody


def frame(conn, req, r):
    """(head bytes, framed body bytes, close?) for a Resp."""
    close = r.close or req.wants_close() or req.qbool("close")
    no_body = r.nobody or r.code in (204, 304) or r.code < 200
    if no_body:
        head = build_head(conn, req, r.code, r.headers, None, "nobody", 0, close, r.reason)
        return head, b"", close
    if r.framed is not None:
        head = build_head(conn, req, r.code, r.headers, r.ctype, "chunked", 0, close, r.reason)
        body = r.framed
    else:
        chunked = req.qbool("chunked") if r.chunked is None else r.chunked
        if chunked:
            size = req.qint("chunk", 4096, 1, MAX_SIZE)
            body = encode_chunked(r.body, [size] * (len(r.body) // size + 1))
            head = build_head(conn, req, r.code, r.headers, r.ctype, "chunked", 0, close, r.reason)
        else:
            body = r.body
            head = build_head(conn, req, r.code, r.headers, r.ctype, "cl", len(body), close,
                              r.reason)
    if req.method == "HEAD":
        body = b""
    return head, body, close


async def send(conn, req, r):
    """Send a Resp; returns True to keep the connection."""
    head, body, close = frame(conn, req, r)
    await conn.write(head + body)
    return not close


def text(code, s, headers=(), **kw):
    return Resp(code, s.encode() if isinstance(s, str) else s, headers,
                ctype="text/plain", **kw)


# ---- modes --------------------------------------------------------------------------------

async def m_ok(conn, req):
    size = req.qint("size", 16)
    pad = req.qint("pad", 0, 0, MAX_HEAD)
    hdrs = [("X-Pad", "p" * pad)] if pad else []
    return await send(conn, req, Resp(200, pattern(size), hdrs))


async def m_bytewise(conn, req):
    conn.bytewise = True
    return await m_ok(conn, req)


async def m_echo(conn, req):
    ctype = req.header("content-type") or "application/octet-stream"
    return await send(conn, req, Resp(200, req.body, [("X-Method", req.method)], ctype=ctype))


async def m_chunked(conn, req):
    spec = req.q("chunks", "5,10,1")
    try:
        sizes = [int(x, 10) for x in spec.split(",")] if spec else []
    except ValueError:
        raise BadParam("chunks")
    if any(n < 0 or n > MAX_SIZE for n in sizes) or sum(sizes) > MAX_SIZE:
        raise BadParam("chunks")
    ext = req.qbool("ext")
    trailers = req.qbool("trailers")
    body = pattern(sum(sizes))
    tr = None
    hdrs = []
    if trailers:
        hdrs.append(("Trailer", "X-Checksum, X-Trailer-Note"))
        tr = [("X-Checksum", str(sum(body))), ("X-Trailer-Note", "done")]
    framed = encode_chunked(body, sizes, ext=ext, trailers=tr, upper=req.qbool("upper"),
                            pad=req.qbool("pad"))
    return await send(conn, req, Resp(200, b"", hdrs, framed=framed))


async def m_close_delimited(conn, req):
    size = req.qint("size", 16)
    head = build_head(conn, req, 200, [], "application/octet-stream", "none", 0, True)
    await conn.write(head + (b"" if req.method == "HEAD" else pattern(size)))
    return False


async def m_status(conn, req):
    code = req.qint("code", 200, 200, 999)
    reason = req.q("reason")
    hdrs = []
    for h in req.query.get("h", []):
        i = h.find(":")
        if i <= 0:
            raise BadParam("h")
        hdrs.append((h[:i].strip(), h[i + 1:].strip()))
    if code in (204, 304):
        cl = req.qint("cl", 10, -1)
        if cl >= 0:
            hdrs.append(("Content-Length", str(cl)))
        return await send(conn, req, Resp(code, b"", hdrs, reason=reason, nobody=True))
    body = req.q("body", "status %d" % code)
    return await send(conn, req, text(code, body.encode("utf-8"), hdrs, reason=reason))


async def m_interim(conn, req):
    size = req.qint("size", 5)
    gap = req.qfloat("gap_ms", 0.0) / 1000.0
    await conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if gap:
        await asyncio.sleep(gap)
    await conn.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
    if gap:
        await asyncio.sleep(gap)
    body = b"final" if size == 5 else pattern(size)
    return await send(conn, req, Resp(200, body))


async def m_slow_first_byte(conn, req):
    delay = req.qfloat("delay_ms", 1000.0) / 1000.0
    size = req.qint("size", 16)
    await asyncio.sleep(delay)
    return await send(conn, req, Resp(200, pattern(size)))


async def m_slow_body(conn, req):
    delay = req.qfloat("delay_ms", 2000.0) / 1000.0
    size = req.qint("size", 16)
    first = req.qint("first", 0)
    head, body, close = frame(conn, req, Resp(200, pattern(size)))
    await conn.write(head + body[:first])
    await asyncio.sleep(delay)
    await conn.write(body[first:])
    return not close


async def m_flaky(conn, req):
    fail = req.qint("fail", 1)
    status = req.qint("status", 503, 200, 999)
    ra = req.q("retry_after")
    n = STATE.attempt(req)
    hdrs = [("X-Attempt", str(n))]
    if n <= fail:
        if ra is not None:
            hdrs.append(("Retry-After", ra))
        return await send(conn, req, text(status, "flaky failure %d/%d" % (n, fail), hdrs))
    return await send(conn, req, text(200, "ok", hdrs))


async def m_retry_after(conn, req, as_date=False):
    seconds = req.qint("seconds", 3 if as_date else 1, 0, 86400)
    times = req.qint("times", 1)
    status = req.qint("status", 429, 200, 999)
    n = STATE.attempt(req)
    hdrs = [("X-Attempt", str(n))]
    if n <= times:
        if as_date:
            now = time.time()
            hdrs.append(("Date", http_date(math.floor(now))))
            hdrs.append(("Retry-After", http_date(math.ceil(now + seconds))))
        else:
            hdrs.append(("Retry-After", str(seconds)))
        try:
            body = STATE.fixture("http_429_body.txt")
        except OSError:
            body = b"null"
        return await send(conn, req, text(status, body, hdrs))
    return await send(conn, req, text(200, "ok", hdrs))


async def m_retry_after_date(conn, req):
    return await m_retry_after(conn, req, as_date=True)


async def m_storm(conn, req):
    status = req.qint("status", 500, 200, 999)
    if STATE.healed:
        return await send(conn, req, text(200, "healed"))
    return await send(conn, req, text(status, "storm"))


async def m_close_mid_body(conn, req):
    size = req.qint("size", 100)
    after = req.qint("after", 10)
    rst = req.qbool("rst")
    head = build_head(conn, req, 200, [], "application/octet-stream", "cl", size, False)
    await conn.write(head + pattern(min(after, size)))
    await asyncio.sleep(0.01)
    await conn.close(rst=rst)
    return False


async def m_idle_close(conn, req):
    after = req.qfloat("after_ms", 200.0) / 1000.0
    size = req.qint("size", 2)
    keep = await send(conn, req, Resp(200, pattern(size)))
    conn.idle = after
    return keep


async def m_drop(conn, req):
    fail = req.qint("fail", 1)
    how = req.q("how", "fin")
    if how not in ("fin", "rst", "partial", "head"):
        raise BadParam("how")
    n = STATE.attempt(req)
    if n <= fail:
        if how == "partial":
            await conn.write(b"HTTP/1.1 200 OK\r\nContent-")
        elif how == "head":
            await conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        await conn.close(rst=(how == "rst"))
        return False
    return await send(conn, req, text(200, "ok", [("X-Attempt", str(n))]))


async def m_bad(conn, req):
    kind = req.q("kind", "")
    if kind == "list":
        return await send(conn, req, text(200, "\n".join(sorted(BAD)) + "\n"))
    if kind not in BAD:
        raise BadParam("kind")
    size = req.qint("size", 70000, 0, MAX_SIZE)
    await conn.write(bad_bytes(kind, size))
    await asyncio.sleep(0.01)
    return False


INFO_ALIASES = {"userFillsByTime": "userFills"}


async def m_info(conn, req):
    if req.method != "POST":
        return await send(conn, req, text(405, "method not allowed", [("Allow", "POST")]))
    fail = req.qint("fail", 0)
    status = req.qint("status", 503, 200, 999)
    delay = req.qfloat("delay_ms", 0.0) / 1000.0
    if delay:
        await asyncio.sleep(delay)
    if fail:
        n = STATE.attempt(req)
        if n <= fail:
            return await send(conn, req, text(status, "info failure", [("X-Attempt", str(n))]))
    typ = None
    obj = None
    try:
        obj = json.loads(req.body.decode("utf-8"))
        if isinstance(obj, dict) and isinstance(obj.get("type"), str):
            typ = obj["type"]
    except (ValueError, UnicodeDecodeError):
        pass
    if typ == "big":
        size = obj.get("size", 700000)
        if not isinstance(size, int) or size < 0 or size > MAX_SIZE:
            size = 700000
        body = big_body(size)
        return await send(conn, req, Resp(200, body, [("X-Body-Sum", str(sum(body) & 0xFFFFFFFF))],
                                          ctype="application/json"))
    if typ is not None and re.fullmatch(r"[A-Za-z0-9]{1,64}", typ):
        name = INFO_ALIASES.get(typ, typ) + "_response.json"
        try:
            body = STATE.fixture(name)
        except OSError:
            body = None
        if body is not None:
            return await send(conn, req, Resp(200, body, ctype="application/json"))
    try:
        body = STATE.fixture("http_422_body.txt")
    except OSError:
        body = b"Failed to deserialize the JSON body into the target type"
    return await send(conn, req, text(422, body))


async def m_exchange(conn, req):
    if req.method != "POST":
        return await send(conn, req, text(405, "method not allowed", [("Allow", "POST")]))
    fail = req.qint("fail", 0)
    status = req.qint("status", 502, 200, 999)
    delay = req.qfloat("delay_ms", 0.0) / 1000.0
    n = STATE.attempt(req)
    if delay:
        await asyncio.sleep(delay)
    hdrs = [("X-Attempt", str(n))]
    if n <= fail:
        return await send(conn, req, text(status, "bad gateway", hdrs))
    return await send(conn, req, Resp(200, STATE.fixture("exchange_order_response_resting.json"),
                                      hdrs, ctype="application/json"))


# ---- control endpoints --------------------------------------------------------------------

async def c_log(conn, req):
    p = req.q("path")
    items = [e for e in STATE.log if p is None or e["path"] == p]
    body = json.dumps(items, separators=(",", ":")).encode()
    return await send(conn, req, Resp(200, body, ctype="application/json"))


async def c_count(conn, req):
    p = req.q("path")
    items = [e for e in STATE.log if p is None or e["path"] == p]
    conns = len(set(e["conn"] for e in items))
    body = ('{"requests":%d,"connections":%d}' % (len(items), conns)).encode()
    return await send(conn, req, Resp(200, body, ctype="application/json"))


async def c_reset(conn, req):
    STATE.reset()
    return await send(conn, req, text(200, "reset"))


async def c_heal(conn, req):
    STATE.healed = True
    return await send(conn, req, text(200, "healed"))


MODES = {
    "/ok": m_ok,
    "/echo": m_echo,
    "/chunked": m_chunked,
    "/bytewise": m_bytewise,
    "/close_delimited": m_close_delimited,
    "/status": m_status,
    "/interim": m_interim,
    "/slow_first_byte": m_slow_first_byte,
    "/slow_body": m_slow_body,
    "/flaky": m_flaky,
    "/retry_after": m_retry_after,
    "/retry_after_date": m_retry_after_date,
    "/storm": m_storm,
    "/close_mid_body": m_close_mid_body,
    "/idle_close": m_idle_close,
    "/drop": m_drop,
    "/bad": m_bad,
    "/info": m_info,
    "/exchange": m_exchange,
}
CONTROL = {
    "/_log": c_log,
    "/_count": c_count,
    "/_reset": c_reset,
    "/_heal": c_heal,
}


def log_request(conn, req):
    body = None
    if len(req.body) <= LOG_BODY_MAX:
        try:
            body = req.body.decode("utf-8")
        except UnicodeDecodeError:
            body = None
    STATE.log.append({
        "conn": conn.cid,
        "seq": conn.seq,
        "t_ms": int((time.monotonic() - STATE.t0) * 1000),
        "method": req.method,
        "target": req.target,
        "path": req.path,
        "version": req.version,
        "headers": [[k, v] for k, v in req.headers],
        "chunked": req.chunked,
        "body_len": len(req.body),
        "body": body,
    })


async def dispatch(conn, req):
    conn.bytewise = False
    conn.byte_delay = 0.001
    fn = CONTROL.get(req.path)
    if fn is None:
        log_request(conn, req)
        fn = MODES.get(req.path)
    try:
        conn.bytewise = req.qbool("bytewise")
        conn.byte_delay = req.qfloat("byte_delay_ms", 1.0, 0.0, 1000.0) / 1000.0
        if fn is None:
            return await send(conn, req, text(404, "not found"))
        return await fn(conn, req)
    except BadParam as e:
        conn.bytewise = False
        await send(conn, req, text(400, "bad parameter %s" % e, close=True))
        return False


async def serve_conn(reader, writer):
    STATE.conn_count += 1
    conn = Conn(STATE.conn_count, reader, writer)
    task = asyncio.current_task()
    STATE.tasks.add(task)
    try:
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        STATE.say("conn %d open" % conn.cid)
        while True:
            try:
                req = await conn.read_request()
            except IdleTimeout:
                STATE.say("conn %d idle close" % conn.cid)
                break
            except BadRequest as e:
                STATE.say("conn %d bad request: %s" % (conn.cid, e.text))
                body = e.text.encode()
                conn.writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                                  b"Connection: close\r\n\r\n%s" % (e.code, reason_of(e.code).encode(),
                                                                     len(body), body))
                await conn.writer.drain()
                break
            if req is None:
                break
            conn.seq += 1
            STATE.say("conn %d #%d %s %s" % (conn.cid, conn.seq, req.method, req.target))
            if not await dispatch(conn, req):
                break
    except (EOFError, ConnectionError, OSError):
        pass
    except asyncio.CancelledError:
        pass
    finally:
        STATE.tasks.discard(task)
        await conn.close()
        STATE.say("conn %d closed" % conn.cid)


async def amain(args):
    global STATE
    STATE = State(args.fixtures, args.verbose)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(serve_conn, "127.0.0.1", args.port, reuse_address=True,
                                        backlog=128)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()
    if not args.ignore_stdin:
        def watch():
            try:
                while os.read(0, 4096):
                    pass
            except OSError:
                pass
            loop.call_soon_threadsafe(stop.set)
        threading.Thread(target=watch, daemon=True).start()
    await stop.wait()
    server.close()
    for t in list(STATE.tasks):
        t.cancel()
    await asyncio.sleep(0)


def main():
    ap = argparse.ArgumentParser(description="scripted HTTP/1.1 fault server for hl_net.h tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    ap.add_argument("--ignore-stdin", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    try:
        asyncio.run(amain(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
