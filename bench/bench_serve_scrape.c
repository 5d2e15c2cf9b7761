/*
 * bench_serve_scrape.c - What two Prometheus-like scrapers (each GET /metrics
 * once a second) cost the service's feed requests (issue 14): the pipeline
 * runs as a service (posts/serve.h, requests as fast as one worker can) with
 * its HTTP server; phases of PHASE_S seconds alternate quiet and scraped, and
 * each phase's p99 of posts.serve.request comes from the instruments
 * (snapshot deltas). PAIRS pairs of phases in A B B A order give the
 * scraped/quiet ratio of p99s with its 95 % interval (Hodges-Lehmann with the
 * Wilcoxon signed-rank interval, src/analyze/stats.h); the floor is the same
 * estimate between quiet phases themselves, measured in the same run.
 * Prints `name: value` lines; the target holds when the interval's upper
 * end is at most +5 %.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "analyze/stats.h"

#ifdef PP_HAVE_POSTS
#include <posts/posts.h>

#define PAIRS 80
#define PHASE_S 1.0
#define TARGET 0.05 /* the most the scrapes may change the p99 by */
#define GRID_PER_DECADE 100
#define GRID_N (7 * GRID_PER_DECADE + 1) /* 1 us .. 10 s */

static uint16_t port;
static atomic_int scraping, done;
static atomic_ulong scrapes, scrape_bytes;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

static double grid_ns(size_t i)
{
    return 1000.0 * pow(10.0, (double)i / GRID_PER_DECADE);
}

/* GET /metrics on a fresh connection, read to the end; bytes read or -1. */
static long scrape(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    long total = -1;
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\nAccept: "
                              "application/openmetrics-text;version=1.0.0\r\n"
                              "Connection: close\r\n\r\n";
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
        char buf[65536];
        ssize_t n;
        total = 0;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            total += n;
    }
    close(fd);
    return total;
}

/* A scraper: once a second while scraping is on (offset so the two alternate). */
static void *scraper(void *arg)
{
    double next = now_s() + *(double *)arg;
    while (!atomic_load(&done)) {
        double t = now_s();
        if (t < next) {
            pause_s(next - t < 0.05 ? next - t : 0.05);
            continue;
        }
        next += 1.0;
        if (!atomic_load(&scraping))
            continue;
        long n = scrape();
        if (n > 0) {
            atomic_fetch_add(&scrapes, 1);
            atomic_fetch_add(&scrape_bytes, (unsigned long)n);
        }
    }
    return NULL;
}

/* Calls of posts.serve.request at most each grid point so far (every site summed). */
static uint64_t cum(uint64_t *cdf)
{
    memset(cdf, 0, GRID_N * sizeof *cdf);
    pp_snapshot *snap;
    if (pp_snapshot_take(&snap) != PP_OK)
        return 0;
    uint64_t count = 0;
    for (size_t i = 0; i < pp_snapshot_count(snap); i++) {
        const pp_site_stats *st = pp_snapshot_site(snap, i);
        if (!st->name || strcmp(st->name, "posts.serve.request") != 0 || !st->hist)
            continue;
        count += st->count;
        for (size_t g = 0; g < GRID_N; g++)
            cdf[g] += pp_histogram_count_le(st->hist, grid_ns(g));
    }
    pp_snapshot_free(snap);
    return count;
}

static double p99_between(const uint64_t *a, uint64_t na, const uint64_t *b, uint64_t nb)
{
    uint64_t n = nb - na;
    if (!n)
        return 0;
    double rank = 0.99 * (double)n;
    for (size_t g = 1; g < GRID_N; g++) {
        double hi = (double)(b[g] - a[g]), lo = (double)(b[g - 1] - a[g - 1]);
        if (hi >= rank)
            return grid_ns(g - 1) +
                   (hi > lo ? (rank - lo) / (hi - lo) : 1) * (grid_ns(g) - grid_ns(g - 1));
    }
    return grid_ns(GRID_N - 1);
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(void)
{
    char dir[] = "/tmp/bench_serve_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    posts_datagen_opts go;
    posts_datagen_opts_init(&go);
    go.posts = 5000;
    go.out_dir = dir;
    posts_datagen_result gr;
    posts_err err = {{0}};
    if (posts_datagen_run(&go, &gr, &err) != PP_OK) {
        fprintf(stderr, "datagen: %s\n", err.msg);
        return 1;
    }
    pp_registry *reg = pp_metrics_default();
    pp_sysstats *ss = NULL;
    pp_sysstats_config sc = {0};
    pp_http_server *srv = NULL;
    pp_http_config hc = {.listen = "127.0.0.1:0"};
    posts_service *svc = NULL;
    posts_service_opts so;
    posts_service_opts_init(&so);
    snprintf(so.cfg.data_dir, sizeof so.cfg.data_dir, "%s", dir);
    so.registry = reg;
    so.detect_every_s = 1;
    so.window_s = 10;
    int rc = 1;
    if (!reg || pp_sysstats_start(&sc, &ss) != PP_OK ||
        pp_metrics_attach_sysstats(reg, ss) != PP_OK)
        goto out;
    hc.registry = reg;
    hc.sysstats = ss;
    if (pp_http_start(&hc, &srv) != PP_OK)
        goto out;
    port = pp_http_port(srv);
    if (posts_service_new(&so, &svc, &err) != PP_OK || posts_service_start(svc) != PP_OK) {
        fprintf(stderr, "service: %s\n", err.msg);
        goto out;
    }
    pthread_t th[2];
    double off[2] = {0.0, 0.5};
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, scraper, &off[i]);
    pause_s(PHASE_S); /* warm-up: caches, first windows */
    static uint64_t cdf[2][GRID_N];
    double quiet[PAIRS], scraped[PAIRS];
    uint64_t n0 = cum(cdf[0]);
    /* pairs in A B B A order: even pairs quiet first, odd pairs scraped first,
     * so a drift of the machine favours neither side */
    for (int i = 0; i < PAIRS; i++)
        for (int k = 0; k < 2; k++) {
            int scr = i % 2 ? !k : k;
            atomic_store(&scraping, scr);
            pause_s(PHASE_S);
            uint64_t n1 = cum(cdf[1]);
            double v = p99_between(cdf[0], n0, cdf[1], n1);
            if (scr)
                scraped[i] = v;
            else
                quiet[i] = v;
            memcpy(cdf[0], cdf[1], sizeof cdf[0]);
            n0 = n1;
        }
    atomic_store(&done, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    /* the change: scraped over quiet p99, paired, with its 95 % interval; the
     * floor: the same estimate between quiet phases themselves (even pairs'
     * against odd pairs'), measured in the same run */
    pp__ratio_est e, aa;
    double qa[PAIRS / 2], qb[PAIRS / 2];
    for (int i = 0; i < PAIRS / 2; i++) {
        qa[i] = quiet[2 * i];
        qb[i] = quiet[2 * i + 1];
    }
    if (pp__stats_paired(quiet, scraped, PAIRS, 0.95, TARGET, &e) != PP_OK ||
        pp__stats_paired(qa, qb, PAIRS / 2, 0.95, TARGET, &aa) != PP_OK) {
        fprintf(stderr, "bench_serve_scrape: a phase had no requests\n");
        goto out;
    }
    double q = median(quiet, PAIRS), s = median(scraped, PAIRS);
    posts_service_stats st;
    posts_service_stats_get(svc, &st);
    printf("serve_requests_per_s: %.0f\n", st.uptime_s > 0 ? st.requests / st.uptime_s : 0.0);
    printf("serve_request_p99_quiet_ms: %.4f\n", q / 1e6);
    printf("serve_request_p99_scraped_ms: %.4f\n", s / 1e6);
    printf("serve_scrapes: %lu\n", atomic_load(&scrapes));
    printf("serve_scrape_bytes_mean: %.0f\n",
           atomic_load(&scrapes) ? (double)atomic_load(&scrape_bytes) / atomic_load(&scrapes)
                                 : 0.0);
    printf("serve_scrape_pairs: %d\n", PAIRS);
    printf("serve_scrape_p99_change: %.4f\n", e.ratio - 1);
    printf("serve_scrape_p99_change_low: %.4f\n", e.low - 1);
    printf("serve_scrape_p99_change_high: %.4f\n", e.high - 1);
    printf("serve_scrape_floor_aa_change: %.4f (95 %% interval %.4f to %.4f)\n", aa.ratio - 1,
           aa.low - 1, aa.high - 1);
    /* the target is a cost: it holds when the interval's upper end (the most
     * the scrapes can raise the p99 by, at 95 %) is at most 5 % */
    printf("serve_scrape_p99_verdict: %s\n",
           e.high <= 1 + TARGET ? "within the 5 % target (the interval's upper end)"
           : e.low > 1 + TARGET ? "over the 5 % target (the whole interval)"
                                : "inconclusive: the interval reaches past 5 %");
    rc = 0;
out:
    posts_service_stop(svc);
    pp_http_stop(srv);
    posts_service_free(svc);
    if (ss) {
        if (pp_metrics_attach_sysstats(reg, NULL) != PP_OK) {
            /* cannot fail once attached */
        }
        pp_sysstats_stop(ss);
    }
    pp_metrics_default_free();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return rc;
}
#else
int main(void)
{
    puts("bench_serve_scrape: this build has no posts pipeline");
    return 0;
}
#endif
