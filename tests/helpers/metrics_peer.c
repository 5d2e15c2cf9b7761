/*
 * metrics_peer.c - An instrumented program for the metrics integration
 * tests: serves the default registry (plus test metrics) over HTTP, prints
 * "PORT <n>" once listening, and exits 0 on SIGINT/SIGTERM.
 *   --listen HOST:PORT   (default 127.0.0.1:0)     --token T
 *   --counter N          test_events_total incremented exactly N times
 *   --scopes N           N PP_SCOPE("peer.work") calls of varied length
 *   --weird-labels       series whose label values hold quotes, backslashes,
 *                        newlines and non-ASCII text
 *   --churn              two threads update metrics until the end
 *   --sysstats S         attach a system stats collector sampling every S s
 *   --max-connections N  --per-client N  --head-timeout S   the server's limits
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <postprof/postprof.h>

static atomic_int stop_churn;
static pp_series *churn_counter, *churn_hist;

static void work(unsigned n)
{
    PP_SCOPE("peer.work");
    volatile unsigned x = 0;
    for (unsigned i = 0; i < n; i++)
        x += i;
}

static void *churn(void *arg)
{
    (void)arg;
    unsigned i = 0;
    while (!atomic_load(&stop_churn)) {
        pp_series_inc(churn_counter);
        pp_series_observe(churn_hist, (double)(i++ % 1000) / 1000.0);
        if (i % 1024 == 0)
            work(100);
    }
    return NULL;
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "metrics_peer: %s: %s\n", what, pp_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    pp_http_config hc = {.listen = "127.0.0.1:0"};
    long counter = 0, scopes = 0;
    int weird = 0, do_churn = 0;
    double sys_interval = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--listen") && v)
            hc.listen = argv[++i];
        else if (!strcmp(a, "--token") && v)
            hc.token = argv[++i];
        else if (!strcmp(a, "--counter") && v)
            counter = atol(argv[++i]);
        else if (!strcmp(a, "--scopes") && v)
            scopes = atol(argv[++i]);
        else if (!strcmp(a, "--sysstats") && v)
            sys_interval = atof(argv[++i]);
        else if (!strcmp(a, "--max-connections") && v)
            hc.max_connections = (unsigned)atol(argv[++i]);
        else if (!strcmp(a, "--per-client") && v)
            hc.per_client_connections = (unsigned)atol(argv[++i]);
        else if (!strcmp(a, "--head-timeout") && v)
            hc.head_timeout_s = (unsigned)atol(argv[++i]);
        else if (!strcmp(a, "--weird-labels"))
            weird = 1;
        else if (!strcmp(a, "--churn"))
            do_churn = 1;
        else {
            fprintf(stderr, "metrics_peer: unknown option %s\n", a);
            return 2;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    pp_registry *reg = pp_metrics_default();
    if (!reg)
        return die("registry", PP_ENOMEM);
    pp_metric *m;
    pp_series *s;
    int rc = pp_registry_counter(reg, "test_events_total", "Events counted by the test peer.", 0,
                                 NULL, &m);
    if (rc != PP_OK || (rc = pp_metric_series(m, NULL, &s)) != PP_OK)
        return die("counter", rc);
    for (long i = 0; i < counter; i++)
        pp_series_inc(s);
    for (long i = 0; i < scopes; i++)
        work((unsigned)(i % 50) * 200u + 10u);
    if (weird) {
        const char *l[] = {"text"};
        rc = pp_registry_gauge(reg, "test_weird_labels",
                               "Label values that need escaping: \\ \" "
                               "and a\nnewline.",
                               1, l, &m);
        if (rc != PP_OK)
            return die("weird gauge", rc);
        const char *values[] = {
            "quote \" here",      "back\\slash",
            "new\nline",          "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\xa5",
            "all \\\"\n\xc3\xa9", "",
            "}{,=\"le\""};
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            if ((rc = pp_metric_series(m, &values[i], &s)) != PP_OK)
                return die("weird series", rc);
            pp_series_set(s, (double)i + 0.5);
        }
        rc = pp_metric_series(pp_registry_find(reg, "bottleneck_detected_total"),
                              (const char *const[]){"peer \"op\"\n", "cpu\\bound"}, &s);
        if (rc != PP_OK)
            return die("bottleneck series", rc);
        pp_series_inc(s);
        {
            PP_SCOPE("peer.scope \"quoted\" \\ \xc3\xa9");
        }
    }
    pthread_t th[2];
    if (do_churn) {
        double b[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
        if ((rc = pp_registry_counter(reg, "test_churn_total", "Churn.", 0, NULL, &m)) != PP_OK ||
            (rc = pp_metric_series(m, NULL, &churn_counter)) != PP_OK ||
            (rc = pp_registry_histogram(reg, "test_churn_seconds", "Churn.", 0, NULL, b, 10, &m)) !=
                PP_OK ||
            (rc = pp_metric_series(m, NULL, &churn_hist)) != PP_OK)
            return die("churn metrics", rc);
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, churn, NULL);
    }
    pp_sysstats *ss = NULL;
    if (sys_interval > 0) {
        pp_sysstats_config sc = {.interval_s = sys_interval};
        if ((rc = pp_sysstats_start(&sc, &ss)) != PP_OK ||
            (rc = pp_metrics_attach_sysstats(reg, ss)) != PP_OK)
            return die("sysstats", rc);
        hc.sysstats = ss;
    }
    hc.registry = reg;
    pp_http_server *srv = NULL;
    if ((rc = pp_http_start(&hc, &srv)) != PP_OK)
        return die("http", rc);
    printf("PORT %u\n", pp_http_port(srv));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    pp_http_stop(srv);
    if (do_churn) {
        atomic_store(&stop_churn, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
    }
    if (ss && pp_metrics_attach_sysstats(reg, NULL) != PP_OK)
        return 1;
    pp_sysstats_stop(ss);
    pp_metrics_default_free();
    return 0;
}
