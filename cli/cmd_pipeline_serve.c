/*
 * cmd_pipeline_serve.c - `postprof pipeline --serve`: the pipeline as a
 * long-running service (posts/serve.h) with /metrics, /healthz, /readyz,
 * /api/snapshot, /api/service and the dashboard on one HTTP server; stops on
 * SIGTERM/SIGINT or after --duration: drains, writes OUT/service.json
 * atomically, exits 0 (a second signal while it drains is noted, a third
 * exits at once without the report).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "cli.h"

#ifdef PP_HAVE_POSTS
#include <posts/posts.h>
#include <posts/serve.h>

static const char serve_usage[] =
    "usage: postprof pipeline --serve [--listen HOST:PORT] [--node NAME] [--duration S]\n"
    "                         [--rate R] [--reload S] [--window S] [--every S] [--out DIR]\n"
    "                         [pipeline flags]\n"
    "  --listen HOST:PORT  metrics, health and dashboard address (default " PP_HTTP_DEFAULT_LISTEN
    ";\n"
    "                      port 0 picks a free port)\n"
    "  --node NAME         this node's name in the report (default: the host name)\n"
    "  --duration S        stop after S seconds (default: run until SIGTERM or SIGINT;\n"
    "                      a third signal while it drains exits without the report)\n"
    "  --rate R            feed requests per second (default 0: as fast as it can)\n"
    "  --reload S          reload the sources every S seconds (default 30; 0 = never)\n"
    "  --window S          bottleneck rules and cache_hit_ratio over the last S seconds (60)\n"
    "  --every S           judge the window every S seconds (default 10)\n"
    "  --out DIR           where the final report service.json goes (default out)\n"
    "  --log-level LEVEL   debug|info|warn|error|off (default info)\n"
    "pipeline flags: those of `postprof pipeline` (--data, --sources, --postgres,\n"
    "--cache lru|none|redis://HOST:PORT, --cache-entries, --candidates, ...).\n";

typedef struct svc_ref {
    _Atomic(posts_service *) svc;
    atomic_int draining;
    const char *node;
} svc_ref;

static int readyz(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    (void)req;
    svc_ref *r = ctx;
    posts_service *s = atomic_load(&r->svc);
    if (s && posts_service_ready(s))
        return pp_http_respond(resp, 200, "text/plain; charset=utf-8", "ready\n", 6);
    const char *why = atomic_load(&r->draining) ? "draining\n" : "loading\n";
    return pp_http_respond(resp, 503, "text/plain; charset=utf-8", why, strlen(why));
}

static void json_ratio(char *buf, size_t cap, double r)
{
    if (r >= 0)
        snprintf(buf, cap, "%.6f", r);
    else
        snprintf(buf, cap, "null");
}

/* The service's live figures (the dashboard and scripts read them). */
static int api_service(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    (void)req;
    svc_ref *r = ctx;
    posts_service *s = atomic_load(&r->svc);
    if (!s)
        return pp_http_respond(resp, 503, "application/json", "{\"ready\":false}\n", 16);
    posts_service_stats st;
    posts_service_stats_get(s, &st);
    char wr[32], sr[32], lr[32], gain[160], body[2048];
    json_ratio(wr, sizeof wr, st.window_hit_ratio);
    json_ratio(sr, sizeof sr, st.shared_window_hit_ratio);
    json_ratio(lr, sizeof lr, st.local_lru ? st.local_lru_window_hit_ratio : -1);
    if (st.gain_known)
        snprintf(gain, sizeof gain,
                 "{\"hit_ratio_points\":%.6f,\"ci95_low\":%.6f,\"ci95_high\":%.6f,"
                 "\"verdict\":\"%s\"}",
                 st.gain, st.gain_lo, st.gain_hi, posts_service_gain_verdict(&st));
    else
        snprintf(gain, sizeof gain, "null");
    int n = snprintf(body, sizeof body,
                     "{\"ready\":%s,\"requests\":%llu,\"request_errors\":%llu,\"reloads\":%llu,"
                     "\"reload_errors\":%llu,\"posts\":%llu,\"cache_hits\":%llu,"
                     "\"cache_misses\":%llu,\"cache_errors\":%llu,\"window_hit_ratio\":%s,"
                     "\"shared_window_hit_ratio\":%s,\"local_lru_entries\":%llu,"
                     "\"local_lru_window_hit_ratio\":%s,\"shared_gain\":%s,"
                     "\"windows\":%llu,\"findings\":%llu,\"uptime_s\":%.3f}\n",
                     posts_service_ready(s) ? "true" : "false", (unsigned long long)st.requests,
                     (unsigned long long)st.request_errors, (unsigned long long)st.refreshes,
                     (unsigned long long)st.refresh_errors, (unsigned long long)st.posts,
                     (unsigned long long)st.cache_hits, (unsigned long long)st.cache_misses,
                     (unsigned long long)st.cache_errors, wr, sr,
                     (unsigned long long)st.local_lru_entries, lr, gain,
                     (unsigned long long)st.windows, (unsigned long long)st.findings, st.uptime_s);
    return pp_http_respond(resp, 200, "application/json", body, (size_t)n);
}

static int parse_seconds(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !(d >= lo && d <= hi))
        return -1;
    *out = d;
    return 0;
}

int cmd_pipeline_serve(int argc, char **argv)
{
    posts_service_opts so;
    posts_service_opts_init(&so);
    posts_err err = {{0}};
    const char *listen = NULL, *node = NULL, *out = "out";
    double duration = 0;
    int level = PP_LOG_INFO;
    static char host[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(serve_usage, stdout);
            return PP_EXIT_OK;
        }
        if (strcmp(a, "--serve") == 0)
            continue;
        int ec = PP_EXIT_OK;
        if (!v) { /* a switch of the pipeline's, or an error */
            if ((ec = cli_pipeline_flag(&so.cfg, serve_usage, argc, argv, &i)) != PP_EXIT_OK)
                return ec;
            continue;
        }
        i++;
        if (strcmp(a, "--listen") == 0) {
            char h[256];
            uint16_t port;
            if (pp_http_parse_listen(v, h, sizeof h, &port) != PP_OK)
                return cli_usage_error("pipeline", serve_usage,
                                       "--listen '%s': expected HOST:PORT (e.g. 127.0.0.1:9464)",
                                       v);
            listen = v;
        } else if (strcmp(a, "--node") == 0) {
            if (!*v || strlen(v) > 128)
                return cli_usage_error("pipeline", serve_usage, "--node: 1 to 128 characters");
            node = v;
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else if (strcmp(a, "--duration") == 0) {
            if (parse_seconds(v, 0.1, 1e7, &duration))
                return cli_usage_error("pipeline", serve_usage,
                                       "--duration '%s': expected seconds in [0.1, 1e7]", v);
        } else if (strcmp(a, "--rate") == 0) {
            if (parse_seconds(v, 0, 1e6, &so.rate))
                return cli_usage_error("pipeline", serve_usage,
                                       "--rate '%s': expected requests/s in [0, 1000000]", v);
        } else if (strcmp(a, "--reload") == 0) {
            if (parse_seconds(v, 0, 86400, &so.refresh_s) || (so.refresh_s && so.refresh_s < 0.1))
                return cli_usage_error("pipeline", serve_usage,
                                       "--reload '%s': expected 0 or seconds in [0.1, 86400]", v);
        } else if (strcmp(a, "--window") == 0 || strcmp(a, "--every") == 0) {
            double *d = a[2] == 'w' ? &so.window_s : &so.detect_every_s;
            if (parse_seconds(v, 0.05, 86400, d))
                return cli_usage_error("pipeline", serve_usage,
                                       "%s '%s': expected seconds in [0.05, 86400]", a, v);
        } else if (strcmp(a, "--log-level") == 0) {
            if ((level = pp_log_parse_level(v)) < 0)
                return cli_usage_error("pipeline", serve_usage, "bad --log-level '%s'", v);
        } else { /* the pipeline's flags: back on the flag, which may be a switch */
            i--;
            if ((ec = cli_pipeline_flag(&so.cfg, serve_usage, argc, argv, &i)) != PP_EXIT_OK)
                return ec;
        }
    }
    if (so.window_s < so.detect_every_s)
        return cli_usage_error("pipeline", serve_usage,
                               "--window %g is shorter than --every %g: the window must hold at "
                               "least one judgement",
                               so.window_s, so.detect_every_s);
    if (!node) {
        if (gethostname(host, sizeof host - 1) != 0 || !host[0])
            snprintf(host, sizeof host, "node");
        node = host;
    }
    pp_log_set_level(level);
    char path[4096], ferr[512];
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        return cli_output_error("pipeline", strerror(errno));
    snprintf(path, sizeof path, "%s/service.json", out);
    if (pp_file_out_check(path, 0, ferr, sizeof ferr) != PP_OK)
        return cli_output_error("pipeline", ferr);

    sigset_t set;
    cli_stop_block(&set);

    int exit_code = PP_EXIT_FAIL, rc;
    svc_ref ref = {.node = node};
    pp_sysstats *ss = NULL;
    pp_http_server *srv = NULL;
    posts_service *svc = NULL;
    char *report = NULL;
    pp_registry *reg = pp_metrics_default();
    pp_sysstats_config sc = {0};
    pp_http_config hc = {.listen = listen};
    if (!reg || pp_sysstats_start(&sc, &ss) != PP_OK ||
        pp_metrics_attach_sysstats(reg, ss) != PP_OK) {
        cli_error("pipeline", "cannot start the metrics collector");
        goto out;
    }
    hc.registry = reg;
    hc.sysstats = ss;
    if ((rc = pp_http_start(&hc, &srv)) != PP_OK) {
        cli_error("pipeline", "cannot listen on %s: %s", listen ? listen : PP_HTTP_DEFAULT_LISTEN,
                  rc == PP_EBUSY ? "the port is already in use (choose another with --listen)"
                                 : pp_strerror(rc));
        goto out;
    }
    if (pp_dashboard_attach(srv) != PP_OK ||
        pp_http_add_handler(srv, "/readyz", readyz, &ref) != PP_OK ||
        pp_http_add_handler(srv, "/api/service", api_service, &ref) != PP_OK) {
        cli_error("pipeline", "cannot serve the dashboard and /readyz");
        goto out;
    }
    printf("postprof pipeline: node %s listening on http://%s (dashboard at /; /metrics "
           "/healthz /readyz /api/snapshot /api/service)\n",
           node, pp_http_address(srv));
    fflush(stdout);
    so.registry = reg;
    if ((rc = posts_service_new(&so, &svc, &err)) != PP_OK) {
        cli_error("pipeline", "%s", err.msg[0] ? err.msg : pp_strerror(rc));
        goto out;
    }
    if (posts_service_start(svc) != PP_OK) {
        cli_error("pipeline", "cannot start the service's threads");
        goto out;
    }
    atomic_store(&ref.svc, svc);
    printf("postprof pipeline: serving feed requests (%s)\n", "ready");
    fflush(stdout);
    const char *why = cli_stop_wait(&set, duration);
    char what[4200];
    snprintf(what, sizeof what, "finishing the requests in flight, then writing %s", path);
    cli_stop_draining(&set, "pipeline", what);
    pp_log(PP_LOG_INFO, "pipeline", "draining", "cause", why, NULL);
    printf("postprof pipeline: stopping (%s): %s\n", why, what);
    fflush(stdout);
    atomic_store(&ref.draining, 1);
    posts_service_stop(svc);
    if ((rc = posts_service_report_json(svc, node, &report)) != PP_OK) {
        cli_error("pipeline", "cannot build the report: %s", pp_strerror(rc));
        goto out;
    }
    if (pp_file_write(path, report, strlen(report), ferr, sizeof ferr) != PP_OK) {
        exit_code = cli_output_error("pipeline", ferr);
        goto out;
    }
    posts_service_stats st;
    posts_service_stats_get(svc, &st);
    printf("stopped_by: %s\n", why);
    printf("requests: %llu\n", (unsigned long long)st.requests);
    printf("requests_per_s: %.1f\n", st.uptime_s > 0 ? (double)st.requests / st.uptime_s : 0.0);
    printf("request_errors: %llu\n", (unsigned long long)st.request_errors);
    printf("reloads: %llu\n", (unsigned long long)st.refreshes);
    printf("cache_hit_ratio: %.4f\n", cli_hit_ratio(st.cache_hits, st.cache_misses));
    printf("cache_errors: %llu\n", (unsigned long long)st.cache_errors);
    if (st.local_lru)
        printf("local_lru_hit_ratio: %.4f (an LRU of %llu entries on this node, same lookups)\n",
               cli_hit_ratio(st.local_lru_hits, st.local_lru_misses),
               (unsigned long long)st.local_lru_entries);
    if (st.gain_known)
        printf("shared_cache_gain: %+.4f (95%% CI %+.4f to %+.4f: %s)\n", st.gain, st.gain_lo,
               st.gain_hi, posts_service_gain_verdict(&st));
    printf("windows_judged: %llu\n", (unsigned long long)st.windows);
    printf("bottlenecks_found: %llu\n", (unsigned long long)st.findings);
    printf("report: %s\n", path);
    if (fflush(stdout) != 0) {
        exit_code = cli_stdout_error("pipeline", errno);
        goto out;
    }
    exit_code = PP_EXIT_OK;
out:
    pp_http_stop(srv);
    posts_service_free(svc);
    free(report);
    if (ss) {
        if (pp_metrics_attach_sysstats(reg, NULL) != PP_OK) {
            /* detaching cannot fail once attached */
        }
        pp_sysstats_stop(ss);
    }
    pp_metrics_default_free();
    return exit_code;
}
#endif /* PP_HAVE_POSTS: without it, `pipeline` says so before it gets here */
