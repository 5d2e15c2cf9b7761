/*
 * run_steps.c - The steps of `postprof run` (cmd_run.c says their order):
 * progress lines, the run's settings in the report, the output directory,
 * configuration, the data set, --serve, profiling, the reports, --explain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <postprof/file.h>
#include <postprof/postprof.h>
#include <posts/posts.h>

#include "cli.h"
#include "run/run.h"

/* "[  41.3s] experiments (cache took 3.7 s)": where the run's time goes */
void run_progress(void *user, const char *phase)
{
    static double last;
    static char prev[64];
    const struct timespec *t0 = user;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double s = (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
    if (prev[0])
        fprintf(stderr, "[%6.1fs] %s (%s took %.1f s)\n", s, phase, prev, s - last);
    else
        fprintf(stderr, "[%6.1fs] %s\n", s, phase);
    snprintf(prev, sizeof prev, "%s", phase);
    last = s;
    fflush(stderr);
}

static void datagen_progress(void *user, const char *stage, size_t done, size_t total)
{
    (void)user;
    if (isatty(2)) {
        fprintf(stderr, "\rgenerating data: %-6s %zu/%zu   ", stage, done, total);
        if (done == total)
            fputc('\n', stderr);
    } else if (done == total) {
        fprintf(stderr, "generating data: %s done (%zu)\n", stage, total);
    }
    fflush(stderr);
}

/* Bytes of DIR/name, 0 when missing. */
static long long file_bytes(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* What this run adds to the report's settings: the data set's size, --quick
 * and the pipeline flags given (the knobs the profilers read are there already). */
static void run_settings(pp_report *r, const char *data, int quick, int argc, char **argv)
{
    char v[64];
    snprintf(v, sizeof v, "%lld", file_bytes(data, "posts.db") + file_bytes(data, "posts.jsonl"));
    int rc = pp_report_setting_set(r, "data.bytes", v);
    rc |= pp_report_setting_set(r, "run.quick", quick ? "1" : "0");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !strcmp(a, "--data") || !strcmp(a, "--out") ||
            !strcmp(a, "--listen") || !strcmp(a, "--quick") || !strcmp(a, "--no-color") ||
            !strcmp(a, "--serve") || !strcmp(a, "--measure-only"))
            continue; /* --measure-only is profile.experiments */
        char name[PP_REPORT_NAME_MAX];
        snprintf(name, sizeof name, "run.%s", a + 2);
        for (char *c = name; *c; c++)
            *c = *c == '-' ? '_' : *c; /* the knob's name: --batch-size is run.batch_size */
        const char *val = "1";
        if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            val = argv[++i];
        rc |= pp_report_setting_set(r, name, val);
    }
    if (rc != PP_OK)
        fprintf(stderr, "postprof run: warning: some settings did not fit in the report\n");
}

static int file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static int data_present(const char *dir)
{
    return file_exists(dir, "posts.db") && file_exists(dir, "posts.jsonl") &&
           file_exists(dir, posts_model_file(POSTS_MODEL_SMALL)) &&
           file_exists(dir, posts_model_file(POSTS_MODEL_MEDIUM)) &&
           file_exists(dir, posts_model_file(POSTS_MODEL_LARGE));
}

/* mkdir -p; 0 or errno */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return errno;
    return 0;
}

int run_check_out_dir(const char *dir, char *err, size_t cap)
{
    int e = make_dirs(dir);
    if (e) {
        snprintf(err, cap, "cannot create output directory %s: %s", dir, strerror(e));
        return -1;
    }
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/report.json", dir);
    return pp_file_out_check(probe, 0, err, cap) == PP_OK ? 0 : -1;
}

int run_load_config(run_opts *o, pp_config *cfg)
{
    pp_config_defaults(cfg);
    pp_profiler_cfg *p = &cfg->profile;
    if (o->quick) { /* smaller experiments, same questions; --config's [profile] still wins */
        pp_config_quick(cfg);
        /* a fifth of the default pass's posts, an eighth of its requests:
         * the experiments' rounds are most of a run and a candidate needs a
         * fixed number of pairs (with 600 and 250 they took 31 of 35 s at
         * load 15-20) */
        o->po.pass_posts_per_source = 300;
        o->po.pass_requests = 125;
    }
    char err[512] = "";
    int line = 0;
    if (o->config_path && pp_config_load(cfg, o->config_path, err, sizeof err, &line) != PP_OK) {
        if (line > 0)
            fprintf(stderr, "postprof run: %s:%d: %s\n", o->config_path, line, err);
        else
            fprintf(stderr, "postprof run: %s: %s\n", o->config_path, err);
        return PP_EXIT_USAGE;
    }
    if (o->measure_only)
        p->experiments = 0;
    if (o->apply && !p->experiments)
        return cli_usage_error("run", NULL, "--apply needs the experiments (drop --measure-only)");
    o->po.load_batch = (int)p->load_batch;
    o->run_budget_s = p->run_budget_s;
    return PP_EXIT_OK;
}

int run_ensure_data(const run_opts *o)
{
    if (data_present(o->data))
        return PP_EXIT_OK;
    posts_datagen_opts dg;
    posts_datagen_opts_init(&dg);
    dg.posts = o->posts ? o->posts : o->quick ? 20000 : 100000;
    dg.out_dir = o->data;
    dg.progress = datagen_progress;
    posts_datagen_result dr;
    posts_err perr = {{0}};
    fprintf(stderr, "postprof run: no data in %s: generating %zu posts\n", o->data, dg.posts);
    int rc = posts_datagen_run(&dg, &dr, &perr);
    if (rc != PP_OK)
        return cli_error("run", "generating data into %s: %s", o->data,
                         perr.msg[0] ? perr.msg : pp_strerror(rc));
    fprintf(stderr, "postprof run: models trained: auc small %.3f, medium %.3f, large %.3f\n",
            dr.auc[0], dr.auc[1], dr.auc[2]);
    return PP_EXIT_OK;
}

int run_start_serving(const run_opts *o, pp_sysstats **ss, pp_http_server **srv)
{
    pp_registry *reg = pp_metrics_default();
    pp_sysstats_config sc = {0};
    if (!reg || pp_sysstats_start(&sc, ss) != PP_OK ||
        pp_metrics_attach_sysstats(reg, *ss) != PP_OK)
        return cli_error("run", "cannot start the metrics collector");
    pp_http_config hc = {.listen = o->listen, .registry = reg, .sysstats = *ss};
    int rc = pp_http_start(&hc, srv);
    if (rc != PP_OK)
        return cli_error(
            "run", "cannot listen on %s: %s", o->listen ? o->listen : PP_HTTP_DEFAULT_LISTEN,
            rc == PP_EBUSY ? "the port is already in use (choose another with --listen)"
                           : pp_strerror(rc));
    if (pp_dashboard_attach(*srv) != PP_OK)
        return cli_error("run", "cannot serve the dashboard");
    fprintf(stderr,
            "postprof run: live dashboard at http://%s/ (also /metrics and /api/snapshot)\n",
            pp_http_address(*srv));
    return PP_EXIT_OK;
}

void run_stop_serving(int serve, pp_sysstats *ss, pp_http_server *srv)
{
    pp_http_stop(srv);
    if (ss) {
        if (pp_metrics_attach_sysstats(pp_metrics_default(), NULL) != PP_OK) {
            /* detaching cannot fail once attached */
        }
        pp_sysstats_stop(ss);
    }
    if (serve)
        pp_metrics_default_free();
}

/* The reports written after the causal phase (JSON and HTML: well under a second). */
#define RUN_REPORT_S 1.0
/* --apply's windows before and after its measurements (0.5 to 3.3 s each on 2 cores). */
#define RUN_APPLY_WINDOWS_S 5.0

uint64_t run_end_ns(const run_opts *o, double reserve_s)
{
    double left = o->run_budget_s - RUN_REPORT_S - reserve_s;
    if (!(o->run_budget_s > 0))
        return 0;
    return o->start_ns + (uint64_t)(left > 0 ? left * 1e9 : 0.0);
}

int run_profile(const run_opts *o, const pp_config *cfg_in, posts_prof *prof, pp_report *r,
                int argc, char **argv)
{
    /* the run's time limit: the causal phase keeps its fewest seconds,
     * --apply its budget and a half (its stretch) and its windows; the
     * experiments stop by what is left */
    pp_config copy = *cfg_in;
    const pp_config *cfg = &copy;
    double causal = o->quick ? RUN_CAUSAL_QUICK_MIN_S : RUN_CAUSAL_MIN_S;
    double apply = o->apply ? 1.5 * cfg_in->profile.apply_budget_s + RUN_APPLY_WINDOWS_S : 0.0;
    copy.profile.experiments_end_ns = run_end_ns(o, causal + apply);
    copy.profile.apply_end_ns = run_end_ns(o, causal + RUN_APPLY_WINDOWS_S / 2);
    const pp_workload *w = posts_prof_workload(prof);
    pp_workload turns;
    if (o->take_turns) { /* under postprof take-turns: each timed pass waits for its turn */
        turns = *w;
        turns.before_pass = cli_turns_before_pass;
        w = &turns;
    }
    int rc = pp_profiler_run(w, cfg, r);
    if (rc != PP_OK)
        return cli_error("run", "profiling failed: %s", pp_strerror(rc));
    run_settings(r, o->data, o->quick, argc, argv);
    if (o->apply && (rc = pp_profiler_apply(w, cfg, r)) != PP_OK)
        return cli_error("run", "applying the suggestions failed: %s", pp_strerror(rc));
    return PP_EXIT_OK;
}

int run_write_reports(const run_opts *o, const pp_report *r)
{
    int rc = pp_report_print_console(r, stdout, isatty(1) && !o->no_color ? PP_CONSOLE_COLOR : 0);
    if (rc != PP_OK)
        return cli_error("run", "cannot print the report: %s", pp_strerror(rc));
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/report.json", o->out);
    if ((rc = pp_report_write_json(r, path, err, sizeof err)) != PP_OK)
        return cli_output_error("run", err[0] ? err : pp_strerror(rc));
    fprintf(stderr, "postprof run: wrote %s\n", path);
    snprintf(path, sizeof path, "%s/report.html", o->out);
    if ((rc = pp_report_write_html(r, NULL, path, err, sizeof err)) != PP_OK)
        return cli_output_error("run", err[0] ? err : pp_strerror(rc));
    fprintf(stderr, "postprof run: wrote %s\n", path);
    return PP_EXIT_OK;
}

int run_write_explain(const run_opts *o, const pp_config *cfg)
{
    char *plan = NULL, path[4096], err[512] = "";
    posts_err perr = {{0}};
    if (posts_pg_explain(o->po.base.postgres_url, (size_t)cfg->profile.load_batch, &plan, &perr) !=
        PP_OK)
        return cli_error("run", "EXPLAIN ANALYZE failed: %s", perr.msg);
    snprintf(path, sizeof path, "%s/explain.txt", o->out);
    int rc = pp_file_write(path, plan, strlen(plan), err, sizeof err);
    if (rc == PP_OK)
        printf("\nEXPLAIN ANALYZE (database source, batch %u):\n%s", cfg->profile.load_batch, plan);
    free(plan);
    if (rc != PP_OK)
        return cli_output_error("run", err);
    fprintf(stderr, "postprof run: wrote %s\n", path);
    return PP_EXIT_OK;
}
