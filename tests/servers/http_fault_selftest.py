#!/usr/bin/python3
"""Self-test of tests/servers/http_fault_server.py and tests/http/start_nginx.sh.

    /usr/bin/python3 tests/servers/http_fault_selftest.py [-v]

Starts the fault server, drives every mode over raw sockets and compares the bytes on the
wire with expectations written out here independently of the server's code; then starts nginx
through tests/http/start_nginx.sh (plain, and HTTPS when tests/tls/make_certs.sh is there) and
checks keep-alive reuse, the idle close after keepalive_timeout and the stop on stdin EOF.
Work files go to build/http_selftest/.  Prints "PASS name" / "FAIL name: why" per check, then
"selftest: N passed, N failed"; exits 1 on any failure.  Takes about 10 s.
"""

import email.utils
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SERVER = os.path.join(HERE, "http_fault_server.py")
START_NGINX = os.path.join(ROOT, "tests", "http", "start_nginx.sh")
MAKE_CERTS = os.path.join(ROOT, "tests", "tls", "make_certs.sh")
FIXTURES = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures", "hl"))
WORK = os.path.join(ROOT, "build", "http_selftest")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
VERBOSE = "-v" in sys.argv

PAT = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
OCT = "application/octet-stream"
TXT = "text/plain"
JSN = "application/json"
REASON = {200: "OK", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
          404: "Not Found", 405: "Method Not Allowed", 422: "Unprocessable Entity",
          429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
          503: "Service Unavailable"}

npass = 0
nfail = 0


def pat(n):
    return bytes(PAT[i % 62] for i in range(n))


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


class Fail(Exception):
    pass


def need(cond, why):
    if not cond:
        raise Fail(why)


def same(got, exp, what="bytes"):
    if got != exp:
        i = 0
        while i < min(len(got), len(exp)) and got[i] == exp[i]:
            i += 1
        raise Fail("%s differ at offset %d (got %d bytes, expected %d): got %r, expected %r"
                   % (what, i, len(got), len(exp), got[max(0, i - 20):i + 40],
                      exp[max(0, i - 20):i + 40]))


def run(name, fn, *args):
    global npass, nfail
    try:
        fn(*args)
    except Fail as e:
        nfail += 1
        print("FAIL %s: %s" % (name, e), flush=True)
        return False
    except Exception as e:  # an unexpected exception is a failure of that check
        nfail += 1
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
        return False
    npass += 1
    print("PASS %s" % name, flush=True)
    return True


# ---- wire helpers --------------------------------------------------------------------------

def expect(code, cid, seq, hdrs=(), body=b"", ctype=OCT, framing="cl", close=False,
           reason=None, head_only=False, framed=None):
    """The exact bytes of one normal fault-server response."""
    r = REASON[code] if reason is None else reason
    out = b"HTTP/1.1 %d %s\r\nX-Conn: %d\r\nX-Seq: %d\r\n" % (code, r.encode(), cid, seq)
    for k, v in hdrs:
        out += k.encode() + b": " + v.encode("latin-1") + b"\r\n"
    if framing != "nobody" and ctype:
        out += b"Content-Type: " + ctype.encode() + b"\r\n"
    if framing == "cl":
        out += b"Content-Length: %d\r\n" % len(body)
    elif framing == "chunked":
        out += b"Transfer-Encoding: chunked\r\n"
    if close:
        out += b"Connection: close\r\n"
    out += b"\r\n"
    if not head_only:
        out += framed if framed is not None else body
    return out


def chunk(data, ext=b"", fmt="%x"):
    return (fmt % len(data)).encode() + ext + b"\r\n" + data + b"\r\n"


EXT = b';i=%d;q="x;y \\"z\\"";flag'


class Client:
    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.cid = None
        self.seq = 0
        self.recvs = 0

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def req(self, target, method="GET", headers=(), body=None, host=True, version="HTTP/1.1"):
        h = "%s %s %s\r\n" % (method, target, version)
        if host:
            h += "Host: 127.0.0.1\r\n"
        for k, v in headers:
            h += "%s: %s\r\n" % (k, v)
        if body is not None and not any(k.lower() in ("content-length", "transfer-encoding")
                                        for k, _ in headers):
            h += "Content-Length: %d\r\n" % len(body)
        data = h.encode() + b"\r\n" + (body or b"")
        self.send(data)
        return data

    def more(self, timeout=None):
        if timeout is not None:
            self.s.settimeout(timeout)
        try:
            d = self.s.recv(1 << 20)
        finally:
            if timeout is not None:
                self.s.settimeout(5.0)
        self.recvs += 1
        if not d:
            raise EOFError()
        self.buf += d
        return d

    def take(self, n):
        while len(self.buf) < n:
            try:
                self.more()
            except EOFError:
                raise Fail("EOF after %d of %d bytes: %r" % (len(self.buf), n, self.buf[-80:]))
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def until(self, pattern):
        """Read until the regex pattern (bytes) matches the buffer; returns the match."""
        while True:
            m = re.search(pattern, self.buf)
            if m:
                return m
            try:
                self.more()
            except EOFError:
                raise Fail("EOF before %r; have %r" % (pattern, self.buf[:200]))

    def response(self, make):
        """Read one normal response; make(cid, seq) gives its expected bytes; compared exactly."""
        m = self.until(rb"X-Conn: (\d+)\r\nX-Seq: (\d+)\r\n")
        cid, seq = int(m.group(1)), int(m.group(2))
        if self.cid is None:
            self.cid = cid
        need(cid == self.cid, "X-Conn %d on a connection first seen as %d" % (cid, self.cid))
        self.seq += 1
        need(seq == self.seq, "X-Seq %d, expected %d" % (seq, self.seq))
        exp = make(cid, seq)
        same(self.take(len(exp)), exp)
        return exp

    def rest(self, limit=1 << 24):
        """Everything until EOF (or a reset)."""
        while len(self.buf) < limit:
            try:
                self.more()
            except EOFError:
                break
        d, self.buf = self.buf, b""
        return d

    def quiet(self, seconds):
        """True when nothing arrives within seconds (and the connection stays open)."""
        try:
            self.more(seconds)
        except socket.timeout:
            return True
        except EOFError:
            raise Fail("connection closed while waiting")
        return False

    def eof(self, seconds=3.0):
        """True on EOF (or reset) within seconds with no further bytes."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.more(max(0.01, end - time.monotonic()))
            except EOFError:
                return not self.buf
            except ConnectionResetError:
                return not self.buf
            except socket.timeout:
                return False
            if self.buf:
                return False
        return False


def parse_response(c, head_req=False):
    """A loose reader for servers other than ours: (status, headers dict lowercased, body)."""
    m = c.until(rb"\r\n\r\n")
    head = c.take(m.end())
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, v = ln.split(b":", 1)
        hdrs[k.decode().lower()] = v.strip().decode()
    if head_req or status in (204, 304) or status < 200:
        return status, hdrs, b""
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            m = c.until(rb"\r\n")
            line = c.take(m.end())
            n = int(line.split(b";")[0], 16)
            if n == 0:
                while c.take(c.until(rb"\r\n").end()) != b"\r\n":
                    pass
                return status, hdrs, body
            body += c.take(n)
            need(c.take(2) == b"\r\n", "chunk not followed by CRLF")
    if "content-length" in hdrs:
        return status, hdrs, c.take(int(hdrs["content-length"]))
    return status, hdrs, c.rest()


# ---- the fault server ----------------------------------------------------------------------

class Proc:
    def __init__(self, argv, name):
        self.name = name
        self.err = open(os.path.join(WORK, name + ".stderr"), "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, cwd=ROOT)
        self.line = self.p.stdout.readline().decode().strip()
        m = re.fullmatch(r"READY (\d+)(?: (\d+))?", self.line)
        self.port = int(m.group(1)) if m else 0
        self.port2 = int(m.group(2)) if m and m.group(2) else 0

    def stop(self, timeout=5.0):
        """Closes stdin; returns the exit status or None if it had to be killed."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = None
        self.err.close()
        return rc


def server_tests(port):
    P = port
    rs = []

    def t(name, fn):
        rs.append(run(name, fn))

    def ok_keepalive():
        c = Client(P)
        c.req("/ok?size=100")
        c.response(lambda i, s: expect(200, i, s, body=pat(100)))
        c.req("/ok?size=3")
        c.response(lambda i, s: expect(200, i, s, body=pat(3)))
        c.req("/ok")
        c.response(lambda i, s: expect(200, i, s, body=pat(16)))
        c.req("/ok?size=0")
        c.response(lambda i, s: expect(200, i, s, body=b""))
        need(c.quiet(0.05), "extra bytes after the last response")
        c.close()
    t("ok: exact bytes, default size, size 0, four requests on one keep-alive connection",
      ok_keepalive)

    def ok_big_and_pad():
        c = Client(P)
        c.req("/ok?size=1048576&pad=5000")
        c.response(lambda i, s: expect(200, i, s, [("X-Pad", "p" * 5000)], body=pat(1048576)))
        c.close()
    t("ok: 1 MiB body, X-Pad header of 5000 bytes", ok_big_and_pad)

    def connections_numbered():
        a = Client(P)
        a.req("/ok?size=1")
        a.response(lambda i, s: expect(200, i, s, body=pat(1)))
        b = Client(P)
        b.req("/ok?size=1")
        b.response(lambda i, s: expect(200, i, s, body=pat(1)))
        need(b.cid == a.cid + 1, "connection numbers %d then %d" % (a.cid, b.cid))
        a.close()
        b.close()
    t("connections numbered in accept order, X-Seq from 1 per connection", connections_numbered)

    def head_ok():
        c = Client(P)
        c.req("/ok?size=100", method="HEAD")
        c.response(lambda i, s: expect(200, i, s, body=pat(100), head_only=True))
        c.req("/ok?size=2")
        c.response(lambda i, s: expect(200, i, s, body=pat(2)))
        c.req("/chunked", method="HEAD")
        c.response(lambda i, s: expect(200, i, s, framing="chunked", head_only=True))
        c.req("/echo", method="HEAD")
        c.response(lambda i, s: expect(200, i, s, [("X-Method", "HEAD")], head_only=True))
        c.req("/ok?size=2")
        c.response(lambda i, s: expect(200, i, s, body=pat(2)))
        c.close()
    t("HEAD /ok, /chunked, /echo: Content-Length or Transfer-Encoding, no body", head_ok)

    def status_no_body():
        c = Client(P)
        c.req("/status?code=204")
        c.response(lambda i, s: expect(204, i, s, [("Content-Length", "10")], framing="nobody"))
        c.req("/status?code=304")
        c.response(lambda i, s: expect(304, i, s, [("Content-Length", "10")], framing="nobody"))
        c.req("/status?code=304&cl=-1&h=ETag:%22v1%22")
        c.response(lambda i, s: expect(304, i, s, [("ETag", '"v1"')], framing="nobody"))
        c.req("/status?code=204&cl=0")
        c.response(lambda i, s: expect(204, i, s, [("Content-Length", "0")], framing="nobody"))
        c.req("/ok?size=4")
        c.response(lambda i, s: expect(200, i, s, body=pat(4)))
        c.close()
    t("status 204/304 with a Content-Length header and no body, connection kept",
      status_no_body)

    def status_general():
        c = Client(P)
        c.req("/status?code=503&body=down%20now&h=Retry-After:7&h=X-A:%20b%20")
        c.response(lambda i, s: expect(503, i, s, [("Retry-After", "7"), ("X-A", "b")],
                                       body=b"down now", ctype=TXT))
        c.req("/status?code=500")
        c.response(lambda i, s: expect(500, i, s, body=b"status 500", ctype=TXT))
        c.req("/status?code=200&reason=")
        c.response(lambda i, s: expect(200, i, s, body=b"status 200", ctype=TXT, reason=""))
        c.req("/status?code=299&reason=Fine%20Thanks&body=")
        c.response(lambda i, s: expect(200, i, s, body=b"", ctype=TXT,
                                       reason="Fine Thanks").replace(b" 200 ", b" 299 ", 1))
        c.req("/status?code=404&chunked=1&chunk=3")
        c.response(lambda i, s: expect(404, i, s, ctype=TXT, framing="chunked",
                                       framed=chunk(b"sta") + chunk(b"tus") + chunk(b" 40")
                                       + chunk(b"4") + b"0\r\n\r\n"))
        c.close()
    t("status: code, body, reason (empty too), h= headers, chunked=1", status_general)

    def echo():
        c = Client(P)
        body = pat(1000)
        c.req("/echo", method="POST", headers=[("Content-Type", "application/json")], body=body)
        c.response(lambda i, s: expect(200, i, s, [("X-Method", "POST")], body=body, ctype=JSN))
        c.req("/echo", method="PUT", body=b"")
        c.response(lambda i, s: expect(200, i, s, [("X-Method", "PUT")], body=b""))
        c.req("/echo", method="DELETE")
        c.response(lambda i, s: expect(200, i, s, [("X-Method", "DELETE")], body=b""))
        c.close()
    t("echo: POST body echoed, X-Method, Content-Type copied", echo)

    def echo_chunked_request():
        c = Client(P)
        c.req("/echo", method="POST", headers=[("Transfer-Encoding", "chunked")],
              body=b"5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n")
        c.response(lambda i, s: expect(200, i, s, [("X-Method", "POST")], body=b"hello world"))
        c.close()
    t("echo: chunked request body (extension, trailer) decoded", echo_chunked_request)

    def expect_continue():
        c = Client(P)
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        same(c.take(25), b"HTTP/1.1 100 Continue\r\n\r\n")
        c.send(b"abcd")
        c.response(lambda i, s: expect(200, i, s, [("X-Method", "POST")], body=b"abcd"))
        c.close()
    t("Expect: 100-continue gets 100 Continue before the body is read", expect_continue)

    def pipelined():
        c = Client(P)
        c.send(b"GET /ok?size=5 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 3\r\n\r\nxyzGET /ok?size=7 HTTP/1.1\r\nHost: x\r\n\r\n")
        c.response(lambda i, s: expect(200, i, s, body=pat(5)))
        c.response(lambda i, s: expect(200, i, s, [("X-Method", "POST")], body=b"xyz"))
        c.response(lambda i, s: expect(200, i, s, body=pat(7)))
        c.close()
    t("pipelined requests answered in order on one connection", pipelined)

    def chunked_modes():
        c = Client(P)
        body = pat(16)
        c.req("/chunked")
        c.response(lambda i, s: expect(200, i, s, framing="chunked",
                                       framed=chunk(body[:5]) + chunk(body[5:15]) + chunk(body[15:])
                                       + b"0\r\n\r\n"))
        c.req("/chunked?chunks=5,10,1&ext=1&trailers=1")
        c.response(lambda i, s: expect(
            200, i, s, [("Trailer", "X-Checksum, X-Trailer-Note")], framing="chunked",
            framed=chunk(body[:5], EXT % 0) + chunk(body[5:15], EXT % 1) + chunk(body[15:], EXT % 2)
            + b"0" + EXT % 3 + b"\r\nX-Checksum: %d\r\nX-Trailer-Note: done\r\n\r\n" % sum(body)))
        big = pat(326)
        c.req("/chunked?chunks=26,0,300&upper=1&pad=1")
        c.response(lambda i, s: expect(200, i, s, framing="chunked",
                                       framed=chunk(big[:26], fmt="%08X") + chunk(big[26:], fmt="%08X")
                                       + b"00000000\r\n\r\n"))
        c.req("/chunked?chunks=")
        c.response(lambda i, s: expect(200, i, s, framing="chunked", framed=b"0\r\n\r\n"))
        c.req("/chunked?chunks=300&upper=1")
        c.response(lambda i, s: expect(200, i, s, framing="chunked",
                                       framed=chunk(pat(300), fmt="%X") + b"0\r\n\r\n"))
        body2 = pat(10000)
        c.req("/ok?size=10000&chunked=1")
        c.response(lambda i, s: expect(200, i, s, framing="chunked",
                                       framed=chunk(body2[:4096]) + chunk(body2[4096:8192])
                                       + chunk(body2[8192:]) + b"0\r\n\r\n"))
        c.req("/ok?size=0&chunked=1")
        c.response(lambda i, s: expect(200, i, s, framing="chunked", framed=b"0\r\n\r\n"))
        c.close()
    t("chunked: sizes, extensions, trailers, uppercase, zero padding, generic chunked=1",
      chunked_modes)

    def bytewise():
        c = Client(P)
        c.req("/bytewise?size=64")
        c.response(lambda i, s: expect(200, i, s, body=pat(64)))
        need(c.recvs > 3, "only %d reads for a byte-by-byte response" % c.recvs)
        body = pat(7)
        c.req("/chunked?chunks=3,4&ext=1&bytewise=1&byte_delay_ms=0.2")
        c.response(lambda i, s: expect(200, i, s, framing="chunked",
                                       framed=chunk(body[:3], EXT % 0) + chunk(body[3:], EXT % 1)
                                       + b"0" + EXT % 2 + b"\r\n\r\n"))
        c.close()
    t("bytewise: one byte per send (plain and chunked)", bytewise)

    def close_delimited():
        c = Client(P)
        c.req("/close_delimited?size=1000")
        m = c.until(rb"X-Conn: (\d+)\r\nX-Seq: 1\r\n")
        exp = (b"HTTP/1.1 200 OK\r\nX-Conn: %s\r\nX-Seq: 1\r\nContent-Type: %s\r\n"
               b"Connection: close\r\n\r\n" % (m.group(1), OCT.encode())) + pat(1000)
        same(c.rest(), exp)
        c.close()
    t("close_delimited: no Content-Length, no chunked, Connection: close, body to EOF",
      close_delimited)

    def interim():
        c = Client(P)
        c.req("/interim")
        pre = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
               b"Link: </style.css>; rel=preload; as=style\r\n\r\n")
        c.response(lambda i, s: pre + expect(200, i, s, body=b"final"))
        c.req("/interim?size=20&gap_ms=30")
        c.response(lambda i, s: pre + expect(200, i, s, body=pat(20)))
        c.close()
    t("interim: 100 Continue and 103 Early Hints before the final 200", interim)

    def slow_first_byte():
        c = Client(P)
        c.req("/slow_first_byte?delay_ms=800&size=8")
        need(c.quiet(0.25), "bytes arrived before the delay")
        c.response(lambda i, s: expect(200, i, s, body=pat(8)))
        c.close()
    t("slow_first_byte: silence, then the response", slow_first_byte)

    def slow_body():
        c = Client(P)
        c.req("/slow_body?delay_ms=700&size=10&first=3")
        m = c.until(rb"X-Conn: (\d+)\r\nX-Seq: 1\r\n")
        cid = int(m.group(1))
        exp = expect(200, cid, 1, body=pat(10))
        same(c.take(len(exp) - 7), exp[:-7])
        need(c.quiet(0.25), "the body did not stall")
        same(c.take(7), exp[-7:])
        c.close()
    t("slow_body: head and first bytes, stall, rest", slow_body)

    def flaky():
        c = Client(P)
        for n in (1, 2):
            c.req("/flaky?fail=2&id=st")
            c.response(lambda i, s: expect(503, i, s, [("X-Attempt", str(n))],
                                           body=b"flaky failure %d/2" % n, ctype=TXT))
        c.req("/flaky?fail=2&id=st")
        c.response(lambda i, s: expect(200, i, s, [("X-Attempt", "3")], body=b"ok", ctype=TXT))
        c.req("/flaky?fail=1&status=500&retry_after=5&id=st")
        c.response(lambda i, s: expect(500, i, s, [("X-Attempt", "1"), ("Retry-After", "5")],
                                       body=b"flaky failure 1/1", ctype=TXT))
        c.req("/flaky?fail=1&status=500&retry_after=5&id=st")
        c.response(lambda i, s: expect(200, i, s, [("X-Attempt", "2")], body=b"ok", ctype=TXT))
        c.close()
    t("flaky: first K attempts fail with status (per target counter), then 200", flaky)

    def retry_after():
        c = Client(P)
        body429 = fixture("http_429_body.txt")
        c.req("/retry_after?seconds=2&id=st")
        c.response(lambda i, s: expect(429, i, s, [("X-Attempt", "1"), ("Retry-After", "2")],
                                       body=body429, ctype=TXT))
        c.req("/retry_after?seconds=2&id=st")
        c.response(lambda i, s: expect(200, i, s, [("X-Attempt", "2")], body=b"ok", ctype=TXT))
        c.req("/retry_after?seconds=0&times=2&status=503&id=st")
        c.response(lambda i, s: expect(503, i, s, [("X-Attempt", "1"), ("Retry-After", "0")],
                                       body=body429, ctype=TXT))
        c.close()
    t("retry_after: 429 with Retry-After seconds once, then 200", retry_after)

    def retry_after_date():
        c = Client(P)
        c.req("/retry_after_date?seconds=5&id=st")
        m = c.until(rb"X-Attempt: 1\r\nDate: ([^\r]+)\r\nRetry-After: ([^\r]+)\r\n")
        now = time.time()
        date = email.utils.parsedate_to_datetime(m.group(1).decode()).timestamp()
        ra = email.utils.parsedate_to_datetime(m.group(2).decode()).timestamp()
        need(m.group(2).endswith(b" GMT"), "Retry-After not an IMF-fixdate: %r" % m.group(2))
        need(ra - date in (5.0, 6.0), "Retry-After - Date = %r" % (ra - date))
        need(abs(date - now) < 3, "Date far from now")
        hd = [("X-Attempt", "1"), ("Date", m.group(1).decode()), ("Retry-After", m.group(2).decode())]
        c.response(lambda i, s: expect(429, i, s, hd, body=fixture("http_429_body.txt"), ctype=TXT))
        c.req("/retry_after_date?seconds=5&id=st")
        c.response(lambda i, s: expect(200, i, s, [("X-Attempt", "2")], body=b"ok", ctype=TXT))
        c.close()
    t("retry_after_date: 429 with an HTTP-date Retry-After, then 200", retry_after_date)

    def storm():
        c = Client(P)
        for _ in range(2):
            c.req("/storm")
            c.response(lambda i, s: expect(500, i, s, body=b"storm", ctype=TXT))
        c.req("/storm?status=503")
        c.response(lambda i, s: expect(503, i, s, body=b"storm", ctype=TXT))
        c.req("/_heal", method="POST", body=b"")
        c.response(lambda i, s: expect(200, i, s, body=b"healed", ctype=TXT))
        c.req("/storm")
        c.response(lambda i, s: expect(200, i, s, body=b"healed", ctype=TXT))
        c.req("/_reset", method="POST", body=b"")
        c.response(lambda i, s: expect(200, i, s, body=b"reset", ctype=TXT))
        c.req("/storm")
        c.response(lambda i, s: expect(500, i, s, body=b"storm", ctype=TXT))
        c.close()
    t("storm: always 500 until /_heal, /_reset un-heals", storm)

    def close_mid_body():
        c = Client(P)
        c.req("/close_mid_body?size=100&after=10")
        m = c.until(rb"X-Conn: (\d+)\r\nX-Seq: 1\r\n")
        exp = expect(200, int(m.group(1)), 1, body=pat(100))
        same(c.rest(), exp[:len(exp) - 90])
        c.close()
        c = Client(P)
        c.req("/close_mid_body?size=100&after=10&rst=1")
        got = b""
        reset = False
        try:
            while True:
                d = c.s.recv(65536)
                if not d:
                    break
                got += d
        except ConnectionResetError:
            reset = True
        need(reset, "no connection reset (got %d bytes then EOF)" % len(got))
        # Bytes still unread when the RST arrives may be discarded: any prefix is fine.
        need(len(got) <= len(exp) - 90 + 2 and b"HTTP/1.1 200 OK\r\n".startswith(got[:17]),
             "unexpected bytes before the reset: %r" % got[:40])
        c.close()
    t("close_mid_body: Content-Length 100, 10 bytes, then FIN (and RST with rst=1)",
      close_mid_body)

    def idle_close():
        c = Client(P)
        c.req("/idle_close?after_ms=400")
        c.response(lambda i, s: expect(200, i, s, body=pat(2)))
        c.req("/ok?size=1")  # in time: served, and the idle timer is gone
        c.response(lambda i, s: expect(200, i, s, body=pat(1)))
        need(c.quiet(0.6), "closed although a request came in time")
        c.req("/idle_close?after_ms=100&size=5")
        c.response(lambda i, s: expect(200, i, s, body=pat(5)))
        need(c.eof(3.0), "no close after the idle time")
        c.close()
    t("idle_close: kept when a request comes in time, closed after after_ms idle", idle_close)

    def drop():
        for how, exp in (("fin", b""), ("rst", b""), ("partial", b"HTTP/1.1 200 OK\r\nContent-"),
                         ("head", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")):
            c = Client(P)
            c.req("/drop?how=%s&id=st" % how)
            got = b""
            try:
                got = c.rest()
            except ConnectionResetError:
                got = c.buf
            same(got, exp, "drop %s bytes" % how)
            c.close()
            c = Client(P)
            c.req("/drop?how=%s&id=st" % how)
            c.response(lambda i, s: expect(200, i, s, [("X-Attempt", "2")], body=b"ok", ctype=TXT))
            c.close()
    t("drop: no response (FIN, RST, partial head, head without body), then 200", drop)

    def bad_kinds():
        exp = {
            "two_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "cl_list": b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
            "cl_and_chunked": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: "
                              b"chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "bad_chunk_size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello"
                              b"\r\n0\r\n\r\n",
            "chunk_overflow": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              + b"%x" % (2 ** 64 + 1) + b"\r\na\r\n0\r\n\r\n",
            "chunk_overflow63": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + b"%x" % (2 ** 63) + b"\r\na\r\n0\r\n\r\n",
            "chunk_no_crlf": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0"
                             b"\r\n\r\n",
            "obs_fold": b"HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n"
                        b"\r\nok",
            "bad_status_line": b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
            "status_garbage": b"hello world\r\n\r\n",
            "status_http2": b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "status_4digit": b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
            "status_lf_only": b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok",
            "negative_cl": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
            "cl_plus": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
            "cl_overflow": b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nok" % (2 ** 64 + 1),
            "cl_hex": b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok",
            "space_before_colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
            "no_colon": b"HTTP/1.1 200 OK\r\nX-Broken\r\nContent-Length: 2\r\n\r\nok",
            "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
            "nul_in_header": b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\nok",
            "te_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
            "te_chunked_not_last": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                                   b"2\r\nok\r\n0\r\n\r\n",
            "cl_short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshor",
            "huge_header_line": b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * 70000
                                + b"\r\nContent-Length: 2\r\n\r\nok",
        }
        for kind, e in sorted(exp.items()):
            c = Client(P)
            c.req("/bad?kind=" + kind)
            same(c.rest(), e, kind)
            c.close()
        c = Client(P)
        c.req("/bad?kind=huge_headers")
        got = c.rest()
        c.close()
        head, _, body = got.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        need(len(head) > 65536 and body == b"ok", "huge_headers: head %d bytes" % len(head))
        need(lines[0] == b"HTTP/1.1 200 OK" and lines[-1] == b"Content-Length: 2", "huge_headers")
        for k, ln in enumerate(lines[1:-1]):
            need(ln == b"X-Pad-%04d: " % k + b"p" * 1000, "huge_headers line %d" % k)
        c = Client(P)
        c.req("/bad?kind=two_cl&bytewise=1&byte_delay_ms=0")
        same(c.rest(), exp["two_cl"], "bytewise two_cl")
        c.close()
        c = Client(P)
        c.req("/bad?kind=list")
        st, h, names = parse_response(c)
        need(st == 200 and all(k.encode() + b"\n" in names for k in exp), "kind=list misses names")
        c.close()
    t("bad: every malformed-framing kind, exact bytes then FIN", bad_kinds)

    def info():
        c = Client(P)
        for typ, f in (("meta", "meta_response.json"), ("l2Book", "l2Book_response.json"),
                       ("allMids", "allMids_response.json"),
                       ("candleSnapshot", "candleSnapshot_response.json"),
                       ("userFillsByTime", "userFills_response.json"),
                       ("clearinghouseState", "clearinghouseState_response.json")):
            body = json.dumps({"type": typ, "coin": "DYDX"}).encode()
            c.req("/info", method="POST", headers=[("Content-Type", "application/json")], body=body)
            c.response(lambda i, s: expect(200, i, s, body=fixture(f), ctype=JSN))
        for bad in (b'{"type":"nope"}', b'{"type":"../meta"}', b"not json", b"[1]", b""):
            c.req("/info", method="POST", body=bad)
            c.response(lambda i, s: expect(422, i, s, body=fixture("http_422_body.txt"), ctype=TXT))
        c.req("/info")
        c.response(lambda i, s: expect(405, i, s, [("Allow", "POST")], body=b"method not allowed",
                                       ctype=TXT))
        c.req("/info?fail=1&id=st", method="POST", body=b'{"type":"meta"}')
        c.response(lambda i, s: expect(503, i, s, [("X-Attempt", "1")], body=b"info failure",
                                       ctype=TXT))
        c.req("/info?fail=1&id=st", method="POST", body=b'{"type":"meta"}')
        c.response(lambda i, s: expect(200, i, s, body=fixture("meta_response.json"), ctype=JSN))
        c.close()
    t("info: fixtures by type, 422 for unknown/bad JSON, 405 for GET, fail=", info)

    def info_big():
        c = Client(P)
        c.req("/info", method="POST", body=b'{"type":"big"}')
        st, h, body = parse_response(c)
        need(st == 200 and h["content-type"] == JSN, "status %d" % st)
        need(700000 <= len(body) < 701000, "big body %d bytes" % len(body))
        need(int(h["x-body-sum"]) == sum(body) & 0xFFFFFFFF, "X-Body-Sum")
        arr = json.loads(body)
        need(isinstance(arr, list) and arr[0]["s"] == "kPEPE", "not a candle array")
        c.req("/info", method="POST", body=b'{"type":"big","size":5000}')
        st, h, body = parse_response(c)
        need(5000 <= len(body) < 5200 and json.loads(body), "size 5000 -> %d" % len(body))
        c.close()
    t("info big: ~700 KB JSON body (size adjustable), X-Body-Sum", info_big)

    def exchange():
        c = Client(P)
        c.req("/_reset", method="POST", body=b"")
        c.response(lambda i, s: expect(200, i, s, body=b"reset", ctype=TXT))
        order = b'{"action":{"type":"order"},"nonce":1}'
        c.req("/exchange?fail=1", method="POST", headers=[("Content-Type", "application/json")],
              body=order)
        c.response(lambda i, s: expect(502, i, s, [("X-Attempt", "1")], body=b"bad gateway",
                                       ctype=TXT))
        c.req("/_count?path=/exchange")
        c.response(lambda i, s: expect(200, i, s, body=b'{"requests":1,"connections":1}', ctype=JSN))
        c.req("/_log?path=/exchange")
        st, h, body = parse_response(c)
        log = json.loads(body)
        need(len(log) == 1, "log has %d /exchange entries" % len(log))
        e = log[0]
        need(e["method"] == "POST" and e["target"] == "/exchange?fail=1" and e["conn"] == c.cid
             and e["seq"] == 2 and e["body_len"] == len(order) and e["body"] == order.decode()
             and ["Content-Type", "application/json"] in e["headers"] and not e["chunked"]
             and e["version"] == "HTTP/1.1", "log entry %r" % e)
        c.seq += 1
        c.req("/exchange?fail=1", method="POST", body=order)
        c.response(lambda i, s: expect(200, i, s, [("X-Attempt", "2")],
                                       body=fixture("exchange_order_response_resting.json"),
                                       ctype=JSN))
        c.req("/exchange")
        c.response(lambda i, s: expect(405, i, s, [("Allow", "POST")], body=b"method not allowed",
                                       ctype=TXT))
        c.close()
    t("exchange: fail=1 gives 502 once; log and count show one attempt; then 200", exchange)

    def log_and_count():
        a = Client(P)
        a.req("/_reset", method="POST", body=b"")
        a.response(lambda i, s: expect(200, i, s, body=b"reset", ctype=TXT))
        b = Client(P)
        b.req("/ok?size=1", headers=[("X-Test", "one")])
        b.response(lambda i, s: expect(200, i, s, body=pat(1)))
        b.req("/echo", method="POST", headers=[("Transfer-Encoding", "chunked")],
              body=b"3\r\n\xff\xfe\xfd\r\n0\r\n\r\n")
        b.response(lambda i, s: expect(200, i, s, [("X-Method", "POST")], body=b"\xff\xfe\xfd"))
        b.req("/ok?size=1")
        b.response(lambda i, s: expect(200, i, s, body=pat(1)))
        d = Client(P)
        d.req("/ok?size=1")
        d.response(lambda i, s: expect(200, i, s, body=pat(1)))
        a.req("/_count?path=/ok")
        a.response(lambda i, s: expect(200, i, s, body=b'{"requests":3,"connections":2}', ctype=JSN))
        a.req("/_count")
        a.response(lambda i, s: expect(200, i, s, body=b'{"requests":4,"connections":2}', ctype=JSN))
        a.req("/_log")
        st, h, body = parse_response(a)
        log = json.loads(body)
        need([(e["conn"], e["seq"], e["path"]) for e in log]
             == [(b.cid, 1, "/ok"), (b.cid, 2, "/echo"), (b.cid, 3, "/ok"), (d.cid, 1, "/ok")],
             "log order %r" % [(e["conn"], e["seq"], e["path"]) for e in log])
        need(["X-Test", "one"] in log[0]["headers"] and ["Host", "127.0.0.1"] in log[0]["headers"],
             "headers %r" % log[0]["headers"])
        need(log[1]["chunked"] and log[1]["body_len"] == 3 and log[1]["body"] is None,
             "chunked entry %r" % log[1])
        need(all(isinstance(e["t_ms"], int) for e in log)
             and log[0]["t_ms"] <= log[3]["t_ms"], "t_ms")
        for x in (a, b, d):
            x.close()
    t("_log and _count: entries with conn/seq/headers/body, control requests not logged",
      log_and_count)

    def closing():
        c = Client(P)
        c.req("/ok?size=2", headers=[("Connection", "close")])
        c.response(lambda i, s: expect(200, i, s, body=pat(2), close=True))
        need(c.eof(2.0), "no close after Connection: close")
        c.close()
        c = Client(P)
        c.req("/ok?size=2", version="HTTP/1.0")
        c.response(lambda i, s: expect(200, i, s, body=pat(2), close=True))
        need(c.eof(2.0), "no close after an HTTP/1.0 request")
        c.close()
        c = Client(P)
        c.req("/ok?size=2", version="HTTP/1.0", headers=[("Connection", "keep-alive")])
        c.response(lambda i, s: expect(200, i, s, body=pat(2)))
        c.req("/ok?size=2&close=1")
        c.response(lambda i, s: expect(200, i, s, body=pat(2), close=True))
        need(c.eof(2.0), "no close after close=1")
        c.close()
    t("Connection: close, HTTP/1.0, close=1 close after the response", closing)

    def errors():
        c = Client(P)
        c.req("/nope")
        c.response(lambda i, s: expect(404, i, s, body=b"not found", ctype=TXT))
        c.req("/ok?size=abc")
        c.response(lambda i, s: expect(400, i, s, body=b"bad parameter size", ctype=TXT, close=True))
        need(c.eof(2.0), "no close after 400")
        c.close()
        for raw, why in ((b"GET /ok HTTP/1.1\nHost: x\n\n\r\n\r\n", b"bare CR or LF in the head"),
                         (b"GET /ok HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", b"obs-fold in the request"),
                         (b"GET /ok HTTP/1.1\r\nHost : x\r\n\r\n", b"bad header name"),
                         (b"GET /ok HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          b"bad Content-Length"),
                         (b"GET  /ok HTTP/1.1\r\n\r\n", b"bad request line")):
            c = Client(P)
            c.send(raw)
            same(c.rest(), b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: "
                 b"%d\r\nConnection: close\r\n\r\n%s" % (len(why), why), raw.decode())
            c.close()
    t("404 for unknown paths, 400 for bad parameters and malformed requests", errors)

    return all(rs)


def lifecycle_tests():
    def stdin_eof():
        p = Proc([PY, SERVER, "--port", "0"], "fault_stdin")
        need(p.port > 0, "no READY line: %r" % p.line)
        c = Client(p.port)  # an open keep-alive connection must not hold the exit up
        c.req("/ok?size=1")
        c.response(lambda i, s: expect(200, i, s, body=pat(1)))
        rc = p.stop(5.0)
        need(rc == 0, "exit status %r after stdin EOF" % rc)
        c.close()
    run("fault server exits on stdin EOF (with an open connection)", stdin_eof)

    def sigterm():
        p = Proc([PY, SERVER, "--port", "0", "--ignore-stdin"], "fault_sigterm")
        need(p.port > 0, "no READY line")
        p.p.stdin.close()
        time.sleep(0.3)
        need(p.p.poll() is None, "--ignore-stdin: left on stdin EOF")
        p.p.send_signal(signal.SIGTERM)
        try:
            rc = p.p.wait(5.0)
        except subprocess.TimeoutExpired:
            p.p.kill()
            p.p.wait()
            raise Fail("still running 5 s after SIGTERM")
        p.err.close()
        need(rc == 0, "exit status %r after SIGTERM" % rc)
    run("fault server --ignore-stdin stays on EOF, exits on SIGTERM", sigterm)


# ---- nginx ---------------------------------------------------------------------------------

def nginx_pid(d):
    try:
        with open(os.path.join(d, "nginx.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def gone_within(pid, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def nginx_tests():
    if not os.path.exists("/usr/sbin/nginx") and subprocess.call(
            ["sh", "-c", "command -v nginx >/dev/null"]) != 0:
        run("nginx", lambda: need(False, "nginx is not installed"))
        return
    d = os.path.join(WORK, "nginx")
    ng = Proc(["sh", START_NGINX, d, "0"], "start_nginx")
    pid = nginx_pid(d)

    def started():
        need(ng.port > 0 and ng.port2 == 0, "READY line %r" % ng.line)
        need(pid > 0 and alive(pid), "no nginx pid")
    if not run("start_nginx.sh prints READY <port> and nginx runs", started):
        ng.stop()
        return

    def files():
        c = Client(ng.port)
        for name, n in (("0.bin", 0), ("1k.bin", 1024), ("100k.bin", 102400), ("1m.bin", 1048576)):
            c.req("/" + name)
            st, h, body = parse_response(c)
            need(st == 200 and int(h["content-length"]) == n, "%s: %d %r" % (name, st, h))
            same(body, pat(n), name)
        c.req("/1k.bin", method="HEAD")
        st, h, body = parse_response(c, head_req=True)
        need(st == 200 and h["content-length"] == "1024", "HEAD")
        c.req("/status/429")
        st, h, body = parse_response(c)
        need(st == 429 and h.get("retry-after") == "1", "429: %d %r" % (st, h))
        c.req("/status/204")
        st, h, body = parse_response(c)
        need(st == 204, "204")
        c.req("/nope")
        st, h, body = parse_response(c)
        need(st == 404, "404")
        c.close()
    run("nginx: static files 0 B / 1 KiB / 100 KiB / 1 MiB, HEAD, fixed statuses", files)

    def keepalive():
        c = Client(ng.port)
        mark = "/1k.bin?ka=%d" % os.getpid()
        for _ in range(2):
            c.req(mark)
            st, h, body = parse_response(c)
            need(st == 200 and body == pat(1024), "status %d" % st)
        t0 = time.monotonic()
        need(c.eof(6.0), "no close within 6 s of idling")
        waited = time.monotonic() - t0
        need(waited > 1.0, "closed after %.2f s, before keepalive_timeout 2s" % waited)
        c.close()
        time.sleep(0.1)
        with open(os.path.join(d, "access.log")) as f:
            lines = [ln.split() for ln in f if '"GET %s ' % mark in ln]
        need(len(lines) == 2 and lines[0][0] == lines[1][0] and lines[0][1] == "1"
             and lines[1][1] == "2", "access log %r" % lines)
    run("nginx: two requests on one keep-alive connection, closed after keepalive_timeout",
        keepalive)

    def stops():
        rc = ng.stop(10.0)
        need(rc == 0, "start_nginx.sh exit status %r" % rc)
        need(gone_within(pid, 3.0), "nginx pid %d still alive" % pid)
    run("start_nginx.sh stops nginx on stdin EOF", stops)

    def tls():
        certs = os.path.join(WORK, "certs")
        if not os.path.exists(MAKE_CERTS):
            raise Fail("tests/tls/make_certs.sh not found")
        r = subprocess.run(["sh", MAKE_CERTS, certs], capture_output=True)
        need(r.returncode == 0, "make_certs.sh failed: %r" % r.stderr[-300:])
        dt = os.path.join(WORK, "nginx_tls")
        p = Proc(["sh", START_NGINX, dt, "0", "0", os.path.join(certs, "ec-chain.pem"),
                  os.path.join(certs, "ec.key")], "start_nginx_tls")
        try:
            need(p.port > 0 and p.port2 > 0, "READY line %r" % p.line)
            ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            c = Client(p.port2)
            c.s = ctx.wrap_socket(c.s, server_hostname="localhost")
            need(c.s.version() == "TLSv1.2", "version %r" % c.s.version())
            for _ in range(2):
                c.req("/100k.bin")
                st, h, body = parse_response(c)
                need(st == 200 and body == pat(102400), "status %d, %d bytes" % (st, len(body)))
            c.close()
            c = Client(p.port)
            c.req("/1k.bin")
            st, h, body = parse_response(c)
            need(st == 200 and body == pat(1024), "plain port beside TLS")
            c.close()
        finally:
            tpid = nginx_pid(dt)
            rc = p.stop(10.0)
        need(rc == 0 and tpid > 0 and gone_within(tpid, 3.0), "stop: rc %r" % rc)
    run("nginx HTTPS (TLS 1.2, certs from tests/tls/make_certs.sh): keep-alive GETs", tls)

    def sigterm():
        dt = os.path.join(WORK, "nginx_term")
        p = Proc(["sh", START_NGINX, dt, "0"], "start_nginx_term")
        need(p.port > 0, "READY line %r" % p.line)
        tpid = nginx_pid(dt)
        p.p.send_signal(signal.SIGTERM)
        try:
            rc = p.p.wait(10.0)
        except subprocess.TimeoutExpired:
            p.stop()
            raise Fail("start_nginx.sh still running 10 s after SIGTERM")
        p.stop()
        need(rc == 0 and tpid > 0 and gone_within(tpid, 3.0), "rc %r, nginx %d" % (rc, tpid))
    run("start_nginx.sh stops nginx on SIGTERM", sigterm)


def main():
    os.makedirs(WORK, exist_ok=True)
    t0 = time.monotonic()
    srv = Proc([PY, SERVER, "--port", "0"] + (["--verbose"] if VERBOSE else []), "fault_server")
    if run("fault server prints READY <port>", lambda: need(srv.port > 0, "got %r" % srv.line)):
        server_tests(srv.port)
        run("fault server exits 0 on stdin EOF", lambda: need(srv.stop() == 0, "exit status"))
    else:
        srv.stop()
    lifecycle_tests()
    nginx_tests()
    print("(%.1f s)" % (time.monotonic() - t0))
    print("selftest: %d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
