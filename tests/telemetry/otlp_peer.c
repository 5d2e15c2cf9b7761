/*
 * otlp_peer.c - A program linking libpostprof that the OTLP receiver test
 * runs with OTEL_* set: it calls no exporter function in "spans" mode (the
 * environment alone must make it export, and the exit flush send it all),
 * and prints the figures of its own metrics so the receiver can compare.
 *
 *   otlp_peer spans      nested scopes on two threads (the outer one a SERVER
 *                        scope), a failing scope, async spans ended on
 *                        another thread (CLIENT ones begun in a scope, its
 *                        children; others begun outside any, roots), a
 *                        counter, a gauge and a histogram; prints
 *                        {"counter":..,...}
 *   otlp_peer failures   one flush against a receiver that answers 503,
 *                        429, 400 and goes away; then 200 000 scopes with the
 *                        endpoint gone, and shutdown within 2 s; prints the
 *                        exporter's counts and what /metrics shows
 *   otlp_peer traceparent   prints the traceparent inside a scope, and the
 *                        one of a root continuing a remote parent
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/metrics.h>
#include <postprof/otlp.h>
#include <postprof/scope.h>

static const double bounds[] = {0.001, 0.01, 0.1, 1.0};
static pp_series *latency, *req_a, *req_b;

static void work(int i)
{
    PP_SCOPE_SERVER("peer.request");
    {
        PP_SCOPE("peer.parse");
        pp_series_observe(latency, (double)(i % 7) * 0.004);
    }
    {
        PP_SCOPE("peer.query");
        {
            PP_SCOPE("peer.query.row");
            if (i % 10 == 3)
                PP_SCOPE_FAIL();
        }
    }
    pp_series_inc(i % 2 ? req_a : req_b);
}

static void *thread_main(void *arg)
{
    pp_span *spans = arg;
    for (int i = 0; i < 50; i++)
        work(i);
    /* async spans begun on main, ended here */
    for (int i = 0; i < 5; i++)
        PP_ASYNC_END(spans[i]);
    return NULL;
}

static int spans_mode(void)
{
    pp_registry *r = pp_metrics_default();
    pp_metric *h = NULL, *c = NULL, *g = NULL;
    static const char *const route[] = {"route"};
    const char *va[] = {"a"}, *vb[] = {"b"};
    pp_series *gauge = NULL;
    if (pp_registry_histogram(r, "otlp_peer_latency_seconds", "Peer latency", 0, NULL, bounds, 4,
                              &h) != PP_OK ||
        pp_metric_series(h, NULL, &latency) != PP_OK ||
        pp_registry_counter(r, "otlp_peer_requests_total", "Peer requests", 1, route, &c) !=
            PP_OK ||
        pp_metric_series(c, va, &req_a) != PP_OK || pp_metric_series(c, vb, &req_b) != PP_OK ||
        pp_registry_gauge(r, "otlp_peer_queue_depth", "Peer gauge", 0, NULL, &g) != PP_OK ||
        pp_metric_series(g, NULL, &gauge) != PP_OK) {
        fprintf(stderr, "otlp_peer: registry set-up failed\n");
        return 1;
    }
    pp_series_set(gauge, 7.5);
    pp_span spans[2][5];
    {
        PP_SCOPE("peer.batch"); /* the parent of the CLIENT async spans begun here */
        for (int i = 0; i < 5; i++)
            PP_ASYNC_BEGIN_CLIENT(spans[0][i], "peer.async.call");
    }
    for (int i = 0; i < 5; i++)
        PP_ASYNC_BEGIN(spans[1][i], "peer.async");
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        if (pthread_create(&th[t], NULL, thread_main, spans[t]) != 0)
            return 1;
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    uint64_t buckets[5] = {0};
    /* the registry's own figures, as /metrics would render them */
    char *text = NULL;
    size_t len = 0;
    if (pp_registry_render(r, 0, &text, &len) != PP_OK)
        return 1;
    double sum = 0;
    uint64_t count = 0;
    const char *p = text;
    while ((p = strstr(p, "otlp_peer_latency_seconds_bucket{le=\""))) {
        double le;
        unsigned long long v;
        if (sscanf(p, "otlp_peer_latency_seconds_bucket{le=\"%lf\"} %llu", &le, &v) == 2) {
            for (int k = 0; k < 4; k++)
                if (le == bounds[k])
                    buckets[k] = v; /* cumulative */
        }
        p++;
    }
    const char *q = strstr(text, "otlp_peer_latency_seconds_sum ");
    if (q)
        sscanf(q, "otlp_peer_latency_seconds_sum %lf", &sum);
    q = strstr(text, "otlp_peer_latency_seconds_count ");
    if (q)
        sscanf(q, "otlp_peer_latency_seconds_count %llu", (unsigned long long *)&count);
    free(text);
    printf("{\"histogram\":{\"count\":%llu,\"sum\":%.17g,\"cumulative\":[%llu,%llu,%llu,%llu]},"
           "\"counter\":{\"a\":%.0f,\"b\":%.0f},\"gauge\":%.17g,\"spans\":{\"peer.request\":100,"
           "\"peer.parse\":100,\"peer.query\":100,\"peer.query.row\":100,\"peer.batch\":1,"
           "\"peer.async.call\":5,\"peer.async\":5}}\n",
           (unsigned long long)count, sum, (unsigned long long)buckets[0],
           (unsigned long long)buckets[1], (unsigned long long)buckets[2],
           (unsigned long long)buckets[3], pp_series_value(req_a), pp_series_value(req_b),
           pp_series_value(gauge));
    fflush(stdout);
    return 0; /* the exit flush sends everything */
}

static int failures_mode(void)
{
    if (!pp_otlp_active()) {
        fprintf(stderr, "otlp_peer: the exporter did not start from the environment\n");
        return 1;
    }
    for (int i = 0; i < 20; i++)
        work(i);
    /* one round against 503 (Retry-After), 429, then 400 */
    int rc = pp_otlp_flush(60000);
    printf("flush1: %s\n", pp_strerror(rc));
    fflush(stdout);
    /* wait for the receiver to say it has gone (a line on stdin) */
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    /* the endpoint is gone: the hot path goes on, never blocked */
    uint64_t t0 = pp_clock_now_ns();
    for (int i = 0; i < 50000; i++)
        work(i);
    uint64_t t1 = pp_clock_now_ns();
    rc = pp_otlp_shutdown(2000);
    uint64_t t2 = pp_clock_now_ns();
    pp_otlp_stats st;
    pp_otlp_get_stats(&st);
    char *text = NULL;
    size_t len = 0;
    double shown = -1;
    if (pp_registry_render(pp_metrics_default(), 0, &text, &len) == PP_OK) {
        const char *q = strstr(text, "postprof_otlp_dropped_total{signal=\"traces\"} ");
        if (q)
            sscanf(q, "postprof_otlp_dropped_total{signal=\"traces\"} %lf", &shown);
        free(text);
    }
    printf("{\"shutdown\":\"%s\",\"shutdown_ms\":%.1f,\"loop_ms\":%.1f,\"spans_sent\":%llu,"
           "\"spans_dropped\":%llu,\"spans_skipped\":%llu,\"scopes\":%d,\"requests\":%llu,"
           "\"retries\":%llu,\"paused\":%llu,\"queue_capacity\":%u,"
           "\"metrics_dropped_traces\":%.0f}\n",
           pp_strerror(rc), (double)(t2 - t1) / 1e6, (double)(t1 - t0) / 1e6,
           (unsigned long long)st.spans_sent, (unsigned long long)st.spans_dropped,
           (unsigned long long)st.spans_skipped, 4 * (20 + 50000), (unsigned long long)st.requests,
           (unsigned long long)st.retries, (unsigned long long)st.paused, st.queue_capacity, shown);
    return 0;
}

static int traceparent_mode(void)
{
    char tp[PP_TRACEPARENT_SIZE];
    {
        PP_SCOPE("peer.tp");
        pp_otlp_traceparent(tp, sizeof tp);
        printf("inside: %s\n", tp);
    }
    pp_otlp_traceparent(tp, sizeof tp);
    printf("outside: %s\n", tp);
    if (pp_otlp_continue("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "a=b") != PP_OK)
        return 1;
    {
        PP_SCOPE("peer.continued");
        pp_otlp_traceparent(tp, sizeof tp);
        printf("continued: %s %s\n", tp, pp_otlp_tracestate() ? pp_otlp_tracestate() : "");
    }
    pp_otlp_continue_clear();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "spans") == 0)
        return spans_mode();
    if (strcmp(argv[1], "failures") == 0)
        return failures_mode();
    if (strcmp(argv[1], "traceparent") == 0)
        return traceparent_mode();
    return 2;
}
