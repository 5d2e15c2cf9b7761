/*
 * cmd_run.c - `postprof run`: the main job. Generates the LinkedIn-posts data
 * when it is missing, profiles the pipeline with the four profilers, runs the
 * experiments, finds bottlenecks, computes suggestions (and with --apply
 * applies and verifies them), prints the console report and writes
 * OUT/report.json atomically.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <postprof/clock.h>
#include <postprof/crash.h>
#include <postprof/file.h>
#include <postprof/postprof.h>
#include <postprof/profilers.h>
#include <postprof/report.h>
#include <posts/posts.h>

#include "cli.h"
#include "run/run.h"

static const char run_usage[] =
    "usage: postprof run [options] [pipeline flags]\n"
    "  --data DIR          data directory (default data; generated when missing)\n"
    "  --out DIR           where report.json goes (default out)\n"
    "  --posts N           posts to generate when the data is missing\n"
    "                      (default 100000, 20000 with --quick)\n"
    "  --config FILE       thresholds, targets and profile sizes (INI: [thresholds],\n"
    "                      [targets], [profile]; see docs/profilers.md)\n"
    "  --quick             smaller experiments (about 20 s); --config values override it\n"
    "  --measure-only      no knob experiments: the profiles only, for the CI gate\n"
    "                      (postprof compare; same as [profile] experiments = 0);\n"
    "                      run under `postprof take-turns`, each timed pass waits for\n"
    "                      its turn (docs/ci-gate.md)\n"
    "  --apply             apply the suggested settings, run again, and report the\n"
    "                      predicted and the measured improvement of each\n"
    "  --no-color          no ANSI colours (they are only used on a terminal anyway)\n"
    "  --serve             serve /metrics and /api/snapshot during the run\n"
    "  --listen HOST:PORT  address for --serve (default 127.0.0.1:9464; port 0 = any)\n"
    "  --explain           with --postgres URL: EXPLAIN ANALYZE of the database source's\n"
    "                      statement, into OUT/explain.txt\n"
    "pipeline flags: the knobs of `postprof pipeline` (see its --help), e.g.\n"
    "  --batch-size N --keep-alive 0|1 --concurrent-load --preprocess-threads N\n"
    "  --arena 0|1 --model small|medium|large --quantized --cache-entries N\n"
    "  --cache lru|none|redis://HOST:PORT --postgres URL\n"
    "The pipeline is profiled as deployed: unless flags say otherwise, with the\n"
    "settings of a first deployment (inference batch 8, sequential loading, no\n"
    "HTTP keep-alive, one malloc per token, a 1000-entry cache).\n";

/* The pipeline as a first deployment has it, before anyone tuned it. */
static void run_opts_init(run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = "data";
    o->out = "out";
    posts_prof_opts_init(&o->po);
    posts_config *pc = &o->po.base;
    pc->batch_size = 8;
    pc->concurrent_load = 0;
    pc->keep_alive = 0;
    pc->arena = 0;
    pc->preprocess_threads = 1;
    pc->cache_entries = 1000;
    pc->cache_bytes = 0;
}

/* A pipeline knob: --batch-size 16 sets batch_size; PP_EXIT_OK or a usage error. */
static int parse_knob(const char *a, const char *v, posts_config *pc)
{
    char name[64];
    size_t n = strlen(a + 2);
    if (n >= sizeof name)
        return cli_usage_error("run", run_usage, "unknown option '%s'", a);
    for (size_t k = 0; k <= n; k++)
        name[k] = a[2 + k] == '-' ? '_' : a[2 + k];
    if (!strcmp(name, "data") || !strcmp(name, "sources") || !strcmp(name, "limit"))
        return cli_usage_error("run", run_usage, "unknown option '%s'", a);
    posts_err perr = {{0}};
    int rc = posts_config_set(pc, name, v, &perr);
    if (rc == PP_ENOTFOUND)
        return cli_usage_error("run", run_usage, "unknown option '%s'", a);
    if (rc != PP_OK)
        return cli_usage_error("run", run_usage, "%s", perr.msg);
    return PP_EXIT_OK;
}

/* An option with a value; PP_EXIT_OK or a usage error. */
static int parse_valued(const char *a, const char *v, run_opts *o)
{
    if (!strcmp(a, "--data"))
        o->data = v;
    else if (!strcmp(a, "--out"))
        o->out = v;
    else if (!strcmp(a, "--config"))
        o->config_path = v;
    else if (!strcmp(a, "--listen"))
        o->listen = v;
    else if (cli_parse_count(v, &o->posts) != 0)
        return cli_usage_error("run", run_usage, "--posts '%s': expected 1..100000000", v);
    return PP_EXIT_OK;
}

/* The command line into *o; -1 when the run goes on, else the exit code (help, errors). */
static int parse_args(int argc, char **argv, run_opts *o)
{
    posts_config *pc = &o->po.base;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = PP_EXIT_OK;
        if (cli_is_help(a)) {
            fputs(run_usage, stdout);
            return PP_EXIT_OK;
        } else if (!strcmp(a, "--quick") || !strcmp(a, "--apply") || !strcmp(a, "--no-color") ||
                   !strcmp(a, "--serve") || !strcmp(a, "--explain") ||
                   !strcmp(a, "--measure-only")) {
            int *flag[] = {&o->quick, &o->apply,   &o->no_color,
                           &o->serve, &o->explain, &o->measure_only};
            const char *names[] = {"--quick", "--apply",   "--no-color",
                                   "--serve", "--explain", "--measure-only"};
            for (size_t k = 0; k < 6; k++)
                *flag[k] |= !strcmp(a, names[k]);
        } else if (strcmp(a, "--quantized") == 0) {
            pc->quantized = 1;
        } else if (strcmp(a, "--concurrent-load") == 0) {
            pc->concurrent_load = 1;
        } else if (!strcmp(a, "--data") || !strcmp(a, "--out") || !strcmp(a, "--config") ||
                   !strcmp(a, "--posts") || !strcmp(a, "--listen")) {
            if (!v)
                return cli_usage_error("run", run_usage, "option '%s' needs a value", a);
            rc = parse_valued(a, v, o);
            i++;
        } else if (strncmp(a, "--", 2) == 0 && a[2] && v) {
            rc = parse_knob(a, v, pc);
            i++;
        } else {
            return cli_usage_error("run", run_usage, "unknown option '%s'", a);
        }
        if (rc != PP_EXIT_OK)
            return rc;
    }
    if (o->explain && !pc->postgres_url[0])
        return cli_usage_error("run", run_usage, "--explain needs --postgres URL");
    return -1;
}

int cmd_run(int argc, char **argv)
{
    run_opts o;
    run_opts_init(&o);
    pp_config cfg;
    char err[512] = "";
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    /* configuration first: a bad file costs nothing */
    if ((rc = run_load_config(&o, &cfg)) != PP_EXIT_OK)
        return rc;
    if (run_check_out_dir(o.out, err, sizeof err) != 0) /* a bad --out, before any work */
        return cli_usage_error("run", NULL, "%s", err);
    if ((o.take_turns = cli_turns_join(err, sizeof err)) < 0)
        return cli_usage_error("run", NULL, "%s", err);
    int crash_rc = pp_crash_install(o.out); /* a help, not a condition: run without on failure */
    (void)crash_rc;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGPIPE, SIG_IGN);
    if ((rc = run_ensure_data(&o)) != PP_EXIT_OK)
        return rc;
    o.start_ns = pp_clock_now_ns(); /* the run's time limit counts from here */
    snprintf(o.po.base.data_dir, sizeof o.po.base.data_dir, "%s", o.data);
    o.po.on_phase = run_progress;
    o.po.user = &t0;

    posts_prof *prof = NULL;
    pp_report *r = NULL;
    pp_sysstats *ss = NULL;
    pp_http_server *srv = NULL;
    posts_err perr = {{0}};
    if ((rc = posts_prof_new(&o.po, &prof, &perr)) != PP_OK) {
        rc = cli_error("run", "%s", perr.msg[0] ? perr.msg : pp_strerror(rc));
        goto done;
    }
    if (o.serve && (rc = run_start_serving(&o, &ss, &srv)) != PP_EXIT_OK)
        goto done;
    if (!(r = pp_report_new())) {
        rc = cli_error("run", "out of memory");
        goto done;
    }
    if ((rc = run_profile(&o, &cfg, prof, r, argc, argv)) != PP_EXIT_OK)
        goto done;
    run_progress(&t0, "causal");
    run_causal(&o, posts_prof_workload(prof), r, argc, argv);
    run_progress(&t0, "report");
    if ((rc = run_write_reports(&o, r)) == PP_EXIT_OK && o.explain)
        rc = run_write_explain(&o, &cfg);
done:
    run_stop_serving(o.serve, ss, srv);
    pp_report_free(r);
    posts_prof_free(prof);
    return rc;
}
