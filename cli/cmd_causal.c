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

#include "cli.h"

static const char causal_usage[] =
    "usage: postprof causal [-o FILE] [--speedups LIST] [--sites A,B] [--progress NAME]\n"
    "                       [--duration S] [--experiment-ms N] [--precision P] -- CMD [ARGS]\n"
    "  CMD            a program linked with libpostprof that marks its useful work with\n"
    "                 PP_PROGRESS(\"name\") and its stages with PP_SCOPE(\"name\")\n"
    "  -o FILE        the results (default causal.json)\n"
    "  --speedups L   virtual speedups in percent (default 0,10,25,50; baselines at 0 always)\n"
    "  --sites A,B    only these scopes (default: every scope the program runs)\n"
    "  --progress N   the progress point to measure (default: the first one reached)\n"
    "  --duration S   seconds of experiments in all (default 60); CMD is run again while\n"
    "                 time is left and it exits, and stopped (SIGTERM) when time is up\n"
    "  --experiment-ms N  length of one experiment (default 200)\n"
    "  --precision P  stop early once every gain's 95 % interval is within +-P points\n"
    "                 over at least 10 experiments (default 2)\n"
    "Each experiment slows every other thread by s x the time spent in one scope, as if\n"
    "that scope were s faster; gain = the share of time per progress point saved.\n"
    "exit status: 0 done, 1 no usable experiment, 2 usage error, 125 output not written\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct opts {
    const char *out, *speedups, *sites, *progress;
    double duration, precision;
    long exp_ms;
    char **cmd;
} opts;

static pid_t start(const opts *o, const char *dir, const char *shim)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char ms[32];
    snprintf(ms, sizeof ms, "%ld", o->exp_ms);
    setenv("POSTPROF_CAUSAL_DIR", dir, 1);
    setenv("POSTPROF_CAUSAL_SPEEDUPS", o->speedups, 1);
    setenv("POSTPROF_CAUSAL_EXPERIMENT_MS", ms, 1);
    if (o->sites)
        setenv("POSTPROF_CAUSAL_SITES", o->sites, 1);
    if (o->progress)
        setenv("POSTPROF_CAUSAL_PROGRESS", o->progress, 1);
    if (shim) {
        const char *old = getenv("LD_PRELOAD");
        char ld[2 * PATH_MAX];
        snprintf(ld, sizeof ld, "%s%s%s", shim, old && *old ? ":" : "", old ? old : "");
        setenv("LD_PRELOAD", ld, 1);
    }
    execvp(o->cmd[0], o->cmd);
    fprintf(stderr, "postprof causal: cannot run %s: %s\n", o->cmd[0], strerror(errno));
    _exit(127);
}

/* One run's log (DIR/PID.causal), NULL when there is none (the program never
 * reached its first scope). final: print its notes, remove the file. */
static char *take_log(const char *dir, pid_t pid, int final, size_t *len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%d.causal", dir, (int)pid);
    char *text = NULL;
    if (pp_file_read(path, (size_t)1 << 28, &text, len, NULL, 0) != PP_OK)
        return NULL;
    if (final) {
        for (char *p = strstr(text, "\nnote "); p; p = strstr(p + 1, "\nnote "))
            fprintf(stderr, "postprof causal: %.*s\n", (int)strcspn(p + 6, "\n"), p + 6);
        for (char *p = strstr(text, "\nerror "); p; p = strstr(p + 1, "\nerror "))
            fprintf(stderr, "postprof causal: %.*s\n", (int)strcspn(p + 7, "\n"), p + 7);
        unlink(path);
    }
    return text;
}

typedef struct logs {
    char **text;
    size_t *len;
    size_t n;
} logs;

/* Every finished run's log, plus extra (the running one's so far, may be NULL). */
static pp_causal_log *parse_all(const logs *l, const char *extra, size_t extra_len, int verbose)
{
    pp_causal_log *all = pp_causal_log_new();
    for (size_t i = 0; all && i <= l->n; i++) {
        const char *t = i < l->n ? l->text[i] : extra;
        size_t len = i < l->n ? l->len[i] : extra_len, skipped = 0;
        char err[256] = "";
        if (!t)
            continue;
        int rc = pp_causal_log_parse(all, t, len, &skipped, err, sizeof err);
        if (rc == PP_ENOMEM) {
            pp_causal_log_free(all);
            return NULL;
        }
        if (verbose && (rc != PP_OK || skipped))
            fprintf(stderr, "postprof causal: run %zu's experiment log: %s%s\n", i + 1,
                    rc != PP_OK ? "" : "lines skipped: ", err);
    }
    return all;
}

/* The fewest experiments per point before a run may stop early: an interval
 * over a handful of pairs that happens to be narrow is no reason to stop
 * (stopping on it would favour the runs whose first pairs agreed by chance). */
#define MIN_STOP_EXPERIMENTS 10

static int narrow_enough(const logs *l, const char *extra, size_t extra_len, double precision)
{
    pp_causal_log *all = parse_all(l, extra, extra_len, 0);
    pp_causal_result *r = NULL;
    double widest = INFINITY;
    int ok = all && pp_causal_analyze(all, &r, &widest) == PP_OK && widest <= precision;
    for (size_t i = 0; ok && i < r->nsites; i++)
        for (size_t k = 0; k < r->sites[i].npoints; k++)
            ok &= r->sites[i].points[k].experiments >= MIN_STOP_EXPERIMENTS;
    pp_causal_result_free(r);
    pp_causal_log_free(all);
    return ok;
}

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
    *o = (opts){"causal.json", "0,10,25,50", NULL, NULL, 60, 0.02, 200, NULL};
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
    char shim[PATH_MAX];
    const char *shim_path =
        cli_find_library("POSTPROF_CAUSAL_SHIM", "libpostprof_causal.so", shim, sizeof shim) == 0
            ? shim
            : NULL;
    if (!shim_path)
        fprintf(stderr, "postprof causal: libpostprof_causal.so not found (set "
                        "POSTPROF_CAUSAL_SHIM): threads that wait on others are delayed too\n");
    char dir[] = "/tmp/postprof-causal-XXXXXX";
    if (!mkdtemp(dir))
        return cli_error("causal", "cannot make a temporary directory: %s", strerror(errno));
    logs l = {NULL, NULL, 0};
    pp_causal_log *all = NULL;
    pp_causal_result *res = NULL;
    int code = PP_EXIT_FAIL, runs = 0, unrunnable = 0;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double deadline = now_s() + o.duration;
    int done = 0;
    while (!done && !interrupted && now_s() < deadline) {
        char **nt = realloc(l.text, (l.n + 1) * sizeof *nt);
        if (nt)
            l.text = nt;
        size_t *nl = realloc(l.len, (l.n + 1) * sizeof *nl);
        if (nl)
            l.len = nl;
        if (!nt || !nl)
            break;
        fflush(NULL);
        pid_t pid = start(&o, dir, shim_path);
        if (pid < 0) {
            cli_error("causal", "cannot start %s: %s", o.cmd[0], strerror(errno));
            break;
        }
        runs++;
        double next_check = now_s() + 1, term_at = 0;
        int status = 0;
        for (;;) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid || (w < 0 && errno != EINTR))
                break;
            double t = now_s();
            if (!term_at && (interrupted || t >= deadline)) {
                kill(pid, SIGTERM);
                term_at = t;
            } else if (!term_at && t >= next_check) {
                size_t len = 0;
                char *cur = take_log(dir, pid, 0, &len);
                if (cur && narrow_enough(&l, cur, len, o.precision)) {
                    kill(pid, SIGTERM);
                    term_at = t;
                    done = 1;
                }
                free(cur);
                next_check = now_s() + 1;
            } else if (term_at && t - term_at > 3) {
                kill(pid, SIGKILL);
            }
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
        l.text[l.n] = take_log(dir, pid, 1, &l.len[l.n]);
        if (!l.text[l.n]) {
            /* it never reached a scope: running it again will not either */
            unrunnable = !term_at && WIFEXITED(status) && WEXITSTATUS(status) == 127 ? 1 : 2;
            break;
        }
        l.n++;
        if (!done && narrow_enough(&l, NULL, 0, o.precision))
            done = 1;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    all = parse_all(&l, NULL, 0, 1);
    rc = all ? pp_causal_analyze(all, &res, NULL) : PP_ENOMEM;
    if (rc != PP_OK) {
        if (unrunnable == 1)
            cli_error("causal", "%s could not be run", o.cmd[0]);
        else if (unrunnable == 2 && !l.n)
            cli_error("causal",
                      "no usable experiment: %s never reached a PP_SCOPE or PP_PROGRESS of "
                      "libpostprof (is it linked with libpostprof?)",
                      o.cmd[0]);
        else
            cli_error("causal",
                      "no usable experiment in %d run%s of %s: it needs libpostprof, a "
                      "PP_PROGRESS point reached at least a few times per experiment and "
                      "PP_SCOPE stages (%zu experiments read)",
                      runs, runs == 1 ? "" : "s", o.cmd[0], pp_causal_log_count(all));
        goto out;
    }
    if (pp_causal_json_write(res, o.out, err, sizeof err) != PP_OK) {
        code = cli_output_error("causal", err);
        goto out;
    }
    print_ranking(res, pp_causal_log_count(all), runs);
    printf("written: %s\n", o.out);
    code = fflush(stdout) == 0 ? PP_EXIT_OK : cli_stdout_error("causal", errno);
out:
    pp_causal_result_free(res);
    pp_causal_log_free(all);
    for (size_t i = 0; i < l.n; i++)
        free(l.text[i]);
    free(l.text);
    free(l.len);
    rmdir(dir);
    return code;
}
