/* A tiny test harness. Each tests/test_*.c is one program: it calls HL_TEST(fn) for each test
   and returns hl_test_summary(). Every test prints one line, "PASS name" or "FAIL name: why";
   tests/run.sh adds them all up and prints the closing "N passed, N failed" line.
   POSIX only (the tests start real servers as child processes). */
#ifndef HL_TEST_HARNESS_H
#define HL_TEST_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__GNUC__)
#define HL_TEST_UNUSED __attribute__((unused))
#else
#define HL_TEST_UNUSED
#endif

static int hl_test_failed_now; /* the running test has failed */
static int hl_test_passes, hl_test_fails;
static char hl_test_why[512];

/* Record a failure of the running test (the first reason is kept) and go on. */
#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) hl_test_fail_at(__FILE__, __LINE__, #cond);                                  \
    } while (0)
/* Like CHECK, with the two integers shown. */
#define CHECK_EQ(a, b)                                                                            \
    do {                                                                                          \
        long long hl_t_a = (long long)(a), hl_t_b = (long long)(b);                               \
        if (hl_t_a != hl_t_b) {                                                                   \
            char hl_t_m[256];                                                                     \
            snprintf(hl_t_m, sizeof hl_t_m, "%s == %s (%lld != %lld)", #a, #b, hl_t_a, hl_t_b);   \
            hl_test_fail_at(__FILE__, __LINE__, hl_t_m);                                          \
        }                                                                                         \
    } while (0)
#define HL_TEST(fn) hl_test_run(#fn, fn)

static HL_TEST_UNUSED void hl_test_fail_at(const char *file, int line, const char *what)
{
    if (!hl_test_failed_now)
        snprintf(hl_test_why, sizeof hl_test_why, "%s:%d: %s", file, line, what);
    hl_test_failed_now = 1;
}

static HL_TEST_UNUSED void hl_test_run(const char *name, void (*fn)(void))
{
    hl_test_failed_now = 0;
    hl_test_why[0] = '\0';
    fn();
    if (hl_test_failed_now) {
        hl_test_fails++;
        printf("FAIL %s: %s\n", name, hl_test_why);
    } else {
        hl_test_passes++;
        printf("PASS %s\n", name);
    }
    fflush(stdout);
}

static HL_TEST_UNUSED int hl_test_summary(void)
{
    return hl_test_fails ? 1 : 0;
}

/* A server child process started by a test: it prints "READY <port>" on stdout and exits when
   its stdin closes (so a crashed test leaves nothing behind). */
typedef struct hl_test_server {
    pid_t pid;
    int port;
    int port2;    /* a second port on the READY line (the fault proxy's control port), else 0 */
    int stdin_fd;
} hl_test_server;

/* Start argv (argv[0] is looked up in PATH); returns 0 with s->port set, or -1. */
static HL_TEST_UNUSED int hl_test_server_start(hl_test_server *s, char *const argv[])
{
    int in[2], out[2];
    FILE *f;
    char line[128];
    if (pipe(in) != 0 || pipe(out) != 0) return -1;
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    f = fdopen(out[0], "r");
    s->port = s->port2 = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "READY %d %d", &s->port, &s->port2) >= 1) break;
    if (f) fclose(f);
    if (s->port <= 0) {
        close(s->stdin_fd);
        waitpid(s->pid, NULL, 0);
        return -1;
    }
    return 0;
}

static HL_TEST_UNUSED void hl_test_sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static HL_TEST_UNUSED void hl_test_server_stop(hl_test_server *s)
{
    int i, status;
    if (s->pid <= 0) return;
    close(s->stdin_fd);
    for (i = 0; i < 100; i++) { /* up to 2 s to leave by itself, then SIGTERM, then SIGKILL */
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        hl_test_sleep_ms(20);
    }
    kill(s->pid, SIGTERM);
    for (i = 0; i < 100; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        hl_test_sleep_ms(20);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
}

/* Read a whole file into buf (NUL-terminated); returns its length or -1. */
static HL_TEST_UNUSED long hl_test_read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

#endif
