/* HTTP/1.1 client benchmark against Debian's nginx on loopback (tests/http/start_nginx.sh),
   a small static file (GET /1k.bin, 1024 bytes), figures only:
     * one keep-alive connection (http_max_per_origin 1), hl_http_fetch one request after the
       other: requests per second and latency percentiles measured here around each call;
     * the pool: 4 connections, 4 requests in flight (hl_http_request, the next one submitted
       from the callback): requests per second and latency percentiles from submit to callback;
     * wrk against the same nginx in the same run (-t1 -c1 -d3s and -t1 -c4 -d3s, --latency),
       when wrk is installed.
   nginx's access log says how many connections carried the requests (nginx closes one after
   1000 requests: keepalive_requests). connects_per_minute is unlimited here, since those
   reconnects would otherwise spend the default budget of 30 per minute within seconds.
   Plain lines on stdout.
   Environment: BENCH_HTTP_SECONDS (default 3) per run. */
#define _DEFAULT_SOURCE
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"

#include "harness.h"

#include <dirent.h>

#define BH_PATH "/1k.bin"
#define BH_SIZE 1024
#define BH_MAX_SAMPLES 2000000
#define BH_POOL 4

static double bh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bh_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Latency samples in microseconds. */
typedef struct bh_lat {
    double *v;
    size_t n;
} bh_lat;

static void bh_add(bh_lat *l, double us)
{
    if (l->n < BH_MAX_SAMPLES) l->v[l->n++] = us;
}

static double bh_pct(const bh_lat *l, double p)
{
    size_t i;
    if (!l->n) return 0;
    i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
    return l->v[i];
}

static void bh_print(const char *label, size_t ok, size_t errors, double secs, bh_lat *l, int conns)
{
    qsort(l->v, l->n, sizeof l->v[0], bh_cmp);
    printf("%-34s %8.0f req/s  p50 %7.1f us  p90 %7.1f us  p99 %7.1f us  max %8.1f us  (%lu requests, %lu errors",
           label, (double)ok / secs, bh_pct(l, 50), bh_pct(l, 90), bh_pct(l, 99), l->n ? l->v[l->n - 1] : 0.0,
           (unsigned long)ok, (unsigned long)errors);
    if (conns >= 0) printf(", %d connection%s", conns, conns == 1 ? "" : "s");
    printf(")\n");
    fflush(stdout);
}

/* Distinct connection serials in nginx's access log from line `from` on; *lines gets the count
   of lines. */
static int bh_log_conns(const char *path, long from, long *lines)
{
    FILE *f = fopen(path, "r");
    char line[512];
    static long seen[4096];
    long n = 0, k = 0;
    int distinct = 0, i;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        long c;
        if (n++ < from || sscanf(line, "%ld", &c) != 1) continue;
        k++;
        for (i = 0; i < distinct && seen[i] != c; i++) continue;
        if (i == distinct && distinct < 4096) seen[distinct++] = c;
    }
    fclose(f);
    if (lines) *lines = k;
    return distinct;
}

static long bh_log_lines(const char *path)
{
    long n = 0;
    bh_log_conns(path, 0, &n);
    return n;
}

static hl_ctx *bh_open(void **mem, uint32_t per_origin)
{
    hl_config cfg;
    hl_ctx *ctx = NULL;
    size_t n;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = BH_POOL;
    cfg.http_max_per_origin = per_origin;
    cfg.max_message_size = 64u << 10;
    /* nginx closes a connection after 1000 requests (keepalive_requests): at these rates that
       is several new connections a second, past the default budget of 30 per minute */
    cfg.connects_per_minute = HL_UNLIMITED;
    n = hl_ctx_size(&cfg);
    *mem = malloc(n);
    if (!*mem || hl_ctx_init(&ctx, *mem, n, &cfg) != HL_OK) {
        free(*mem);
        *mem = NULL;
        return NULL;
    }
    return ctx;
}

/* ---- one connection, hl_http_fetch ---- */

static void bh_one_conn(const char *url, double secs, const char *access_log)
{
    void *mem;
    hl_ctx *ctx = bh_open(&mem, 1);
    hl_http_req q;
    hl_http_response r;
    bh_lat lat;
    size_t ok = 0, errors = 0;
    long from;
    double t0, t1, end;
    int i;
    if (!ctx) {
        printf("one connection: no context\n");
        return;
    }
    lat.v = (double *)malloc(sizeof(double) * BH_MAX_SAMPLES);
    lat.n = 0;
    memset(&q, 0, sizeof q);
    q.url = url;
    for (i = 0; i < 200; i++) hl_http_fetch(ctx, &q, &r); /* warm up (and connect) */
    from = bh_log_lines(access_log);
    t0 = bh_now();
    end = t0 + secs;
    do {
        double a = bh_now(), b;
        int rc = hl_http_fetch(ctx, &q, &r);
        b = bh_now();
        if (rc == HL_OK && r.status == 200 && r.body_len == BH_SIZE) {
            ok++;
            bh_add(&lat, (b - a) * 1e6);
        } else {
            errors++;
        }
        t1 = b;
    } while (t1 < end);
    bh_print("hl_net 1 connection (fetch)", ok, errors, t1 - t0, &lat, bh_log_conns(access_log, from, NULL));
    hl_ctx_shutdown(ctx);
    free(mem);
    free(lat.v);
}

/* ---- the pool: 4 connections, 4 in flight ---- */

typedef struct bh_pool {
    hl_http_req q;
    double sent[BH_POOL];
    bh_lat lat;
    size_t ok, errors;
    int stop, inflight;
} bh_pool;

static void bh_submit(hl_ctx *ctx, bh_pool *p, int slot);

/* Each slot's user pointer points at its entry of this table, which points at the pool. */
static bh_pool *bh_slots[BH_POOL];

static void bh_on_slot(hl_ctx *ctx, const hl_http_response *r)
{
    bh_pool **entry = (bh_pool **)r->user;
    bh_pool *p = *entry;
    int slot = (int)(entry - bh_slots);
    double now = bh_now();
    p->inflight--;
    if (r->result == HL_OK && r->status == 200 && r->body_len == BH_SIZE) {
        p->ok++;
        bh_add(&p->lat, (now - p->sent[slot]) * 1e6);
    } else {
        p->errors++;
    }
    if (!p->stop) bh_submit(ctx, p, slot);
}

static void bh_submit(hl_ctx *ctx, bh_pool *p, int slot)
{
    hl_http h;
    p->q.on_response = bh_on_slot;
    p->q.user = &bh_slots[slot];
    p->sent[slot] = bh_now();
    if (hl_http_request(ctx, &p->q, &h) == HL_OK) p->inflight++;
    else p->errors++;
}

static void bh_pool_run(const char *url, double secs, const char *access_log)
{
    void *mem;
    hl_ctx *ctx = bh_open(&mem, BH_POOL);
    static bh_pool p;
    long from;
    double t0, t1, end;
    int i, round;
    if (!ctx) {
        printf("pool: no context\n");
        return;
    }
    memset(&p, 0, sizeof p);
    p.lat.v = (double *)malloc(sizeof(double) * BH_MAX_SAMPLES);
    p.q.url = url;
    for (i = 0; i < BH_POOL; i++) bh_slots[i] = &p;
    /* warm up: open the 4 connections */
    for (round = 0; round < 2; round++) {
        double stop_at = bh_now() + (round == 0 ? 0.3 : secs);
        p.stop = 0;
        p.ok = p.errors = 0;
        p.lat.n = 0;
        from = bh_log_lines(access_log);
        t0 = bh_now();
        for (i = 0; i < BH_POOL; i++) bh_submit(ctx, &p, i);
        while (bh_now() < stop_at) hl_poll(ctx, 100);
        t1 = bh_now();
        p.stop = 1;
        end = bh_now() + 5;
        while (p.inflight > 0 && bh_now() < end) hl_poll(ctx, 100);
        if (round == 1)
            bh_print("hl_net pool of 4 (callbacks)", p.ok, p.errors, t1 - t0, &p.lat,
                     bh_log_conns(access_log, from, NULL));
    }
    hl_ctx_shutdown(ctx);
    free(mem);
    free(p.lat.v);
}

/* ---- wrk ---- */

static double bh_us(const char *s)
{
    double v = atof(s);
    const char *u = s;
    while ((*u >= '0' && *u <= '9') || *u == '.') u++;
    if (u[0] == 'u' && u[1] == 's') return v;
    if (u[0] == 'm' && u[1] == 's') return v * 1e3;
    if (u[0] == 's') return v * 1e6;
    if (u[0] == 'm') return v * 60e6;
    return v;
}

static void bh_wrk(const char *url, int conns, int secs)
{
    char cmd[512], line[512], label[64];
    double rps = 0, p50 = 0, p90 = 0, p99 = 0, mx = 0;
    long reqs = 0;
    FILE *f;
    snprintf(cmd, sizeof cmd, "wrk -t1 -c%d -d%ds --latency '%s' 2>&1", conns, secs, url);
    snprintf(label, sizeof label, "wrk -t1 -c%d -d%ds", conns, secs);
    f = popen(cmd, "r");
    if (!f) {
        printf("%s: could not run wrk\n", label);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char a[64], b[64], c[64];
        if (sscanf(line, " Latency %63s %63s %63s", a, b, c) == 3) mx = bh_us(c);
        else if (sscanf(line, " 50%% %63s", a) == 1) p50 = bh_us(a);
        else if (sscanf(line, " 90%% %63s", a) == 1) p90 = bh_us(a);
        else if (sscanf(line, " 99%% %63s", a) == 1) p99 = bh_us(a);
        else if (sscanf(line, "Requests/sec: %lf", &rps) == 1) continue;
        else if (sscanf(line, " %ld requests in", &reqs) == 1) continue;
    }
    if (pclose(f) != 0 || rps <= 0) {
        printf("%s: wrk failed\n", label);
        return;
    }
    printf("%-34s %8.0f req/s  p50 %7.1f us  p90 %7.1f us  p99 %7.1f us  max %8.1f us  (%ld requests)\n", label, rps,
           p50, p90, p99, mx, reqs);
    fflush(stdout);
}

/* Remove the run directories (parent/prefix<pid>) of earlier runs that died before cleaning up:
   those whose process no longer exists. */
static void bh_sweep(const char *parent, const char *prefix)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    size_t pl = strlen(prefix);
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        char cmd[600], *end;
        long pid;
        if (strncmp(e->d_name, prefix, pl) != 0) continue;
        pid = strtol(e->d_name + pl, &end, 10);
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(cmd, sizeof cmd, "rm -rf '%s/%.200s'", parent, e->d_name);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s/%s\n", parent, e->d_name);
    }
    closedir(d);
}

int main(void)
{
    hl_test_server ngx;
    char dir[128], url[160], access_log[200], cmd[200];
    char *argv[6];
    const char *env = getenv("BENCH_HTTP_SECONDS");
    double secs = env && atof(env) > 0 ? atof(env) : 3.0;
    int have_wrk = system("command -v wrk >/dev/null 2>&1") == 0;
    signal(SIGPIPE, SIG_IGN);
    bh_sweep("build", "nginx_bench_http-");
    snprintf(dir, sizeof dir, "build/nginx_bench_http-%ld", (long)getpid());
    argv[0] = (char *)"sh";
    argv[1] = (char *)"tests/http/start_nginx.sh";
    argv[2] = dir;
    argv[3] = (char *)"0";
    argv[4] = NULL;
    if (hl_test_server_start(&ngx, argv) != 0) {
        printf("bench_http: nginx did not start (tests/http/start_nginx.sh); no figures\n");
        return 0;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d" BH_PATH, ngx.port);
    snprintf(access_log, sizeof access_log, "%s/access.log", dir);
    printf("bench_http: nginx on 127.0.0.1:%d, GET %s (%d bytes), keep-alive (nginx: 1000 requests per connection), "
           "%.0f s per run, %ld cores\n",
           ngx.port, BH_PATH, BH_SIZE, secs, sysconf(_SC_NPROCESSORS_ONLN));
    bh_one_conn(url, secs, access_log);
    bh_pool_run(url, secs, access_log);
    if (have_wrk) {
        bh_wrk(url, 1, (int)(secs + 0.5));
        bh_wrk(url, BH_POOL, (int)(secs + 0.5));
    } else {
        printf("wrk is not installed (apt-get install wrk): no reference figures\n");
    }
    hl_test_server_stop(&ngx);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("bench_http: could not remove %s\n", dir);
    return 0;
}
