#!/bin/sh
# What `make demo` runs (the Makefile builds build/hl_demo first). From anywhere:
#     sh examples/demo.sh [SECONDS]
# Starts tests/servers/hl_server.py, the local stand-in for Hyperliquid's WebSocket API, on a free
# port of 127.0.0.1, told to drop every connection every 5 seconds (--drop-every 5), and runs
# build/hl_demo against it for SECONDS (default 15): prices flow, the server cuts the connection,
# and the library reconnects with backoff and resubscribes all six feeds by itself; at the end
# hl_demo closes normally and prints the library's statistics. Nothing leaves this machine.
# The server is stopped on exit (its stdin closes and it gets SIGTERM by its PID).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
demo=build/hl_demo
python=/usr/bin/python3
seconds=${1:-15}

if [ ! -x "$demo" ]; then
    echo "demo: $demo is missing; run 'make demo' (or 'make $demo') first" >&2
    exit 1
fi
if [ ! -x "$python" ]; then
    echo "demo: $python is missing (the test server needs it, with python3-websockets)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hl_demo.XXXXXX") || exit 1
spid=
cleanup() {
    exec 9>&- # the server leaves when its stdin closes ...
    if [ -n "$spid" ]; then
        kill "$spid" 2>/dev/null # ... or at once on SIGTERM
        wait "$spid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The server's stdin is a fifo that this script holds open on fd 9 until it ends.
mkfifo "$tmp/stdin" || exit 1
"$python" tests/servers/hl_server.py --port 0 --drop-every 5 <"$tmp/stdin" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
exec 9>"$tmp/stdin"

port=
tries=0
while [ -z "$port" ] && [ "$tries" -lt 100 ]; do
    port=$(sed -n 's/^READY \([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
    [ -n "$port" ] && break
    if ! kill -0 "$spid" 2>/dev/null; then
        break
    fi
    sleep 0.1
    tries=$((tries + 1))
done
if [ -z "$port" ]; then
    echo "demo: the test server did not start:" >&2
    cat "$tmp/server.err" >&2
    exit 1
fi

url="ws://127.0.0.1:$port/ws"
echo "demo: a local Hyperliquid-like server (tests/servers/hl_server.py) streams trades, bbo and books;"
echo "demo: it drops every connection every 5 s. hl_demo subscribes to 6 feeds once; watch the library"
echo "demo: reconnect and resubscribe by itself, then close after $seconds s and print its statistics."
echo "demo: \$ $demo -t $seconds $url"
status=0
"$demo" -t "$seconds" "$url" </dev/null || status=$?
echo "demo: hl_demo exited with status $status"
exit "$status"
