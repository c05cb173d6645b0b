#!/usr/bin/python3
"""Scripted WebSocket test server for the hl_net.h integration tests (Python side).

Built on Debian's python3-websockets 10.4 (the "legacy" asyncio server API).
Run it with the system interpreter so that package is found:

    /usr/bin/python3 tests/servers/ws_python_server.py [--port N] [--fixtures DIR] [--verbose]
        [--tls-cert FILE --tls-key FILE]

With --tls-cert/--tls-key the server speaks TLS (wss://) on the same port: the PEM chain
(leaf first, then intermediates) and its private key. TLS 1.2 is the highest version offered
(the library's BearSSL speaks 1.2 only), and OpenSSL's server-side session cache is left on,
so a client can resume a session by its ID.

Protocol with the test harness:
  * binds 127.0.0.1:<port> (port 0 = ephemeral) and prints exactly one line
    "READY <port>" on stdout; nothing else is ever written to stdout;
  * exits when stdin reaches EOF, or on SIGTERM / SIGINT;
  * logs to stderr only with --verbose.

The URL path selects the mode, query parameters tune it.  Mode and parameter
names are identical in tests/servers/ws_node_server.js; see the MODES table
below.  Invalid parameters are refused with HTTP 400 before the handshake,
unknown paths with HTTP 404 "unknown mode".

Payloads that tests may need to regenerate:
  * frag text message:   the bytes of FRAG_TEXT_UNIT repeated and cut to
    `size` bytes; if the cut splits a UTF-8 character, the bytes of that
    partial character are replaced by '.'.
  * frag binary message: byte i is i % 251.
  * fragment k (0-based) of `parts` covers bytes
    [floor(k*size/parts), floor((k+1)*size/parts)), so fragments may be empty
    and may split UTF-8 characters.
  * frag_ping sends a ping with payload "frag-ping" right after fragment 0.
  * pingflood ping i carries the decimal counter i, zero-padded (or cut to
    its last digits) to exactly `size` bytes.
  * flood messages are exactly `size` bytes of JSON (minimum 32); the "tid"
    field is FLOOD_TID_BASE + message index (15 digits).
"""

import argparse
import asyncio
import http
import json
import logging
import os
import random
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

from websockets.exceptions import ConnectionClosed
from websockets.frames import OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT
from websockets.legacy.server import WebSocketServerProtocol, serve

MIB = 1024 * 1024
MAX_MESSAGE = 32 * MIB
SUBPROTOCOLS = ["chat", "superchat"]  # server preference order

FRAG_TEXT_UNIT = "frag-test é€😀 0123456789 ".encode("utf-8")  # 31 bytes
FRAG_PING_PAYLOAD = b"frag-ping"
RESET_PAYLOAD_LEN = 100
FLOOD_TID_BASE = 100000000000000  # 15 digits, fixed width for any sane n
PINGFLOOD_WAIT_S = 5.0

VERBOSE = False


def log(*args):
    if VERBOSE:
        print("[ws_python_server]", *args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------

class BadParam(Exception):
    pass


def p_int(default, lo, hi):
    def parse(text):
        if text is None:
            return default
        try:
            value = int(text, 10)
        except ValueError:
            raise BadParam("not an integer") from None
        if not lo <= value <= hi:
            raise BadParam(f"must be in [{lo}, {hi}]")
        return value
    return parse


def p_float(default, lo, hi):
    def parse(text):
        if text is None:
            return default
        try:
            value = float(text)
        except ValueError:
            raise BadParam("not a number") from None
        if not (lo <= value <= hi):
            raise BadParam(f"must be in [{lo}, {hi}]")
        return value
    return parse


def p_close_code(default):
    """A close code that may be sent on the wire (RFC 6455 section 7.4)."""
    parse_int = p_int(default, 1000, 4999)

    def parse(text):
        value = parse_int(text)
        if 1015 <= value < 3000 or value in (1004, 1005, 1006):
            raise BadParam("not a close code an endpoint may send")
        return value
    return parse


def p_choice(default, *choices):
    def parse(text):
        if text is None:
            return default
        if text not in choices:
            raise BadParam("must be one of " + "|".join(choices))
        return text
    return parse


def p_str(default, max_bytes):
    def parse(text):
        if text is None:
            return default
        if len(text.encode("utf-8")) > max_bytes:
            raise BadParam(f"longer than {max_bytes} bytes")
        return text
    return parse


FRAG_PARAMS = {
    "parts": p_int(5, 1, 1000000),
    "size": p_int(1000, 0, MAX_MESSAGE),
    "type": p_choice("text", "text", "binary"),
}

# mode name -> {parameter name -> parser (default, allowed range)}
MODES = {
    "echo": {},
    "frag": FRAG_PARAMS,
    "frag_ping": dict(FRAG_PARAMS, parts=p_int(5, 2, 1000000)),
    "pingflood": {"n": p_int(1000, 0, 10000000), "size": p_int(16, 0, 125)},
    "close": {"code": p_close_code(1000), "reason": p_str("bye", 123)},
    "reset": {"after": p_int(10, 0, 2 + RESET_PAYLOAD_LEN), "delay": p_int(100, 0, 60000)},
    "flood": {"n": p_int(100000, 0, 1000000000), "size": p_int(300, 32, MAX_MESSAGE)},
    "trades": {"rate": p_float(20.0, 0.001, 1000000.0), "n": p_int(0, 0, 1000000000)},
    "headers": {},
    "reject": {"status": p_int(403, 200, 599)},
}


def parse_request_path(path):
    """Return (mode, params) or raise LookupError / BadParam."""
    split = urllib.parse.urlsplit(path)
    mode = split.path.lstrip("/")
    if mode not in MODES:
        raise LookupError(mode)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    params = {}
    for name, parser in MODES[mode].items():
        values = query.get(name)
        try:
            params[name] = parser(values[-1] if values else None)
        except BadParam as exc:
            raise BadParam(f"bad parameter {name}: {exc}") from None
    return mode, params


def http_status(code):
    """HTTPStatus for code; websockets 10.4 needs .value and .phrase."""
    try:
        return http.HTTPStatus(code)
    except ValueError:
        status = _OddStatus(code)
        status.value, status.phrase = code, "Status"
        return status


class _OddStatus(int):
    """Stand-in for status codes that http.HTTPStatus does not know."""


def text_response(code, body):
    return http_status(code), [("Content-Type", "text/plain")], body.encode("utf-8")


# --------------------------------------------------------------------------
# Protocol subclass: routing before the handshake, pong observation
# --------------------------------------------------------------------------

class TestServerProtocol(WebSocketServerProtocol):
    mode = None
    params = None
    on_pong = None  # callable(bytes) while a mode wants to see pongs
    trades_template = None  # parsed trades.json, set once in main()

    async def process_request(self, path, request_headers):
        log("request", path)
        try:
            self.mode, self.params = parse_request_path(path)
        except LookupError:
            return text_response(404, "unknown mode")
        except BadParam as exc:
            return text_response(400, str(exc))
        if self.mode == "reject":
            status = self.params["status"]
            return text_response(status, f"rejected: {status}")
        return None  # go on with the WebSocket handshake

    async def read_frame(self, max_size):
        frame = await super().read_frame(max_size)
        if frame.opcode == OP_PONG and self.on_pong is not None:
            self.on_pong(frame.data)
        return frame


def select_subprotocol(client_subprotocols, server_subprotocols):
    for name in server_subprotocols:
        if name in client_subprotocols:
            return name
    return None


# --------------------------------------------------------------------------
# Payload builders
# --------------------------------------------------------------------------

def frame_header(opcode, length, fin=True):
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return struct.pack("!BB", first, length)
    if length < 65536:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def frag_text_message(size):
    unit = FRAG_TEXT_UNIT
    data = bytearray((unit * (size // len(unit) + 1))[:size])
    # Replace a trailing partial UTF-8 character with '.' bytes.
    i = len(data)
    while i > 0 and (data[i - 1] & 0xC0) == 0x80:
        i -= 1
    if i > 0 and data[i - 1] >= 0xC0:
        lead = data[i - 1]
        need = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        if len(data) - (i - 1) < need:
            data[i - 1:] = b"." * (len(data) - (i - 1))
    return bytes(data)


def frag_binary_message(size):
    pattern = bytes(range(251))
    return (pattern * (size // 251 + 1))[:size]


def pingflood_payload(i, size):
    if size == 0:
        return b""
    digits = str(i).zfill(size)
    return digits[-size:].encode("ascii")


def flood_template(size):
    """(prefix, suffix) so that prefix + 15-digit tid + suffix is `size` bytes."""
    prefix = (b'{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"97123.5",'
              b'"sz":"0.01234","time":1764835613064,"tid":')
    tail_open, tail_close = b',"pad":"', b'"}]}'
    fixed = len(prefix) + 15 + len(tail_open) + len(tail_close)
    if size < fixed:  # too small for a trade: minimal object, still valid JSON
        prefix, tail_close = b'{"tid":', b'"}'
        fixed = len(prefix) + 15 + len(tail_open) + len(tail_close)
    return prefix, tail_open + b"x" * (size - fixed) + tail_close


def reset_frame_bytes():
    payload = (b"reset-test " * 10)[:RESET_PAYLOAD_LEN]
    return frame_header(OP_TEXT, len(payload)) + payload


# --------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------

async def echo_loop(ws):
    async for message in ws:
        await ws.send(message)


async def discard_until_closed(ws):
    async for _ in ws:
        pass


async def mode_echo(ws, p):
    await echo_loop(ws)


async def send_fragmented(ws, p, ping_between):
    if p["type"] == "text":
        opcode, message = OP_TEXT, frag_text_message(p["size"])
    else:
        opcode, message = OP_BINARY, frag_binary_message(p["size"])
    parts, size = p["parts"], p["size"]
    # ws.send(iterable) would also fragment, but it always appends an empty
    # final frame; writing the frames ourselves gives exactly `parts` frames.
    for k in range(parts):
        chunk = message[k * size // parts:(k + 1) * size // parts]
        await ws.write_frame(k == parts - 1, opcode if k == 0 else OP_CONT, chunk)
        if ping_between and k == 0:
            await ws.write_frame(True, OP_PING, FRAG_PING_PAYLOAD)
    log(f"frag: sent {size} bytes in {parts} fragments")


async def mode_frag(ws, p):
    await send_fragmented(ws, p, ping_between=False)
    await echo_loop(ws)


async def mode_frag_ping(ws, p):
    await send_fragmented(ws, p, ping_between=True)
    await echo_loop(ws)


async def mode_pingflood(ws, p):
    n, size = p["n"], p["size"]
    outstanding = {}  # payload -> number of unanswered pings carrying it
    state = {"pongs": 0, "last_answered": False}
    last_payload = pingflood_payload(n - 1, size) if n else None
    done = asyncio.Event()
    if n == 0:
        done.set()

    def on_pong(data):
        if outstanding.get(data, 0) > 0:
            outstanding[data] -= 1
            state["pongs"] += 1
            if data == last_payload and not outstanding[data]:
                state["last_answered"] = True
                done.set()  # pongs arrive in order: nothing else will come
            if state["pongs"] == n:
                done.set()

    ws.on_pong = on_pong
    for i in range(n):
        payload = pingflood_payload(i, size)
        outstanding[payload] = outstanding.get(payload, 0) + 1
        await ws.write_frame(True, OP_PING, payload)
    try:
        await asyncio.wait_for(done.wait(), PINGFLOOD_WAIT_S)
    except asyncio.TimeoutError:
        pass
    ws.on_pong = None
    report = {"pings": n, "pongs": state["pongs"], "last_answered": state["last_answered"]}
    log("pingflood:", report)
    await ws.send(json.dumps(report, separators=(",", ":")))
    await echo_loop(ws)


async def mode_close(ws, p):
    await ws.send("closing")
    await ws.close(p["code"], p["reason"])  # waits for the reply, then closes TCP


async def mode_reset(ws, p):
    transport = ws.transport
    sock = transport.get_extra_info("socket")
    transport.write(reset_frame_bytes()[:p["after"]])
    await asyncio.sleep(p["delay"] / 1000)
    # Linger on with a zero timeout: close() sends RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await ws.wait_closed()
    log("reset: connection aborted")


async def mode_flood(ws, p):
    n, size = p["n"], p["size"]
    prefix, suffix = flood_template(size)
    head = frame_header(OP_TEXT, size) + prefix
    per_batch = max(1, (256 * 1024) // (size + 16))
    transport = ws.transport
    started = time.perf_counter()
    sent = 0
    while sent < n:
        await ws.ensure_open()  # raises ConnectionClosed once the peer left
        count = min(per_batch, n - sent)
        pieces = []
        for tid in range(FLOOD_TID_BASE + sent, FLOOD_TID_BASE + sent + count):
            pieces += (head, b"%d" % tid, suffix)
        # Whole pre-built frames, so nothing else can interleave inside one.
        transport.write(b"".join(pieces))
        sent += count
        await ws.drain()  # backpressure: waits while the write buffer is full
    elapsed = time.perf_counter() - started
    log(f"flood: {n} x {size} B in {elapsed:.3f} s ({n / max(elapsed, 1e-9):.0f} msg/s)")
    await ws.send(json.dumps({"done": n}, separators=(",", ":")))
    await discard_until_closed(ws)


TRADE_COINS = {  # coin -> (start price, price decimals, size decimals, max size)
    "BTC": (97000.0, 1, 5, 0.5),
    "ETH": (3500.0, 2, 4, 10.0),
    "SOL": (200.0, 3, 2, 100.0),
    "HYPE": (35.276, 3, 2, 500.0),
}


async def trades_stream(ws, p, template):
    rate, n = p["rate"], p["n"]
    prices = {coin: spec[0] for coin, spec in TRADE_COINS.items()}
    trade0 = template["data"][0]
    tid = int(trade0.get("tid", 700000000000000))
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while n == 0 or sent < n:
        due = start + sent / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        coin = random.choice(list(TRADE_COINS))
        _, px_dec, sz_dec, sz_max = TRADE_COINS[coin]
        prices[coin] *= 1.0 + random.uniform(-0.0005, 0.0005)
        trade = dict(trade0)
        trade.update(
            coin=coin,
            side=random.choice("BA"),
            px=f"{prices[coin]:.{px_dec}f}",
            sz=f"{random.uniform(10 ** -sz_dec, sz_max):.{sz_dec}f}",
            time=int(time.time() * 1000),
            tid=tid,
        )
        message = dict(template, data=[trade])
        await ws.send(json.dumps(message, separators=(",", ":")))
        tid += 1
        sent += 1
    log(f"trades: sent {sent}")


async def mode_trades(ws, p):
    template = ws.trades_template
    if template is None:
        await ws.close(1011, "trades.json not found")
        return
    echo_task = asyncio.ensure_future(echo_loop(ws))
    try:
        await trades_stream(ws, p, template)
    except ConnectionClosed:
        pass
    await echo_task


async def mode_headers(ws, p):
    headers = {}
    for name, value in ws.request_headers.raw_items():
        name = name.lower()
        headers[name] = headers[name] + ", " + value if name in headers else value
    headers["path"] = ws.path
    await ws.send(json.dumps(headers, separators=(",", ":")))
    await echo_loop(ws)


MODE_HANDLERS = {
    "echo": mode_echo,
    "frag": mode_frag,
    "frag_ping": mode_frag_ping,
    "pingflood": mode_pingflood,
    "close": mode_close,
    "reset": mode_reset,
    "flood": mode_flood,
    "trades": mode_trades,
    "headers": mode_headers,
    # "reject" never gets here: process_request answers it.
}


async def handler(ws):
    log("connected:", ws.mode, ws.params, "subprotocol:", ws.subprotocol)
    try:
        await MODE_HANDLERS[ws.mode](ws, ws.params)
    except ConnectionClosed as exc:
        log("connection closed:", exc)
    except (ConnectionError, OSError) as exc:
        log("socket error:", exc)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def default_fixtures_dir():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "fixtures", "hl")


def load_trades_template(fixtures_dir):
    path = os.path.join(fixtures_dir, "trades.json")
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError) as exc:
        print(f"ws_python_server: cannot load {path}: {exc}; /trades disabled",
              file=sys.stderr, flush=True)
        return None


def watch_stdin(loop, stop):
    """Thread body: set `stop` once stdin reaches EOF."""
    try:
        while os.read(sys.stdin.fileno(), 65536):
            pass
    except OSError:
        pass
    loop.call_soon_threadsafe(stop.set)


async def main(args):
    TestServerProtocol.trades_template = load_trades_template(args.fixtures)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    threading.Thread(target=watch_stdin, args=(loop, stop), daemon=True).start()

    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.maximum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(args.tls_cert, args.tls_key)

    server = await serve(
        handler,
        "127.0.0.1",
        args.port,
        create_protocol=TestServerProtocol,
        subprotocols=SUBPROTOCOLS,
        select_subprotocol=select_subprotocol,
        compression=None,
        max_size=MAX_MESSAGE,
        ping_interval=None,  # no unsolicited keepalive pings (node ws sends none)
        close_timeout=5,
        ssl=tls,
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    log("listening on port", port)

    await stop.wait()
    log("shutting down")
    # Start closing handshakes (1001) but give them only a short grace period;
    # exiting quickly matters more to the test harness than a clean close.
    server.close()
    try:
        await asyncio.wait_for(asyncio.shield(server.wait_closed()), 0.5)
    except asyncio.TimeoutError:
        log("connections still open; exiting anyway")


def parse_args():
    parser = argparse.ArgumentParser(description="Scripted WebSocket test server (websockets 10.4)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    parser.add_argument("--fixtures", default=default_fixtures_dir(),
                        help="directory holding trades.json (default: <repo>/../shared/fixtures/hl)")
    parser.add_argument("--verbose", action="store_true", help="log to stderr")
    parser.add_argument("--tls-cert", metavar="FILE", help="serve wss://: PEM chain, leaf first")
    parser.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM)")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


if __name__ == "__main__":
    ARGS = parse_args()
    VERBOSE = ARGS.verbose
    if VERBOSE:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="[ws_python_server] %(name)s: %(message)s")
    else:
        logging.disable(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(main(ARGS))
    # Skip waiting for leftover connection tasks and for the stdin watcher
    # thread (it may still be blocked in read()).
    sys.stderr.flush()
    os._exit(0)
