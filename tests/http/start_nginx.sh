#!/bin/sh
# Debian's nginx serving static files for the HTTP client tests, in the foreground.
#
#     sh tests/http/start_nginx.sh DIR PORT [TLS_PORT CERT KEY]
#
# DIR        run directory (put it under build/): nginx.conf, nginx.pid, error.log, access.log
#            (both emptied at each start; access.log lines: "<connection serial> <request number
#            on that connection> \"<request line>\" <status> <body bytes>"),
#            nginx.out (nginx's own stdout/stderr), tmp/, and www/ with the test files
#                www/0.bin 0 B, www/1k.bin 1024 B, www/100k.bin 102400 B, www/1m.bin 1048576 B,
#            byte i of each being PATTERN[i % 62], PATTERN = "0-9A-Za-z" in ASCII order (the same
#            pattern as tests/servers/http_fault_server.py).
# PORT       plain HTTP port on 127.0.0.1; 0 = pick a free one (retried on a bind race).
# TLS_PORT CERT KEY
#            also HTTPS (TLS 1.2 and 1.3) on TLS_PORT (0 = pick) with the chain CERT (leaf first)
#            and its KEY, e.g. ec-chain.pem and ec.key from "sh tests/tls/make_certs.sh OUTDIR".
#
# Configuration: tests/http/nginx.conf.in (keep-alive, keepalive_timeout 2s,
# keepalive_requests 1000; GET /ok answers 200 "ok\n"; /status/429 (Retry-After: 1),
# /status/503, /status/204 fixed answers; everything else from www/).
#
# Once nginx answers GET /ok, prints one line on stdout, "READY <port>" or with TLS
# "READY <port> <tls_port>", and nothing else ever. Then stays in the foreground until stdin
# reaches EOF (or SIGTERM/SIGINT/SIGHUP) and stops nginx by its PID. Exits 1 when nginx does not
# start (see DIR/error.log and DIR/nginx.out), 2 on usage errors.
set -u

usage() {
    echo "usage: sh $0 DIR PORT [TLS_PORT CERT KEY]" >&2
    exit 2
}
[ $# -eq 2 ] || [ $# -eq 5 ] || usage
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1/www" "$1/tmp" || exit 2
dir=$(cd "$1" && pwd)
port=$2
tls=0
tls_port=
cert=
key=
abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
if [ $# -eq 5 ]; then
    tls=1
    tls_port=$3
    [ -r "$4" ] && [ -r "$5" ] || { echo "start_nginx.sh: cannot read $4 or $5" >&2; exit 2; }
    cert=$(abspath "$4")
    key=$(abspath "$5")
fi
case $port$tls_port in *[!0-9]*) usage ;; esac

nginx=${NGINX:-}
if [ -z "$nginx" ]; then
    if command -v nginx >/dev/null 2>&1; then nginx=nginx
    elif [ -x /usr/sbin/nginx ]; then nginx=/usr/sbin/nginx
    else echo "start_nginx.sh: nginx not found" >&2; exit 1
    fi
fi
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# The static files (rewritten only when missing or of the wrong size).
"$py" - "$dir/www" <<'PY' || exit 1
import os, sys
pat = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
for name, n in (("0.bin", 0), ("1k.bin", 1024), ("100k.bin", 102400), ("1m.bin", 1048576)):
    p = os.path.join(sys.argv[1], name)
    if os.path.isfile(p) and os.path.getsize(p) == n:
        continue
    with open(p + ".tmp", "wb") as f:
        f.write((pat * (n // 62 + 1))[:n])
    os.replace(p + ".tmp", p)
PY

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# answers PORT: 0 when GET /ok on 127.0.0.1:PORT gets a 200.
answers() {
    "$py" - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
    s.sendall(b"GET /ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    sys.exit(0 if data.startswith(b"HTTP/1.1 200") else 1)
except OSError:
    sys.exit(1)
PY
}

user=
[ "$(id -u)" = 0 ] && user="user root;"
pid=
catpid=
stop() {
    [ -n "$catpid" ] && kill "$catpid" 2>/dev/null
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
trap 'stop; exit 0' TERM INT HUP

attempt=0
while :; do
    attempt=$((attempt + 1))
    p=$port
    [ "$p" = 0 ] && p=$(free_port)
    tp=$tls_port
    [ "$tls" = 1 ] && [ "$tp" = 0 ] && tp=$(free_port)
    if [ "$tls" = 1 ]; then tlsed='s/^#tls //'; else tlsed='/^#tls /d'; fi
    sed -e "$tlsed" -e "s|@PREFIX@|$dir|g" -e "s|@PORT@|$p|g" -e "s|@USER@|$user|g" \
        -e "s|@TLS_PORT@|$tp|g" -e "s|@CERT@|$cert|g" -e "s|@KEY@|$key|g" \
        "$here/nginx.conf.in" >"$dir/nginx.conf" || exit 1
    rm -f "$dir/nginx.pid"
    : >"$dir/error.log"
    : >"$dir/access.log"
    "$nginx" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' \
        </dev/null >"$dir/nginx.out" 2>&1 &
    pid=$!
    up=0
    i=0
    while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
        if answers "$p"; then up=1; break; fi
        sleep 0.1
        i=$((i + 1))
    done
    [ "$up" = 1 ] && break
    stop
    # Another process took a port we picked: try others; any other failure is final.
    if [ $attempt -lt 5 ] && { [ "$port" = 0 ] || { [ "$tls" = 1 ] && [ "$tls_port" = 0 ]; }; } &&
        grep -q "Address already in use" "$dir/error.log" "$dir/nginx.out" 2>/dev/null; then
        continue
    fi
    echo "start_nginx.sh: nginx did not start (see $dir/error.log and $dir/nginx.out)" >&2
    exit 1
done

if [ "$tls" = 1 ]; then echo "READY $p $tp"; else echo "READY $p"; fi

# Until stdin's EOF. cat runs in the background so that a signal's trap runs at once; fd 3
# carries the real stdin (a background job's own stdin would be /dev/null).
exec 3<&0
cat <&3 >/dev/null &
catpid=$!
wait "$catpid"
catpid=
stop
exit 0
