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

#include <postprof/crash.h>
#include <postprof/file.h>
#include <postprof/postprof.h>
#include <postprof/profilers.h>
#include <postprof/report.h>
#include <posts/posts.h>

#include "cli.h"

static const char run_usage[] =
    "usage: postprof run [options] [pipeline flags]\n"
    "  --data DIR          data directory (default data; generated when missing)\n"
    "  --out DIR           where report.json goes (default out)\n"
    "  --posts N           posts to generate when the data is missing\n"
    "                      (default 100000, 20000 with --quick)\n"
    "  --config FILE       thresholds, targets and profile sizes (INI: [thresholds],\n"
    "                      [targets], [profile]; see docs/profilers.md)\n"
    "  --quick             smaller experiments (about 20 s); --config values override it\n"
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

static void progress_phase(void *user, const char *phase)
{
    const struct timespec *t0 = user;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double s = (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
    fprintf(stderr, "[%6.1fs] %s\n", s, phase);
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
            !strcmp(a, "--serve"))
            continue;
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

/* The output directory exists (or is created) and a file can be written in it. */
static int check_out_dir(const char *dir, char *err, size_t cap)
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

int cmd_run(int argc, char **argv)
{
    const char *data = "data", *out = "out", *config_path = NULL, *listen = NULL;
    size_t posts = 0;
    int quick = 0, apply = 0, no_color = 0, serve = 0, explain = 0;
    posts_prof_opts po;
    posts_prof_opts_init(&po);
    posts_config *pc = &po.base;
    /* a first deployment of the pipeline, before anyone tuned it */
    pc->batch_size = 8;
    pc->concurrent_load = 0;
    pc->keep_alive = 0;
    pc->arena = 0;
    pc->preprocess_threads = 1;
    pc->cache_entries = 1000;
    pc->cache_bytes = 0;
    posts_err perr = {{0}};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(run_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(a, "--quick") == 0) {
            quick = 1;
        } else if (strcmp(a, "--apply") == 0) {
            apply = 1;
        } else if (strcmp(a, "--no-color") == 0) {
            no_color = 1;
        } else if (strcmp(a, "--serve") == 0) {
            serve = 1;
        } else if (strcmp(a, "--explain") == 0) {
            explain = 1;
        } else if (strcmp(a, "--quantized") == 0) {
            pc->quantized = 1;
        } else if (strcmp(a, "--concurrent-load") == 0) {
            pc->concurrent_load = 1;
        } else if (!strcmp(a, "--data") || !strcmp(a, "--out") || !strcmp(a, "--config") ||
                   !strcmp(a, "--posts") || !strcmp(a, "--listen")) {
            if (!v)
                return cli_usage_error("run", run_usage, "option '%s' needs a value", a);
            i++;
            if (!strcmp(a, "--data"))
                data = v;
            else if (!strcmp(a, "--out"))
                out = v;
            else if (!strcmp(a, "--config"))
                config_path = v;
            else if (!strcmp(a, "--listen"))
                listen = v;
            else if (cli_parse_count(v, &posts) != 0)
                return cli_usage_error("run", run_usage, "--posts '%s': expected 1..100000000", v);
        } else if (strncmp(a, "--", 2) == 0 && a[2] && v) {
            /* a pipeline knob: --batch-size 16 -> batch_size */
            char name[64];
            size_t n = strlen(a + 2);
            if (n >= sizeof name)
                return cli_usage_error("run", run_usage, "unknown option '%s'", a);
            for (size_t k = 0; k <= n; k++)
                name[k] = a[2 + k] == '-' ? '_' : a[2 + k];
            if (!strcmp(name, "data") || !strcmp(name, "sources") || !strcmp(name, "limit"))
                return cli_usage_error("run", run_usage, "unknown option '%s'", a);
            int rc = posts_config_set(pc, name, v, &perr);
            if (rc == PP_ENOTFOUND)
                return cli_usage_error("run", run_usage, "unknown option '%s'", a);
            if (rc != PP_OK)
                return cli_usage_error("run", run_usage, "%s", perr.msg);
            i++;
        } else {
            return cli_usage_error("run", run_usage, "unknown option '%s'", a);
        }
    }

    if (explain && !pc->postgres_url[0])
        return cli_usage_error("run", run_usage, "--explain needs --postgres URL");
    /* configuration first: a bad file costs nothing */
    pp_config cfg;
    pp_config_defaults(&cfg);
    if (quick) {
        /* smaller experiments, same questions; a --config file's [profile] still wins */
        cfg.profile.load_batches = cfg.profile.load_batches > 6 ? 6 : cfg.profile.load_batches;
        cfg.profile.repeats = cfg.profile.repeats > 5 ? 5 : cfg.profile.repeats;
        cfg.profile.passes = cfg.profile.passes > 2 ? 2 : cfg.profile.passes;
        cfg.profile.sweep_batches = cfg.profile.sweep_batches > 3 ? 3 : cfg.profile.sweep_batches;
        /* experiments and --apply: the fewest pairs, a short budget for more */
        cfg.profile.experiment_budget_s =
            cfg.profile.experiment_budget_s > 3 ? 3 : cfg.profile.experiment_budget_s;
        cfg.profile.apply_budget_s =
            cfg.profile.apply_budget_s > 3 ? 3 : cfg.profile.apply_budget_s;
        cfg.profile.max_pairs = cfg.profile.max_pairs > 16 ? 16 : cfg.profile.max_pairs;
        po.pass_posts_per_source = 1000;
        po.pass_requests = 400;
    }
    char err[512] = "";
    if (config_path) {
        int line = 0;
        int rc = pp_config_load(&cfg, config_path, err, sizeof err, &line);
        if (rc != PP_OK) {
            if (line > 0)
                fprintf(stderr, "postprof run: %s:%d: %s\n", config_path, line, err);
            else
                fprintf(stderr, "postprof run: %s: %s\n", config_path, err);
            return PP_EXIT_USAGE;
        }
    }
    if (check_out_dir(out, err, sizeof err) != 0) /* a bad --out, before any work */
        return cli_usage_error("run", NULL, "%s", err);
    int crash_rc = pp_crash_install(out); /* a help, not a condition: run without on failure */
    (void)crash_rc;
    po.load_batch = (int)cfg.profile.load_batch;

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGPIPE, SIG_IGN);

    if (!data_present(data)) {
        posts_datagen_opts dg;
        posts_datagen_opts_init(&dg);
        dg.posts = posts ? posts : quick ? 20000 : 100000;
        dg.out_dir = data;
        dg.progress = datagen_progress;
        posts_datagen_result dr;
        fprintf(stderr, "postprof run: no data in %s: generating %zu posts\n", data, dg.posts);
        int rc = posts_datagen_run(&dg, &dr, &perr);
        if (rc != PP_OK)
            return cli_error("run", "generating data into %s: %s", data,
                             perr.msg[0] ? perr.msg : pp_strerror(rc));
        fprintf(stderr, "postprof run: models trained: auc small %.3f, medium %.3f, large %.3f\n",
                dr.auc[0], dr.auc[1], dr.auc[2]);
    }
    snprintf(pc->data_dir, sizeof pc->data_dir, "%s", data);
    po.on_phase = progress_phase;
    po.user = &t0;

    int exit_code = PP_EXIT_FAIL;
    posts_prof *prof = NULL;
    pp_report *r = NULL;
    pp_sysstats *ss = NULL;
    pp_http_server *srv = NULL;
    int rc = posts_prof_new(&po, &prof, &perr);
    if (rc != PP_OK) {
        cli_error("run", "%s", perr.msg[0] ? perr.msg : pp_strerror(rc));
        goto done;
    }
    if (serve) {
        pp_registry *reg = pp_metrics_default();
        pp_sysstats_config sc = {0};
        pp_http_config hc = {0};
        if (!reg || pp_sysstats_start(&sc, &ss) != PP_OK ||
            pp_metrics_attach_sysstats(reg, ss) != PP_OK) {
            cli_error("run", "cannot start the metrics collector");
            goto done;
        }
        hc.listen = listen;
        hc.registry = reg;
        hc.sysstats = ss;
        rc = pp_http_start(&hc, &srv);
        if (rc != PP_OK) {
            cli_error("run", "cannot listen on %s: %s", listen ? listen : PP_HTTP_DEFAULT_LISTEN,
                      rc == PP_EBUSY ? "the port is already in use (choose another with --listen)"
                                     : pp_strerror(rc));
            goto done;
        }
        if (pp_dashboard_attach(srv) != PP_OK) {
            cli_error("run", "cannot serve the dashboard");
            goto done;
        }
        fprintf(stderr,
                "postprof run: live dashboard at http://%s/ (also /metrics and /api/snapshot)\n",
                pp_http_address(srv));
    }
    r = pp_report_new();
    if (!r) {
        cli_error("run", "out of memory");
        goto done;
    }
    const pp_workload *w = posts_prof_workload(prof);
    rc = pp_profiler_run(w, &cfg, r);
    if (rc != PP_OK) {
        cli_error("run", "profiling failed: %s", pp_strerror(rc));
        goto done;
    }
    run_settings(r, data, quick, argc, argv);
    if (apply && (rc = pp_profiler_apply(w, &cfg, r)) != PP_OK) {
        cli_error("run", "applying the suggestions failed: %s", pp_strerror(rc));
        goto done;
    }
    progress_phase(&t0, "report");
    rc = pp_report_print_console(r, stdout, isatty(1) && !no_color ? PP_CONSOLE_COLOR : 0);
    if (rc != PP_OK) {
        cli_error("run", "cannot print the report: %s", pp_strerror(rc));
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/report.json", out);
    rc = pp_report_write_json(r, path, err, sizeof err);
    if (rc != PP_OK) {
        exit_code = cli_output_error("run", err[0] ? err : pp_strerror(rc));
        goto done;
    }
    fprintf(stderr, "postprof run: wrote %s\n", path);
    snprintf(path, sizeof path, "%s/report.html", out);
    rc = pp_report_write_html(r, NULL, path, err, sizeof err);
    if (rc != PP_OK) {
        exit_code = cli_output_error("run", err[0] ? err : pp_strerror(rc));
        goto done;
    }
    fprintf(stderr, "postprof run: wrote %s\n", path);
    if (explain) {
        char *plan = NULL;
        rc = posts_pg_explain(pc->postgres_url, (size_t)cfg.profile.load_batch, &plan, &perr);
        if (rc != PP_OK) {
            cli_error("run", "EXPLAIN ANALYZE failed: %s", perr.msg);
            goto done;
        }
        snprintf(path, sizeof path, "%s/explain.txt", out);
        if (pp_file_write(path, plan, strlen(plan), err, sizeof err) != PP_OK) {
            free(plan);
            exit_code = cli_output_error("run", err);
            goto done;
        }
        printf("\nEXPLAIN ANALYZE (database source, batch %u):\n%s", cfg.profile.load_batch, plan);
        free(plan);
        fprintf(stderr, "postprof run: wrote %s\n", path);
    }
    exit_code = PP_EXIT_OK;
done:
    pp_http_stop(srv);
    if (ss) {
        if (pp_metrics_attach_sysstats(pp_metrics_default(), NULL) != PP_OK) {
            /* detaching cannot fail once attached */
        }
        pp_sysstats_stop(ss);
    }
    if (serve)
        pp_metrics_default_free();
    pp_report_free(r);
    posts_prof_free(prof);
    return exit_code;
}
