/*
 * dash_peer.c - A program whose metrics the dashboard browser test changes
 * at will: serves the default registry, /api/snapshot and the dashboard on
 * 127.0.0.1:0 (with a bearer token when given one as argv[1]), prints
 * "PORT <n>", then obeys stdin lines:
 *   hit R            set cache_hit_ratio to R
 *   work N           N calls of PP_SCOPE("dash.load") and ("dash.infer")
 *   bottleneck OP K  bottleneck_detected_total{operation=OP,kind=K} += 1
 *   shared H M LH LM R  the shared-cache metrics of `pipeline --serve`:
 *                    postprof_cache_lookups_total{result=hit,miss} = H, M,
 *                    postprof_cache_local_lru_lookups_total{result} = LH, LM,
 *                    postprof_shared_cache_hit_ratio = R
 *   gain G LO HI N   /api/service answers a shared_gain of G points (95 %
 *                    interval LO to HI) over a local LRU of N entries
 * and exits 0 at end of input. Every command is answered "OK" once applied.
 */
#include <pthread.h>
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

/* /api/service as `pipeline --serve` answers it (its shared-cache part) */
static pthread_mutex_t svc_mu = PTHREAD_MUTEX_INITIALIZER;
static char svc_body[512] = "{\"shared_gain\":null,\"local_lru_entries\":0}\n";

static int api_service(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    (void)req, (void)ctx;
    char body[sizeof svc_body];
    pthread_mutex_lock(&svc_mu);
    memcpy(body, svc_body, sizeof body);
    pthread_mutex_unlock(&svc_mu);
    return pp_http_respond(resp, 200, "application/json", body, strlen(body));
}

/* A counter or gauge series {label=value} of the default registry (created on first use). */
static pp_series *series(pp_registry *reg, int counter, const char *name, const char *label,
                         const char *value)
{
    pp_metric *m = NULL;
    const char *labels[] = {label}, *values[] = {value};
    int rc = counter ? pp_registry_counter(reg, name, "dash_peer", label ? 1 : 0,
                                           label ? labels : NULL, &m)
                     : pp_registry_gauge(reg, name, "dash_peer", 0, NULL, &m);
    pp_series *s = NULL;
    if (rc != PP_OK || pp_metric_series(m, label ? values : NULL, &s) != PP_OK)
        return NULL;
    return s;
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
    if ((rc = pp_http_add_handler(srv, "/api/service", api_service, NULL)) != PP_OK)
        return die("/api/service", rc);
    printf("PORT %u\n", pp_http_port(srv));
    fflush(stdout);
    char line[512], a[256], b[256];
    while (fgets(line, sizeof line, stdin)) {
        double r, v[5];
        long n;
        if (sscanf(line, "shared %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5) {
            const char *lk = "postprof_cache_lookups_total";
            const char *ll = "postprof_cache_local_lru_lookups_total";
            pp_series *s[5] = {
                series(reg, 1, lk, "result", "hit"), series(reg, 1, lk, "result", "miss"),
                series(reg, 1, ll, "result", "hit"), series(reg, 1, ll, "result", "miss"),
                series(reg, 0, "postprof_shared_cache_hit_ratio", NULL, NULL)};
            for (int i = 0; i < 5; i++)
                if (!s[i])
                    return die("shared-cache series", PP_ENOMEM);
            for (int i = 0; i < 4; i++)
                pp_series_mirror_counter(s[i], v[i]);
            pp_series_set(s[4], v[4]);
        } else if (sscanf(line, "gain %lf %lf %lf %ld", &v[0], &v[1], &v[2], &n) == 4) {
            const char *verdict = v[1] > 0   ? "the shared cache pays"
                                  : v[2] < 0 ? "a node-local LRU would hit more"
                                             : "no significant change";
            pthread_mutex_lock(&svc_mu);
            snprintf(svc_body, sizeof svc_body,
                     "{\"local_lru_entries\":%ld,\"shared_gain\":{\"hit_ratio_points\":%g,"
                     "\"ci95_low\":%g,\"ci95_high\":%g,\"verdict\":\"%s\"}}\n",
                     n, v[0], v[1], v[2], verdict);
            pthread_mutex_unlock(&svc_mu);
        } else if (sscanf(line, "hit %lf", &r) == 1) {
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
