/*
 * cmd_causal.c - `postprof causal -- CMD [ARGS]`: causal profiling of a
 * program linked with libpostprof (docs/causal.md). Runs CMD (again, while
 * time is left and it exits) with the experiment controller switched on,
 * reads back its experiments, and writes causal.json plus a console ranking.
 * Exit 0 done, 1 no usable experiment, 2 usage error, 125 output not written.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "causal.h"
#include "cli.h"

static const char causal_usage[] =
    "usage: postprof causal [-o FILE] [--speedups LIST] [--sites A,B] [--progress NAME]\n"
    "                       [--duration S] [--experiment-ms N] [--precision P] [--preload]\n"
    "                       [--keep-cpus-awake] -- CMD [ARGS]\n"
    "  CMD            a program linked with libpostprof that marks its useful work with\n"
    "                 PP_PROGRESS(\"name\") and its stages with PP_SCOPE(\"name\")\n"
    "  --preload      CMD is not linked with libpostprof but built with\n"
    "                 -finstrument-functions: its functions are the scopes, and\n"
    "                 --progress FUNCTION names the function whose every return is one\n"
    "                 unit of work\n"
    "  -o FILE        the results (default causal.json)\n"
    "  --speedups L   virtual speedups in percent (default 0,10,25,50; baselines at 0 always)\n"
    "  --sites A,B    only these scopes (default: every scope the program runs)\n"
    "  --progress N   the progress point to measure (default: the first one reached)\n"
    "  --duration S   seconds of experiments in all (default 60); CMD is run again while\n"
    "                 time is left and it exits, and stopped (SIGTERM) when time is up\n"
    "  --experiment-ms N  length of one experiment (default 200)\n"
    "  --precision P  stop early once every gain's 95 % interval is within +-P points\n"
    "                 over at least 10 experiments (default 2)\n"
    "  --keep-cpus-awake  keep every CPU busy at the idle priority (SCHED_IDLE) while CMD\n"
    "                 runs: on a virtual machine an idle CPU can wake milliseconds late, and\n"
    "                 the experiments' pauses idle the CPUs more than their baselines do\n"
    "Each experiment slows every other thread by s x the time spent in one scope, as if\n"
    "that scope were s faster; gain = the share of time per progress point saved.\n"
    "exit status: 0 done, 1 no usable experiment, 2 usage error, 125 output not written\n";

typedef struct opts {
    const char *out, *speedups, *sites, *progress;
    double duration, precision;
    long exp_ms;
    int preload, keep_awake;
    char **cmd;
} opts;

static void print_gain(double g)
{
    if (isfinite(g))
        printf("%+6.1f%%", 100 * g);
    else
        printf("   open");
}

static void print_ranking(const pp_causal_result *r, size_t nexp, int runs)
{
    printf("causal profile: progress point \"%s\", %zu experiments (%zu baselines) over %d "
           "run%s; baseline %.3f ms per point\n",
           r->progress, nexp, r->baselines, runs, runs == 1 ? "" : "s", r->baseline_ns / 1e6);
    printf("ranked by the gain per unit of speedup (slope):\n");
    for (size_t i = 0; i < r->nsites; i++) {
        const pp_causal_site *s = &r->sites[i];
        printf("  %-24s slope %+5.2f\n", s->name, s->slope);
        for (size_t k = 0; k < s->npoints; k++) {
            const pp_causal_point *p = &s->points[k];
            printf("    %3.0f%% faster -> ", 100 * p->speedup);
            print_gain(p->gain);
            printf(" less time per point [95%%: ");
            print_gain(p->gain_low);
            printf(", ");
            print_gain(p->gain_high);
            printf("], %zu experiments%s\n", p->experiments,
                   !isfinite(p->gain_low) || !isfinite(p->gain_high) ? " (too few for an interval)"
                   : p->gain_low <= 0 && p->gain_high >= 0           ? ", no significant change"
                                                                     : "");
        }
    }
}

static int parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){"causal.json", "0,10,25,50", NULL, NULL, 60, 0.02, 200, 0, 0, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(causal_usage, stdout);
            return 1;
        } else if (strcmp(a, "--") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("causal", causal_usage, "no command after --");
            o->cmd = argv + i + 1;
            return 0;
        } else if (strcmp(a, "--preload") == 0) {
            o->preload = 1;
            continue;
        } else if (strcmp(a, "--keep-cpus-awake") == 0) {
            o->keep_awake = 1;
            continue;
        } else if (!v && a[0] == '-') {
            return cli_usage_error("causal", causal_usage, "%s needs a value", a);
        } else if (strcmp(a, "-o") == 0) {
            o->out = v;
        } else if (strcmp(a, "--speedups") == 0) {
            o->speedups = v;
        } else if (strcmp(a, "--sites") == 0) {
            o->sites = v;
        } else if (strcmp(a, "--progress") == 0) {
            o->progress = v;
        } else if (strcmp(a, "--duration") == 0 || strcmp(a, "--precision") == 0) {
            char *end;
            double d = strtod(v, &end);
            int dur = a[2] == 'd';
            if (*end || !(d > 0) || d > (dur ? 86400 : 50))
                return cli_usage_error("causal", causal_usage, "%s needs a number in (0, %s]", a,
                                       dur ? "86400] seconds" : "50] points");
            if (dur)
                o->duration = d;
            else
                o->precision = d / 100;
        } else if (strcmp(a, "--experiment-ms") == 0) {
            size_t n;
            if (cli_parse_count(v, &n) != 0 || n > 60000)
                return cli_usage_error("causal", causal_usage,
                                       "--experiment-ms needs a count of 1-60000 ms");
            o->exp_ms = (long)n;
        } else {
            return cli_usage_error("causal", causal_usage, "unknown option '%s'", a);
        }
        i++;
    }
    return cli_usage_error("causal", causal_usage, "needs a command: -- CMD [ARGS]");
}

static int speedups_valid(const char *s)
{
    int any = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !(v >= 0 && v <= 100) || (*end && *end != ','))
            return 0;
        any |= v > 0;
        s = *end ? end + 1 : end;
    }
    return any;
}

int cmd_causal(int argc, char **argv)
{
    opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc == 1 ? PP_EXIT_OK : rc;
    if (!speedups_valid(o.speedups))
        return cli_usage_error("causal", causal_usage,
                               "--speedups needs percentages 0-100, at least one above 0: '%s'",
                               o.speedups);
    char err[512] = "";
    if (pp_file_out_check(o.out, 0, err, sizeof err) != PP_OK)
        return cli_output_error("causal", err);
    if (o.preload && !o.progress)
        return cli_usage_error("causal", causal_usage,
                               "--preload needs --progress FUNCTION (the program has no "
                               "PP_PROGRESS: each return from FUNCTION is one unit of work)");
    char lib[PATH_MAX];
    if (o.preload && cli_find_library("POSTPROF_CAUSAL_PRELOAD", "libpostprof_causal_preload.so",
                                      lib, sizeof lib) != 0)
        return cli_error("causal", "--preload: libpostprof_causal_preload.so not found (set "
                                   "POSTPROF_CAUSAL_PRELOAD)");
    cli_causal_opts so = {.tag = "causal",
                          .speedups = o.speedups,
                          .sites = o.sites,
                          .progress = o.progress,
                          .duration = o.duration,
                          .precision = o.precision,
                          .exp_ms = o.exp_ms,
                          .preload = o.preload ? lib : NULL,
                          .cmd = o.cmd,
                          .keep_awake = o.keep_awake};
    cli_causal_out res;
    int code = cli_causal_session(&so, &res);
    if (code != PP_EXIT_OK) {
        cli_error("causal", "%s", res.why);
        return code;
    }
    if (pp_causal_json_write(res.res, o.out, err, sizeof err) != PP_OK) {
        code = cli_output_error("causal", err);
        goto out;
    }
    print_ranking(res.res, res.experiments, res.runs);
    printf("written: %s\n", o.out);
    code = fflush(stdout) == 0 ? PP_EXIT_OK : cli_stdout_error("causal", errno);
out:
    pp_causal_result_free(res.res);
    return code;
}
