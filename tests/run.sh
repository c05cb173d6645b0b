#!/usr/bin/env bash
# The one test command (make test runs it after make deps). From the repo root:
#     bash tests/run.sh
# Every check prints one line "PASS name" or "FAIL name: why"; the last line is
# "N passed, N failed" and the exit status is non-zero when anything failed.
#
# Sections, in order:
#   amalgamation   a fresh amalgamate.sh output must equal the committed hl_net.h
#   build          make every example, tool, test, benchmark, sanitizer test and fuzz replay
#                  (one line per program; a program that does not build is not run)
#   tests          every build/test_* program
#   asan+ubsan     the same programs built with clang -fsanitize=address,undefined
#   valgrind       the unit tests (every test_* not named test_it_*: those start servers)
#   gates          compiler/warning matrix, C++, two TUs, HL_NET_STATIC, nm symbol checks,
#                  no-malloc at run time, Windows and big-endian cross-compiles, the unit tests
#                  run big-endian (s390x under qemu-user), README quick start
#   fuzz replay    each tests/fuzz_<name>.c over tests/corpus/<name>/ under ASan+UBSan
#   autobahn       the conformance suite, when tests/servers/fuzzingserver.py and
#                  build/autobahn_client exist
# Logs of everything (compiler output, program stderr) are kept in build/logs/.
set -u
cd "$(dirname "$0")/.." || exit 2

B=build
LOG=$B/logs
GATES=$B/gates
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
WARN="-std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wundef -Wstrict-prototypes -Wmissing-prototypes"
CXXWARN="-x c++ -std=c++11 -Wall -Wextra -Werror"
TEST_TIMEOUT=${TEST_TIMEOUT:-120}       # seconds per test program (normal and sanitizers)
VALGRIND_TIMEOUT=${VALGRIND_TIMEOUT:-300}
AUTOBAHN_TIMEOUT=${AUTOBAHN_TIMEOUT:-300}  # the whole run takes about 10 s when all is well
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=87}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

rm -rf "$LOG" "$GATES"
mkdir -p "$LOG" "$GATES"
started=$(date +%s)
npass=0
nfail=0

pass() {
    echo "PASS $1"
    npass=$((npass + 1))
}
# fail NAME WHY [LOGFILE]: one FAIL line; the first lines of LOGFILE follow it, indented.
fail() {
    echo "FAIL $1: $2"
    nfail=$((nfail + 1))
    if [ -n "${3:-}" ] && [ -s "$3" ]; then
        sed -n '1,15s/^/    | /p' "$3"
        echo "    | (full log: $3)"
    fi
}
section() {
    echo
    echo "=== $* ==="
}
have() { command -v "$1" >/dev/null 2>&1; }
# A log file name for an arbitrary label.
logname() { printf '%s/%s' "$LOG" "$(printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_')"; }

# ---- background jobs: job LABEL CMD... runs CMD with output in $(logname LABEL).log and its
#      exit status in .rc, at most $JOBS at a time; wait_jobs waits for all of them.
job() {
    local label=$1 f
    shift
    f=$(logname "$label")
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n 2>/dev/null || true; done
    ( "$@" >"$f.log" 2>&1; echo $? >"$f.rc" ) &
}
wait_jobs() { wait; }
job_rc() {
    local f
    f=$(logname "$1")
    if [ -f "$f.rc" ]; then cat "$f.rc"; else echo 255; fi
}
job_log() { printf '%s.log' "$(logname "$1")"; }
# job_result NAME LABEL [WHY]: PASS/FAIL line for a finished job.
job_result() {
    if [ "$(job_rc "$2")" = 0 ]; then pass "$1"; else fail "$1" "${3:-failed}" "$(job_log "$2")"; fi
}

# ---- running test programs
# exec_prog TAG TIMEOUT CMD...: runs one test program; its stdout, stderr, exit status and
# seconds go to $(logname run_TAG).{out,err,rc,sec}.
exec_prog() {
    local tag=$1 limit=$2 f t0 rc
    shift 2
    f=$(logname "run_$tag")
    t0=$(date +%s)
    # (the braces keep bash's own "Segmentation fault" notice out of the log)
    { timeout -k 5 "$limit" "$@" >"$f.out" 2>"$f.err" </dev/null; } 2>/dev/null
    rc=$?
    echo $(($(date +%s) - t0)) >"$f.sec"
    echo "$rc" >"$f.rc"
}
# report_prog TAG TIMEOUT: echoes the program's PASS/FAIL lines with TAG put after the word
# (PASS test_frame/asan name), and adds a FAIL line of its own when the program crashed, timed
# out, hit a sanitizer or valgrind error, or exited non-zero without a FAIL line.
report_prog() {
    local tag=$1 limit=$2 f out err rc p n why
    f=$(logname "run_$tag")
    out=$f.out
    err=$f.err
    rc=$(cat "$f.rc" 2>/dev/null || echo 255)
    echo "-- $tag ($(cat "$f.sec" 2>/dev/null || echo ?) s)"
    p=$(grep -c '^PASS ' "$out" 2>/dev/null)
    n=$(grep -c '^FAIL ' "$out" 2>/dev/null)
    [ -f "$out" ] && awk -v tag="$tag" '/^(PASS|FAIL) / { w = $1; sub(/^(PASS|FAIL) /, ""); print w " " tag " " $0 }' "$out"
    npass=$((npass + ${p:-0}))
    nfail=$((nfail + ${n:-0}))
    why=
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        why="timed out after $limit s"
    elif [ "$rc" = 255 ] && [ ! -f "$f.rc" ]; then
        why="did not run"
    elif [ "$rc" -gt 128 ]; then
        why="killed by signal $((rc - 128))"
    elif grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$err" 2>/dev/null; then
        why="sanitizer report (exit $rc)"
    elif [ "$rc" = 99 ]; then
        why="valgrind found errors or leaks"
    elif [ "$rc" != 0 ] && [ "${n:-0}" = 0 ]; then
        why="exited with status $rc without a FAIL line"
    elif [ "$rc" = 0 ] && [ "${p:-0}" = 0 ] && [ "${n:-0}" = 0 ]; then
        why="ran no test (no PASS or FAIL line)"
    fi
    if [ -n "$why" ]; then
        if [ -s "$err" ]; then fail "$tag" "$why" "$err"; else fail "$tag" "$why" "$out"; fi
    fi
}

is_unit_test() { case $(basename "$1") in test_it_*) return 1 ;; *) return 0 ;; esac; }

# =============================================================================================
section "amalgamation"
fresh=$GATES/hl_net.fresh.h
if sh amalgamate/amalgamate.sh "$fresh" >"$LOG/amalgamate.log" 2>&1 && cmp -s "$fresh" hl_net.h; then
    pass "amalgamation: hl_net.h matches amalgamate/"
else
    diff -u hl_net.h "$fresh" >"$LOG/amalgamate.diff" 2>&1
    fail "amalgamation" "hl_net.h differs from a fresh 'sh amalgamate/amalgamate.sh hl_net.h' (run make amalgamate and commit)" "$LOG/amalgamate.diff"
fi

# =============================================================================================
section "build"
# Each target built by its own make run (in parallel), so each has its own log and status.
targets=$(make -s --no-print-directory list 2>"$LOG/make-list.log")
if [ $? != 0 ]; then fail "make list" "the Makefile does not parse" "$LOG/make-list.log"; fi
while read -r kind t; do
    [ -n "$t" ] || continue
    job "build $t" make -s --no-print-directory "$t"
done <<EOF
$targets
EOF
wait_jobs
built=" "
while read -r kind t; do
    [ -n "$t" ] || continue
    if [ "$(job_rc "build $t")" = 0 ] && [ -x "$t" ]; then
        pass "build $t"
        built="$built$t "
    else
        fail "build $t" "does not compile" "$(job_log "build $t")"
    fi
done <<EOF
$targets
EOF
is_built() { case $built in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
list_of() { printf '%s\n' "$targets" | awk -v k="$1" '$1 == k { print $2 }'; }

# =============================================================================================
# The test programs (mostly waiting on servers and timers) run in the background while the
# gates compile; the results of both are printed afterwards, tests first.
# The variants of one program run one after the other (they may share files under build/);
# different programs run side by side, $JOBS at a time. Results are printed in order.
# variants NAME: the "tag|timeout|command" lines to run for build/NAME.
variants() {
    local name=$1
    is_built "$B/$name" && echo "$name|$TEST_TIMEOUT|./$B/$name"
    is_built "$B/asan/$name" && echo "$name/asan|$TEST_TIMEOUT|./$B/asan/$name"
    if is_built "$B/$name" && is_unit_test "$name" && have valgrind; then
        echo "$name/valgrind|$VALGRIND_TIMEOUT|valgrind --error-exitcode=99 --leak-check=full -q ./$B/$name"
    fi
}
run_group() {
    local tag limit cmd
    variants "$1" | while IFS='|' read -r tag limit cmd; do
        # shellcheck disable=SC2086 # cmd is a word list without quoting needs
        exec_prog "$tag" "$limit" $cmd
    done
}
programs=$(list_of test; list_of asan)
programs=$(printf '%s\n' "$programs" | sed -n 's|.*/||p' | awk 'NF && !seen[$0]++')
(
    for name in $programs; do job "group $name" run_group "$name"; done
    wait
) &
runner=$!

# Configurations of the implementation for the warning gates: "label|flags". The TLS=1 row is
# added by itself once the library carries the BearSSL glue (hl_net.h includes bearssl.h).
configs="TLS=0|-DHL_ENABLE_TLS=0"
TLS_CFLAGS="-I/usr/include/bearssl"
TLS_LIBS="-lbearssl"
if grep -q '#include <bearssl' hl_net.h; then
    configs="$configs
TLS=1|-DHL_ENABLE_TLS=1 $TLS_CFLAGS"
fi
G=tests/gates

# Queue every compile, in parallel; results are read in order further down.
while IFS='|' read -r label flags; do
    for cc in gcc clang; do
        # -O2: some warnings (maybe-uninitialized) appear only with the optimizer on.
        job "warn $cc $label" $cc $WARN -O2 $flags -I. -c $G/impl.c -o "$GATES/impl_${cc}_$label.o"
    done
    job "warn gcc $label NDEBUG" gcc $WARN -O2 -DNDEBUG $flags -I. -c $G/impl.c -o "$GATES/impl_ndebug_$label.o"
done <<EOF
$configs
EOF
while IFS='|' read -r label flags; do
    job "c++ g++ $label" g++ $CXXWARN $flags -I. -c $G/impl.c -o "$GATES/impl_gxx_$label.o"
    job "c++ clang++ $label" clang++ $CXXWARN $flags -I. -c $G/impl.c -o "$GATES/impl_clangxx_$label.o"
done <<EOF
$configs
EOF
job "c++ user" sh -c "gcc $WARN -I. -c $G/impl.c -o $GATES/cpp_impl.o &&
    g++ -std=c++11 -Wall -Wextra -Werror -I. $G/cpp_user.cpp $GATES/cpp_impl.o -o $GATES/cpp_user"
job "two tu" sh -c "gcc $WARN -I. -c $G/two_tu_impl.c -o $GATES/two_tu_impl.o &&
    gcc $WARN -I. -c $G/two_tu_user.c -o $GATES/two_tu_user.o &&
    gcc $GATES/two_tu_impl.o $GATES/two_tu_user.o -o $GATES/two_tu"
job "static" sh -c "gcc $WARN -I. $G/static.c -o $GATES/static && clang $WARN -I. $G/static.c -o $GATES/static_clang"
WRAP=-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
job "nomalloc" gcc $WARN -g -O1 -I. $G/nomalloc.c -o "$GATES/nomalloc" $WRAP
case $configs in *TLS=1*)
    job "nomalloc tls" sh -c "sh tests/tls/make_certs.sh $GATES/certs &&
        gcc $WARN -g -O1 -DHL_ENABLE_TLS=1 $TLS_CFLAGS -I. $G/nomalloc.c -o $GATES/nomalloc_tls $WRAP $TLS_LIBS" ;;
esac
# The examples as the Makefile builds them (with TLS when the library has it), now with clang.
EX_FLAGS=
case $configs in *TLS=1*) EX_FLAGS="-DHL_ENABLE_TLS=1 $TLS_CFLAGS" ;; esac
for ex in examples/*.c; do
    [ -f "$ex" ] || continue
    job "clang $ex" clang $WARN -O1 $EX_FLAGS -I. -c "$ex" -o "$GATES/$(basename "$ex" .c).clang.o"
done
# The cross compilers do not search /usr/include; jsmn.h (header only) is taken from there.
WININC=$GATES/include
mkdir -p "$WININC"
[ -f /usr/include/jsmn.h ] && ln -sf /usr/include/jsmn.h "$WININC/jsmn.h"
if have x86_64-w64-mingw32-gcc; then
    job "windows" x86_64-w64-mingw32-gcc $WARN -O2 -I. -I"$WININC" $G/win_main.c -o "$GATES/win_main.exe" -lws2_32
    if [ -f examples/hlcat.c ]; then
        if grep -q '^#define HL_NET_IMPLEMENTATION' examples/hlcat.c; then
            job "windows hlcat" x86_64-w64-mingw32-gcc $WARN -O2 -I. -I"$WININC" examples/hlcat.c \
                -o "$GATES/hlcat.exe" -lws2_32
        else
            job "windows hlcat" x86_64-w64-mingw32-gcc $WARN -O2 -I. -I"$WININC" examples/hlcat.c \
                $G/impl.c -o "$GATES/hlcat.exe" -lws2_32
        fi
    fi
fi
if have s390x-linux-gnu-gcc; then
    while IFS='|' read -r label flags; do
        job "s390x $label" s390x-linux-gnu-gcc $WARN -O2 $flags -I. -I"$WININC" -c $G/impl.c -o "$GATES/impl_s390x_$label.o"
    done <<EOF
$configs
EOF
fi
# Big-endian runs: the unit tests (no sockets to real servers, no BearSSL) built for s390x,
# to be run under qemu-user in the gates.
S390_UNITS=
if have s390x-linux-gnu-gcc && have qemu-s390x; then
    for t in tests/test_*.c; do
        case $t in tests/test_it_*) continue ;; esac
        grep -q 'HL_ENABLE_TLS' "$t" && continue
        n=$(basename "$t" .c)
        S390_UNITS="$S390_UNITS $n"
        job "s390x build $n" s390x-linux-gnu-gcc -std=c99 -O1 -static -I. -I"$WININC" "$t" -o "$GATES/${n}_s390x"
    done
fi
# README quick start: the C block between the quickstart markers.
qs=$GATES/quickstart.c
sed -n '/<!-- quickstart:begin -->/,/<!-- quickstart:end -->/p' README.md 2>/dev/null |
    sed -e '/^<!--/d' -e '/^```/d' >"$qs"
if [ -s "$qs" ]; then
    job "quickstart gcc" gcc $WARN -I. "$qs" -o "$GATES/quickstart"
    job "quickstart clang" clang $WARN -I. "$qs" -o "$GATES/quickstart_clang"
fi
section "tests: each program built with gcc, then with ASan+UBSan (clang), then under valgrind (unit tests only)"
have valgrind || fail "valgrind" "valgrind is not installed (make deps)"
for name in $programs; do
    variants "$name" | while IFS='|' read -r tag limit cmd; do
        f=$(logname "run_$tag")
        while [ ! -f "$f.rc" ] && kill -0 "$runner" 2>/dev/null; do sleep 0.2; done
    done
    while IFS='|' read -r tag limit cmd; do
        report_prog "$tag" "$limit"
    done <<EOF
$(variants "$name")
EOF
done
wait "$runner"

wait_jobs

# =============================================================================================
section "gates"

while IFS='|' read -r label flags; do
    for cc in gcc clang; do
        job_result "gate warnings $cc HL_ENABLE_TLS ${label#TLS=} (-O2)" "warn $cc $label" "warnings or errors"
    done
    job_result "gate warnings gcc HL_ENABLE_TLS ${label#TLS=} -DNDEBUG" "warn gcc $label NDEBUG" "warnings or errors"
done <<EOF
$configs
EOF
while IFS='|' read -r label flags; do
    job_result "gate c++ g++ -std=c++11 implementation HL_ENABLE_TLS ${label#TLS=}" "c++ g++ $label"
    job_result "gate c++ clang++ -std=c++11 implementation HL_ENABLE_TLS ${label#TLS=}" "c++ clang++ $label"
done <<EOF
$configs
EOF
if [ "$(job_rc "c++ user")" = 0 ] && ./$GATES/cpp_user >"$LOG/cpp_user.run" 2>&1; then
    pass "gate c++ program linked with the C implementation"
else
    [ "$(job_rc "c++ user")" = 0 ] && cp "$LOG/cpp_user.run" "$(job_log "c++ user")"
    fail "gate c++ program linked with the C implementation" "build or run failed" "$(job_log "c++ user")"
fi
if [ "$(job_rc "two tu")" = 0 ] && ./$GATES/two_tu >"$LOG/two_tu.run" 2>&1; then
    pass "gate two translation units build and run"
else
    [ "$(job_rc "two tu")" = 0 ] && cp "$LOG/two_tu.run" "$(job_log "two tu")"
    fail "gate two translation units build and run" "build or run failed" "$(job_log "two tu")"
fi
if [ "$(job_rc "static")" = 0 ] && ./$GATES/static >"$LOG/static.run" 2>&1 && ./$GATES/static_clang >>"$LOG/static.run" 2>&1; then
    pass "gate HL_NET_STATIC build and run (gcc, clang)"
else
    [ "$(job_rc "static")" = 0 ] && cp "$LOG/static.run" "$(job_log "static")"
    fail "gate HL_NET_STATIC build and run (gcc, clang)" "build or run failed" "$(job_log "static")"
fi

# nm on the implementation objects (gcc and clang, every configuration).
for o in "$GATES"/impl_gcc_*.o "$GATES"/impl_clang_*.o; do
    [ -f "$o" ] || continue
    name=$(basename "$o" .o)
    bad=$(nm -g --defined-only "$o" | awk 'NF >= 3 && $3 !~ /^hl_/ { print $3 }')
    if [ -z "$bad" ]; then
        pass "gate nm $name: every defined external symbol starts with hl_"
    else
        echo "$bad" >"$LOG/nm_$name.log"
        fail "gate nm $name: every defined external symbol starts with hl_" "found $(echo $bad | head -c 200)" "$LOG/nm_$name.log"
    fi
    alloc=$(nm -u "$o" | awk '{ print $NF }' | grep -E '^(malloc|calloc|realloc|free)$')
    if [ -z "$alloc" ]; then
        pass "gate nm $name: no malloc/calloc/realloc/free referenced"
    else
        fail "gate nm $name: no malloc/calloc/realloc/free referenced" "references $(echo $alloc)"
    fi
done
if ! ls "$GATES"/impl_gcc_*.o >/dev/null 2>&1; then
    fail "gate nm" "no implementation object to inspect (see the warnings gates)"
fi

if [ "$(job_rc nomalloc)" != 0 ]; then
    fail "gate no malloc at run time (--wrap)" "does not build" "$(job_log nomalloc)"
elif timeout -k 5 60 ./$GATES/nomalloc >"$LOG/nomalloc.run" 2>&1; then
    pass "gate no malloc at run time (--wrap): ws:// connect, echo, close"
else
    fail "gate no malloc at run time (--wrap)" "$(grep -v '^ok' "$LOG/nomalloc.run" | head -1)" "$LOG/nomalloc.run"
fi
case $configs in *TLS=1*)
    if [ "$(job_rc "nomalloc tls")" != 0 ]; then
        fail "gate no malloc at run time (--wrap) HL_ENABLE_TLS 1" "does not build" "$(job_log "nomalloc tls")"
    elif timeout -k 5 60 ./$GATES/nomalloc_tls $GATES/certs/ca.pem $GATES/certs/ec-chain.pem \
        $GATES/certs/ec.key >"$LOG/nomalloc_tls.run" 2>&1; then
        pass "gate no malloc at run time (--wrap) HL_ENABLE_TLS 1: wss:// connect, echo, close"
    else
        fail "gate no malloc at run time (--wrap) HL_ENABLE_TLS 1" "$(grep -v '^ok' "$LOG/nomalloc_tls.run" | head -1)" "$LOG/nomalloc_tls.run"
    fi ;;
esac

for ex in examples/*.c; do
    [ -f "$ex" ] || continue
    job_result "gate clang warnings $ex" "clang $ex" "warnings or errors"
done

if have x86_64-w64-mingw32-gcc; then
    job_result "gate windows x86_64-w64-mingw32-gcc implementation + program -lws2_32" "windows"
    [ -f examples/hlcat.c ] && job_result "gate windows x86_64-w64-mingw32-gcc examples/hlcat.c" "windows hlcat"
else
    fail "gate windows" "x86_64-w64-mingw32-gcc not found (make deps installs gcc-mingw-w64-x86-64)"
fi
if have s390x-linux-gnu-gcc; then
    while IFS='|' read -r label flags; do
        job_result "gate big-endian s390x-linux-gnu-gcc -c implementation HL_ENABLE_TLS ${label#TLS=}" "s390x $label"
    done <<EOF
$configs
EOF
else
    fail "gate big-endian s390x" "s390x-linux-gnu-gcc not found (make deps installs gcc-s390x-linux-gnu)"
fi
for n in $S390_UNITS; do
    if [ "$(job_rc "s390x build $n")" != 0 ]; then
        fail "gate big-endian build $n for s390x" "failed" "$(job_log "s390x build $n")"
        continue
    fi
    out=$GATES/${n}_s390x.out
    if timeout "$TEST_TIMEOUT" qemu-s390x "$GATES/${n}_s390x" >"$out" 2>&1; then
        pass "gate big-endian run $n under qemu-s390x ($(grep -c '^PASS' "$out") checks)"
    else
        fail "gate big-endian run $n under qemu-s390x" "$(grep -m3 '^FAIL' "$out" | tr '\n' ' ')" "$out"
    fi
done
if [ -z "$S390_UNITS" ] && have s390x-linux-gnu-gcc; then
    fail "gate big-endian run" "qemu-s390x not found (make deps installs qemu-user)"
fi

if [ -s "$qs" ]; then
    job_result "gate README quick start compiles and links (gcc)" "quickstart gcc"
    job_result "gate README quick start compiles and links (clang)" "quickstart clang"
    # It must be the manual's quick start (amalgamate/manual.h), word for word.
    awk '/^QUICK START/ { q = 1 } q && /^       #define HL_NET_IMPLEMENTATION/ { c = 1 }
         c { sub(/^       /, ""); print } c && /^int main/ { m = 1 } m && /^}$/ { exit }' \
        amalgamate/manual.h >"$GATES/manual_quickstart.c"
    if cmp -s "$qs" "$GATES/manual_quickstart.c"; then
        pass "gate README quick start equals the manual's (amalgamate/manual.h)"
    else
        diff -u "$GATES/manual_quickstart.c" "$qs" >"$LOG/quickstart.diff"
        fail "gate README quick start equals the manual's (amalgamate/manual.h)" "they differ" "$LOG/quickstart.diff"
    fi
else
    fail "gate README quick start" "README.md has no C block between <!-- quickstart:begin --> and <!-- quickstart:end -->"
fi

# =============================================================================================
section "fuzz corpus replay (ASan+UBSan)"
for t in $(list_of replay); do
    name=${t##*/replay_}
    is_built "$t" || continue
    if [ -d "tests/corpus/$name" ]; then
        run_replay() { timeout -k 5 "$TEST_TIMEOUT" "./$t" "tests/corpus/$name"; }
    else
        run_replay() { timeout -k 5 "$TEST_TIMEOUT" "./$t"; }
    fi
    f=$(logname "replay_$name").log
    if run_replay >"$f" 2>&1; then
        pass "fuzz replay $name: $(tail -n 1 "$f")$([ -d "tests/corpus/$name" ] || echo ' (no tests/corpus/'"$name"')')"
    else
        fail "fuzz replay $name" "crash or sanitizer report" "$f"
    fi
done

# =============================================================================================
if [ -f tests/servers/fuzzingserver.py ] && [ -x $B/autobahn_client ]; then
    section "autobahn conformance"
    rm -rf $B/autobahn
    mkdir -p $B/autobahn
    fifo=$B/autobahn/.stdin
    rm -f "$fifo"
    mkfifo "$fifo"
    # The server leaves when its stdin closes: fd 9 holds the fifo open until the end.
    /usr/bin/python3 tests/servers/fuzzingserver.py --port 0 --report-dir $B/autobahn \
        <"$fifo" >"$LOG/autobahn_server.out" 2>"$LOG/autobahn_server.err" &
    spid=$!
    exec 9>"$fifo"
    port=
    for _ in $(seq 1 300); do
        port=$(sed -n 's/^READY \([0-9][0-9]*\).*/\1/p' "$LOG/autobahn_server.out" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "autobahn" "fuzzingserver.py did not print READY" "$LOG/autobahn_server.err"
    else
        t0=$(date +%s)
        timeout -k 10 "$AUTOBAHN_TIMEOUT" ./$B/autobahn_client "ws://127.0.0.1:$port" hl_net \
            >"$LOG/autobahn_client.log" 2>&1 </dev/null 9>&-
        rc=$?
        echo "(autobahn client exit $rc after $(($(date +%s) - t0)) s)"
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            fail "autobahn client" "timed out after $AUTOBAHN_TIMEOUT s" "$LOG/autobahn_client.log"
        elif [ "$rc" != 0 ]; then
            fail "autobahn client" "exited with status $rc" "$LOG/autobahn_client.log"
        fi
        # The case ids the server has, so that a case missing from the report is a FAIL too.
        /usr/bin/python3 tests/servers/fuzzingserver.py --list >"$LOG/autobahn_list.txt" 2>&1 </dev/null
        if [ -f $B/autobahn/index.json ]; then
            /usr/bin/python3 - $B/autobahn/index.json "$LOG/autobahn_list.txt" >"$LOG/autobahn_cases.txt" 2>&1 <<'PY'
import json, re, sys
with open(sys.argv[1]) as f:
    report = json.load(f)
expected = []
with open(sys.argv[2]) as f:
    for line in f:
        m = re.match(r"\s*\d+\s+(\d+(?:\.\d+)+)\s", line)
        if m:
            expected.append(m.group(1))
def key(case):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.]", case)]
for agent in sorted(report):
    cases = report[agent]
    for case in sorted(set(cases) | set(expected), key=key):
        if case not in cases:
            print("FAIL autobahn %s: not in the report (the case did not run)" % case)
            continue
        r = cases[case]
        b, bc = r.get("behavior", "?"), r.get("behaviorClose", "?")
        if b == "FAILED" or bc == "FAILED":
            why = "behavior %s, close %s" % (b, bc)
            d = (r.get("detail") or r.get("detailClose") or "")
            if d:
                why += ": " + str(d).replace("\n", " ")[:200]
            print("FAIL autobahn %s: %s" % (case, why))
        else:
            note = "" if (b, bc) == ("OK", "OK") else " (%s, close %s)" % (b, bc)
            print("PASS autobahn %s%s" % (case, note))
PY
            if [ $? = 0 ] && grep -qE '^(PASS|FAIL) ' "$LOG/autobahn_cases.txt"; then
                cat "$LOG/autobahn_cases.txt"
                npass=$((npass + $(grep -c '^PASS ' "$LOG/autobahn_cases.txt")))
                nfail=$((nfail + $(grep -c '^FAIL ' "$LOG/autobahn_cases.txt")))
            else
                fail "autobahn report" "cannot read $B/autobahn/index.json" "$LOG/autobahn_cases.txt"
            fi
        else
            fail "autobahn" "no report $B/autobahn/index.json (client exit $rc)" "$LOG/autobahn_client.log"
        fi
    fi
    exec 9>&-
    for _ in $(seq 1 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    rm -f "$fifo"
else
    section "autobahn conformance (skipped: needs tests/servers/fuzzingserver.py and build/autobahn_client)"
fi

# =============================================================================================
echo
echo "(tests/run.sh took $(($(date +%s) - started)) s; logs in $LOG/)"
echo "$npass passed, $nfail failed"
[ "$nfail" = 0 ]
