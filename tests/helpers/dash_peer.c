/*
 * dash_peer.c - A program whose metrics the dashboard browser test changes
 * at will: serves the default registry, /api/snapshot and the dashboard on
 * 127.0.0.1:0 (with a bearer token when given one as argv[1]), prints
 * "PORT <n>", then obeys stdin lines:
 *   hit R            set cache_hit_ratio to R
 *   work N           N calls of PP_SCOPE("dash.load") and ("dash.infer")
 *   bottleneck OP K  bottleneck_detected_total{operation=OP,kind=K} += 1
 * and exits 0 at end of input. Every command is answered "OK" once applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

static volatile unsigned sink;

static void spin(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sink += i;
}

static void load_one(void)
{
    PP_SCOPE("dash.load");
    spin(20000);
}

static void infer_one(void)
{
    PP_SCOPE("dash.infer");
    spin(60000);
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "dash_peer: %s: %s\n", what, pp_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    pp_registry *reg = pp_metrics_default();
    if (!reg)
        return die("registry", PP_ENOMEM);
    pp_series *hit = NULL;
    int rc = pp_metric_series(pp_registry_find(reg, "cache_hit_ratio"), NULL, &hit);
    if (rc != PP_OK)
        return die("cache_hit_ratio", rc);
    pp_sysstats *ss = NULL;
    pp_sysstats_config sc = {.interval_s = 0.25};
    if ((rc = pp_sysstats_start(&sc, &ss)) != PP_OK ||
        (rc = pp_metrics_attach_sysstats(reg, ss)) != PP_OK)
        return die("sysstats", rc);
    pp_http_config hc = {.listen = "127.0.0.1:0",
                         .registry = reg,
                         .sysstats = ss,
                         .token = argc > 1 ? argv[1] : NULL};
    pp_http_server *srv = NULL;
    if ((rc = pp_http_start(&hc, &srv)) != PP_OK)
        return die("http", rc);
    if ((rc = pp_dashboard_attach(srv)) != PP_OK)
        return die("dashboard", rc);
    printf("PORT %u\n", pp_http_port(srv));
    fflush(stdout);
    char line[512], a[256], b[256];
    while (fgets(line, sizeof line, stdin)) {
        double r;
        long n;
        if (sscanf(line, "hit %lf", &r) == 1) {
            pp_series_set(hit, r);
        } else if (sscanf(line, "work %ld", &n) == 1) {
            for (long i = 0; i < n; i++) {
                load_one();
                infer_one();
            }
        } else if (sscanf(line, "bottleneck %255s %255s", a, b) == 2) {
            const char *labels[] = {a, b};
            pp_series *s = NULL;
            if ((rc = pp_metric_series(pp_registry_find(reg, "bottleneck_detected_total"), labels,
                                       &s)) != PP_OK)
                return die("bottleneck series", rc);
            pp_series_inc(s);
        } else {
            fprintf(stderr, "dash_peer: unknown command: %s", line);
            continue;
        }
        printf("OK\n");
        fflush(stdout);
    }
    pp_http_stop(srv);
    if (pp_metrics_attach_sysstats(reg, NULL) != PP_OK)
        return 1;
    pp_sysstats_stop(ss);
    pp_metrics_default_free();
    return 0;
}
