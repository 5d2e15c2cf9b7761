/*
 * bench_http.c - How fast /metrics answers while hostile clients hold
 * connections (issue 16, defect 3), against the floor of the same scrape
 * on an idle server in the same run:
 *   - 5 000 connections from one address, each trickling one byte a second;
 *   - 1 000 idle connections from 1 000 loopback addresses.
 * Each scrape is a fresh connection: connect, GET /metrics, read to the end.
 * Prints `name: value` lines; the target is p99 < 100 ms under both loads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <postprof/postprof.h>

#define TRICKLE 5000
#define IDLE 1000
#define SCRAPES 200

static uint16_t port;
static int failed;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A non-blocking connection to the server from src (NULL: any); -1 on error. */
static int open_conn(const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            return -1;
        }
    }
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    a.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One scrape on a fresh connection: milliseconds, or -1 when it failed. */
static double scrape(void)
{
    static char buf[1 << 16];
    double t0 = now_ms();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
             send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1);
    size_t got = 0;
    ssize_t n;
    while (ok && (n = recv(fd, buf + (got < 64 ? got : 64), sizeof buf - 64, 0)) > 0)
        got += (size_t)n;
    close(fd);
    if (!ok || got < 12 || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
        failed++;
        return -1;
    }
    return now_ms() - t0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* SCRAPES scrapes gap_ms apart; prints p50, p99 and max under name. */
static double measure(const char *name, long gap_ms)
{
    double t[SCRAPES];
    int n = 0;
    for (int i = 0; i < SCRAPES; i++) {
        double ms = scrape();
        if (ms >= 0)
            t[n++] = ms;
        if (gap_ms)
            pause_ms(gap_ms);
    }
    if (!n) {
        printf("scrape_ms_%s_p99: no scrape answered\n", name);
        return 0;
    }
    qsort(t, (size_t)n, sizeof t[0], cmp);
    double p99 = t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    printf("scrape_ms_%s_p50: %.2f\n", name, t[n / 2]);
    printf("scrape_ms_%s_p99: %.2f\n", name, p99);
    printf("scrape_ms_%s_max: %.2f\n", name, t[n - 1]);
    return p99;
}

static int trickle_fds[TRICKLE];
static atomic_int stop_trickle;

static void *trickler(void *arg)
{
    (void)arg;
    static const char head[] = "GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Pad: aaaaaaaaaaaaaaaa";
    for (size_t k = 0; !atomic_load(&stop_trickle); k++) {
        for (int i = 0; i < TRICKLE; i++)
            if (trickle_fds[i] >= 0)
                (void)send(trickle_fds[i], head + k % (sizeof head - 1), 1, MSG_NOSIGNAL);
        for (int w = 0; w < 10 && !atomic_load(&stop_trickle); w++)
            pause_ms(100);
    }
    return NULL;
}

static double refused(pp_registry *reg, const char *reason)
{
    char *text = NULL;
    size_t len = 0;
    double v = -1;
    if (pp_registry_render(reg, PP_EXPO_TEXT, &text, &len) == PP_OK) {
        char key[128];
        snprintf(key, sizeof key, "postprof_http_connections_refused_total{reason=\"%s\"} ",
                 reason);
        const char *p = strstr(text, key);
        if (p)
            v = atof(p + strlen(key));
    }
    free(text);
    return v;
}

/* Wait (at most 30 s) until the server has refused or closed want
 * connections for reason: it has dealt with the flood just opened. */
static void wait_counted(pp_registry *reg, const char *reason, double want)
{
    for (int i = 0; i < 300 && refused(reg, reason) < want; i++)
        pause_ms(100);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * (TRICKLE + IDLE) + 300) {
        fprintf(stderr, "bench_http: needs %d file descriptors, the hard limit is %llu\n",
                2 * (TRICKLE + IDLE) + 300, (unsigned long long)rl.rlim_max);
        return 1;
    }
    pp_log_set_level(PP_LOG_ERROR);
    pp_registry *reg = NULL;
    pp_metric *m;
    pp_series *s;
    const char *l[] = {"n"};
    if (pp_registry_new(NULL, &reg) != PP_OK ||
        pp_registry_gauge(reg, "bench_series", "Filler.", 1, l, &m) != PP_OK)
        return 1;
    for (int i = 0; i < 200; i++) { /* a scrape of about 10 KiB */
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        if (pp_metric_series(m, (const char *const[]){v}, &s) != PP_OK)
            return 1;
        pp_series_set(s, i);
    }
    pp_http_config cfg = {.listen = "127.0.0.1:0", .registry = reg};
    pp_http_server *srv = NULL;
    if (pp_http_start(&cfg, &srv) != PP_OK) {
        fprintf(stderr, "bench_http: cannot start the server\n");
        return 1;
    }
    port = pp_http_port(srv);

    double floor_p99 = measure("unloaded", 5);

    for (int i = 0; i < TRICKLE; i++)
        trickle_fds[i] = open_conn(NULL);
    pthread_t th;
    pthread_create(&th, NULL, trickler, NULL);
    wait_counted(reg, "address_limit", TRICKLE - 64 - 8);
    double trickle_p99 = measure("during_trickle", 20);
    atomic_store(&stop_trickle, 1);
    pthread_join(th, NULL);
    for (int i = 0; i < TRICKLE; i++)
        if (trickle_fds[i] >= 0)
            close(trickle_fds[i]);

    int idle[IDLE];
    for (int i = 0; i < IDLE; i++) {
        char src[32];
        snprintf(src, sizeof src, "127.%d.%d.%d", 1 + i / 62500, (i / 250) % 250, 1 + i % 250);
        idle[i] = open_conn(src);
    }
    wait_counted(reg, "address_limit", TRICKLE + IDLE - 2 * (64 + 8));
    double idle_p99 = measure("during_idle_many_addresses", 10);
    for (int i = 0; i < IDLE; i++)
        if (idle[i] >= 0)
            close(idle[i]);

    printf("trickle_connections: %d\n", TRICKLE);
    printf("idle_connections: %d\n", IDLE);
    printf("scrape_p99_ratio_trickle_over_unloaded: %.2f\n", trickle_p99 / floor_p99);
    printf("scrape_p99_ratio_idle_over_unloaded: %.2f\n", idle_p99 / floor_p99);
    printf("refused_address_limit: %.0f\n", refused(reg, "address_limit"));
    printf("refused_server_full: %.0f\n", refused(reg, "server_full"));
    printf("refused_head_timeout: %.0f\n", refused(reg, "head_timeout"));
    printf("scrapes_failed: %d\n", failed);
    pp_http_stop(srv);
    pp_registry_free(reg);
    return failed ? 1 : 0;
}
