#!/usr/bin/env node
/*
 * Scripted WebSocket test server for the hl_net.h integration tests (node side).
 *
 * Built on the npm package `ws` (see package.json at the repo root; run
 * `npm install` there once).
 *
 *     node tests/servers/ws_node_server.js [--port N] [--fixtures DIR] [--verbose]
 *
 * Protocol with the test harness:
 *   - binds 127.0.0.1:<port> (port 0 = ephemeral) and prints exactly one line
 *     "READY <port>" on stdout; nothing else is ever written to stdout;
 *   - exits when stdin reaches EOF, or on SIGTERM / SIGINT;
 *   - logs to stderr only with --verbose.
 *
 * The URL path selects the mode, query parameters tune it.  Mode and
 * parameter names, defaults, limits and payloads are identical to
 * tests/servers/ws_python_server.py; the payload rules are documented at the
 * top of that file.  Invalid parameters are refused with HTTP 400 before the
 * handshake, unknown paths with HTTP 404 "unknown mode".
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { WebSocketServer } = require('ws');

const MIB = 1024 * 1024;
const MAX_MESSAGE = 32 * MIB;
const SUBPROTOCOLS = ['chat', 'superchat']; // server preference order

const FRAG_TEXT_UNIT = Buffer.from('frag-test é€😀 0123456789 ', 'utf8'); // 31 bytes
const FRAG_PING_PAYLOAD = Buffer.from('frag-ping');
const RESET_PAYLOAD_LEN = 100;
const FLOOD_TID_BASE = 100000000000000; // 15 digits, fixed width for any sane n
const PINGFLOOD_WAIT_MS = 5000;

const OP_TEXT = 0x1;

let VERBOSE = false;

function log(...args) {
  if (VERBOSE) console.error('[ws_node_server]', ...args);
}

// ---------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------

class BadParam extends Error {}

function pInt(def, lo, hi) {
  return (text) => {
    if (text === null) return def;
    if (!/^[+-]?\d+$/.test(text.trim())) throw new BadParam('not an integer');
    const value = Number(text);
    if (!(value >= lo && value <= hi)) throw new BadParam(`must be in [${lo}, ${hi}]`);
    return value;
  };
}

function pFloat(def, lo, hi) {
  return (text) => {
    if (text === null) return def;
    const value = Number(text);
    if (text.trim() === '' || Number.isNaN(value)) throw new BadParam('not a number');
    if (!(value >= lo && value <= hi)) throw new BadParam(`must be in [${lo}, ${hi}]`);
    return value;
  };
}

// A close code that may be sent on the wire (RFC 6455 section 7.4).
function pCloseCode(def) {
  const parseInt = pInt(def, 1000, 4999);
  return (text) => {
    const value = parseInt(text);
    if ((value >= 1015 && value < 3000) || [1004, 1005, 1006].includes(value)) {
      throw new BadParam('not a close code an endpoint may send');
    }
    return value;
  };
}

function pChoice(def, ...choices) {
  return (text) => {
    if (text === null) return def;
    if (!choices.includes(text)) throw new BadParam('must be one of ' + choices.join('|'));
    return text;
  };
}

function pStr(def, maxBytes) {
  return (text) => {
    if (text === null) return def;
    if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new BadParam(`longer than ${maxBytes} bytes`);
    return text;
  };
}

const FRAG_PARAMS = {
  parts: pInt(5, 1, 1000000),
  size: pInt(1000, 0, MAX_MESSAGE),
  type: pChoice('text', 'text', 'binary'),
};

// mode name -> {parameter name -> parser (default, allowed range)}
const MODES = {
  echo: {},
  frag: FRAG_PARAMS,
  frag_ping: { ...FRAG_PARAMS, parts: pInt(5, 2, 1000000) },
  pingflood: { n: pInt(1000, 0, 10000000), size: pInt(16, 0, 125) },
  close: { code: pCloseCode(1000), reason: pStr('bye', 123) },
  reset: { after: pInt(10, 0, 2 + RESET_PAYLOAD_LEN), delay: pInt(100, 0, 60000) },
  flood: { n: pInt(100000, 0, 1000000000), size: pInt(300, 32, MAX_MESSAGE) },
  trades: { rate: pFloat(20, 0.001, 1000000), n: pInt(0, 0, 1000000000) },
  headers: {},
  reject: { status: pInt(403, 200, 599) },
};

// Returns {mode, params}; throws RangeError (unknown mode) or BadParam.
function parseRequestPath(url) {
  const u = new URL(url, 'http://127.0.0.1');
  const mode = u.pathname.replace(/^\/+/, '');
  if (!Object.prototype.hasOwnProperty.call(MODES, mode)) throw new RangeError(mode);
  const params = {};
  for (const [name, parser] of Object.entries(MODES[mode])) {
    const values = u.searchParams.getAll(name);
    try {
      params[name] = parser(values.length ? values[values.length - 1] : null);
    } catch (err) {
      if (err instanceof BadParam) throw new BadParam(`bad parameter ${name}: ${err.message}`);
      throw err;
    }
  }
  return { mode, params };
}

// Decide what to do with a request before any handshake:
// {mode, params} to accept it, or {status, body} to refuse it.
function route(url) {
  let r;
  try {
    r = parseRequestPath(url);
  } catch (err) {
    if (err instanceof RangeError) return { status: 404, body: 'unknown mode' };
    if (err instanceof BadParam) return { status: 400, body: err.message };
    throw err;
  }
  if (r.mode === 'reject') return { status: r.params.status, body: `rejected: ${r.params.status}` };
  return r;
}

function rawHttpResponse(status, body) {
  const bytes = Buffer.from(body, 'utf8');
  const reason = http.STATUS_CODES[status] || 'Status';
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        'Content-Type: text/plain\r\n' +
        `Content-Length: ${bytes.length}\r\n` +
        'Connection: close\r\n\r\n',
      'latin1'
    ),
    bytes,
  ]);
}

// ---------------------------------------------------------------------------
// Payload builders
// ---------------------------------------------------------------------------

function frameHeader(opcode, length, fin = true) {
  const first = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Buffer.from([first, length]);
  if (length < 65536) {
    const h = Buffer.alloc(4);
    h[0] = first;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = first;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

function fragTextMessage(size) {
  const data = Buffer.alloc(size);
  if (size > 0) data.fill(FRAG_TEXT_UNIT);
  // Replace a trailing partial UTF-8 character with '.' bytes.
  let i = size;
  while (i > 0 && (data[i - 1] & 0xc0) === 0x80) i--;
  if (i > 0 && data[i - 1] >= 0xc0) {
    const lead = data[i - 1];
    const need = lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    if (size - (i - 1) < need) data.fill(0x2e, i - 1);
  }
  return data;
}

function fragBinaryMessage(size) {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = i % 251;
  return data;
}

function pingfloodPayload(i, size) {
  if (size === 0) return Buffer.alloc(0);
  const digits = String(i).padStart(size, '0');
  return Buffer.from(digits.slice(digits.length - size), 'ascii');
}

// {prefix, suffix} so that prefix + 15-digit tid + suffix is `size` bytes.
function floodTemplate(size) {
  let prefix =
    '{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"97123.5",' +
    '"sz":"0.01234","time":1764835613064,"tid":';
  const tailOpen = ',"pad":"';
  let tailClose = '"}]}';
  let fixed = prefix.length + 15 + tailOpen.length + tailClose.length;
  if (size < fixed) {
    // too small for a trade: minimal object, still valid JSON
    prefix = '{"tid":';
    tailClose = '"}';
    fixed = prefix.length + 15 + tailOpen.length + tailClose.length;
  }
  return { prefix, suffix: tailOpen + 'x'.repeat(size - fixed) + tailClose };
}

function resetFrameBytes() {
  const payload = Buffer.from('reset-test '.repeat(10).slice(0, RESET_PAYLOAD_LEN), 'ascii');
  return Buffer.concat([frameHeader(OP_TEXT, payload.length), payload]);
}

// ---------------------------------------------------------------------------
// Incoming messages: queued from the start of a connection (like the Python
// server, where unread messages wait in the library's queue) until the mode
// switches to echoing or discarding them.
// ---------------------------------------------------------------------------

function queueIncoming(ws) {
  ws.pending = [];
  ws.incoming = (data, isBinary) => ws.pending.push([data, isBinary]);
  ws.on('message', (data, isBinary) => ws.incoming(data, isBinary));
}

function startEcho(ws) {
  ws.incoming = (data, isBinary) => ws.send(data, { binary: isBinary });
  for (const [data, isBinary] of ws.pending.splice(0)) ws.incoming(data, isBinary);
}

function startDiscard(ws) {
  ws.incoming = () => {};
  ws.pending.length = 0;
}

// ---------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------

function modeEcho(ws) {
  startEcho(ws);
}

function sendFragmented(ws, p, pingBetween) {
  const binary = p.type === 'binary';
  const message = binary ? fragBinaryMessage(p.size) : fragTextMessage(p.size);
  const { parts, size } = p;
  // ws turns the first send(..., {fin: false}) into a text/binary frame and
  // the following ones into continuation frames, up to the one with fin.
  for (let k = 0; k < parts; k++) {
    const chunk = message.subarray(Math.floor((k * size) / parts), Math.floor(((k + 1) * size) / parts));
    ws.send(chunk, { binary, fin: k === parts - 1 });
    if (pingBetween && k === 0) ws.ping(FRAG_PING_PAYLOAD);
  }
  log(`frag: sent ${size} bytes in ${parts} fragments`);
}

function modeFrag(ws, p) {
  sendFragmented(ws, p, false);
  startEcho(ws);
}

function modeFragPing(ws, p) {
  sendFragmented(ws, p, true);
  startEcho(ws);
}

function modePingflood(ws, p) {
  const { n, size } = p;
  const outstanding = new Map(); // payload (latin1 string) -> unanswered pings carrying it
  let pongs = 0;
  let lastAnswered = false;
  const lastPayload = n ? pingfloodPayload(n - 1, size).toString('latin1') : null;
  let reported = false;

  const report = () => {
    if (reported) return;
    reported = true;
    clearTimeout(timer);
    ws.off('pong', onPong);
    const result = { pings: n, pongs, last_answered: lastAnswered };
    log('pingflood:', result);
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(result));
    startEcho(ws);
  };
  const onPong = (data) => {
    const key = data.toString('latin1');
    const left = outstanding.get(key) || 0;
    if (left === 0) return;
    outstanding.set(key, left - 1);
    pongs++;
    if (key === lastPayload && left === 1) {
      lastAnswered = true;
      report(); // pongs arrive in order: nothing else will come
    } else if (pongs === n) {
      report();
    }
  };

  ws.on('pong', onPong);
  const timer = setTimeout(report, PINGFLOOD_WAIT_MS);
  for (let i = 0; i < n; i++) {
    const payload = pingfloodPayload(i, size);
    const key = payload.toString('latin1');
    outstanding.set(key, (outstanding.get(key) || 0) + 1);
    ws.ping(payload);
  }
  if (n === 0) report();
}

function modeClose(ws, p) {
  ws.send('closing');
  ws.close(p.code, p.reason); // waits for the reply, then closes TCP
  startDiscard(ws);
}

function modeReset(ws, p) {
  const socket = ws._socket; // the underlying net.Socket
  socket.write(resetFrameBytes().subarray(0, p.after));
  setTimeout(() => {
    // SO_LINGER {on, 0} + close: the kernel sends RST instead of FIN.
    socket.resetAndDestroy();
    log('reset: connection aborted');
  }, p.delay);
  startDiscard(ws);
}

function modeFlood(ws, p) {
  const { n, size } = p;
  const { prefix, suffix } = floodTemplate(size);
  const header = frameHeader(OP_TEXT, size);
  // One complete frame; only the 15 tid digits change from message to message.
  const frame = Buffer.concat([header, Buffer.from(prefix + '0'.repeat(15) + suffix, 'latin1')]);
  const tidOffset = header.length + prefix.length;
  const perBatch = Math.max(1, Math.floor((256 * 1024) / frame.length));
  const socket = ws._socket;
  const started = process.hrtime.bigint();
  let sent = 0;
  startDiscard(ws);

  // Whole pre-built frames go straight to the socket, so nothing ws writes
  // (pongs, close) can end up inside one of them.
  const pump = () => {
    while (sent < n) {
      if (ws.readyState !== ws.OPEN) return;
      const count = Math.min(perBatch, n - sent);
      const batch = Buffer.allocUnsafe(count * frame.length);
      batch.fill(frame);
      for (let m = 0, off = tidOffset; m < count; m++, off += frame.length) {
        let tid = FLOOD_TID_BASE + sent + m;
        for (let d = off + 14; d >= off; d--) {
          batch[d] = 48 + (tid % 10);
          tid = Math.floor(tid / 10);
        }
      }
      sent += count;
      if (!socket.write(batch)) {
        socket.once('drain', pump); // backpressure
        return;
      }
    }
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    log(`flood: ${n} x ${size} B in ${secs.toFixed(3)} s (${Math.round(n / Math.max(secs, 1e-9))} msg/s)`);
    ws.send(JSON.stringify({ done: n }));
  };
  pump();
}

const TRADE_COINS = {
  // coin -> [start price, price decimals, size decimals, max size]
  BTC: [97000.0, 1, 5, 0.5],
  ETH: [3500.0, 2, 4, 10.0],
  SOL: [200.0, 3, 2, 100.0],
  HYPE: [35.276, 3, 2, 500.0],
};

function tradesStream(ws, p, template) {
  const { rate, n } = p;
  const coins = Object.keys(TRADE_COINS);
  const prices = Object.fromEntries(coins.map((c) => [c, TRADE_COINS[c][0]]));
  const trade0 = template.data[0];
  let tid = Number(trade0.tid !== undefined ? trade0.tid : 700000000000000);
  const start = performance.now();
  let sent = 0;

  const tick = () => {
    if (ws.readyState !== ws.OPEN) return;
    // Send everything that is due, so high rates survive timer granularity.
    while ((n === 0 || sent < n) && start + (sent * 1000) / rate <= performance.now()) {
      const coin = coins[Math.floor(Math.random() * coins.length)];
      const [, pxDec, szDec, szMax] = TRADE_COINS[coin];
      prices[coin] *= 1 + (Math.random() * 2 - 1) * 0.0005;
      const szMin = 10 ** -szDec;
      const trade = {
        ...trade0,
        coin,
        side: Math.random() < 0.5 ? 'B' : 'A',
        px: prices[coin].toFixed(pxDec),
        sz: (szMin + Math.random() * (szMax - szMin)).toFixed(szDec),
        time: Date.now(),
        tid,
      };
      ws.send(JSON.stringify({ ...template, data: [trade] }));
      tid++;
      sent++;
    }
    if (n !== 0 && sent >= n) {
      log(`trades: sent ${sent}`);
      return;
    }
    const due = start + (sent * 1000) / rate;
    setTimeout(tick, Math.max(0, due - performance.now()));
  };
  tick();
}

function modeTrades(ws, p) {
  if (ws.tradesTemplate === null) {
    ws.close(1011, 'trades.json not found');
    return;
  }
  startEcho(ws);
  tradesStream(ws, p, ws.tradesTemplate);
}

function modeHeaders(ws, p, req) {
  const headers = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    headers[name] = name in headers ? headers[name] + ', ' + raw[i + 1] : raw[i + 1];
  }
  headers.path = req.url;
  ws.send(JSON.stringify(headers));
  startEcho(ws);
}

const MODE_HANDLERS = {
  echo: modeEcho,
  frag: modeFrag,
  frag_ping: modeFragPing,
  pingflood: modePingflood,
  close: modeClose,
  reset: modeReset,
  flood: modeFlood,
  trades: modeTrades,
  headers: modeHeaders,
  // "reject" never gets here: the upgrade handler answers it.
};

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const repo = path.resolve(__dirname, '..', '..');
  const args = { port: 0, fixtures: path.join(path.dirname(repo), 'shared', 'fixtures', 'hl'), verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port' && i + 1 < argv.length) args.port = Number(argv[++i]);
    else if (a.startsWith('--port=')) args.port = Number(a.slice(7));
    else if (a === '--fixtures' && i + 1 < argv.length) args.fixtures = argv[++i];
    else if (a.startsWith('--fixtures=')) args.fixtures = a.slice(11);
    else if (a === '--verbose') args.verbose = true;
    else {
      console.error(`usage: ws_node_server.js [--port N] [--fixtures DIR] [--verbose] (bad argument: ${a})`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    console.error('ws_node_server: --port must be an integer in [0, 65535]');
    process.exit(2);
  }
  return args;
}

function loadTradesTemplate(fixturesDir) {
  const file = path.join(fixturesDir, 'trades.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`ws_node_server: cannot load ${file}: ${err.message}; /trades disabled`);
    return null;
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  VERBOSE = args.verbose;
  const tradesTemplate = loadTradesTemplate(args.fixtures);

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE,
    handleProtocols: (offered) => SUBPROTOCOLS.find((name) => offered.has(name)) || false,
  });

  // Plain HTTP requests: same routing as the Python server (which refuses
  // them with 426 once the path and parameters pass).
  const server = http.createServer((req, res) => {
    const r = route(req.url);
    const status = r.status || 426;
    const body = r.body || 'WebSocket upgrade required';
    res.writeHead(status, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end(body);
  });

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', (err) => log('socket error:', err.message));
    log('request', req.url);
    const r = route(req.url);
    if (r.status) {
      socket.end(rawHttpResponse(r.status, r.body), () => socket.destroy());
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.tradesTemplate = tradesTemplate;
      ws.on('error', (err) => log('connection error:', err.message));
      ws.on('close', (code, reason) => log('connection closed:', code, reason.toString()));
      queueIncoming(ws);
      log('connected:', r.mode, JSON.stringify(r.params), 'subprotocol:', ws.protocol || '(none)');
      try {
        MODE_HANDLERS[r.mode](ws, r.params, req);
      } catch (err) {
        console.error('ws_node_server: mode handler failed:', err);
        ws.close(1011);
      }
    });
  });
  server.on('clientError', (err, socket) => {
    log('client error:', err.message);
    socket.destroy();
  });

  let stopping = false;
  const shutdown = (why) => {
    if (stopping) return;
    stopping = true;
    log('shutting down:', why);
    for (const ws of wss.clients) ws.terminate();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.stdin.on('end', () => shutdown('stdin EOF'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();

  server.listen(args.port, '127.0.0.1', () => {
    const { port } = server.address();
    process.stdout.write(`READY ${port}\n`);
    log('listening on port', port);
  });
}

main();
