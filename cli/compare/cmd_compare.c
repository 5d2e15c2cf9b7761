/*
 * cmd_compare.c - `postprof compare BASELINE CANDIDATE`: the performance gate
 * for CI. Each side is a report.json or a directory of them (N runs per side);
 * the reports must be comparable (same data, model, sources, settings,
 * machine); the decision per metric comes from pp_compare_runs(). Exit 0 no
 * regression, 1 regression, 2 usage error or unreadable/incomparable reports.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <postprof/postprof.h>

#include "cli.h"
#include "compare.h"

static const char compare_usage[] =
    "usage: postprof compare [options] BASELINE CANDIDATE\n"
    "  BASELINE, CANDIDATE  a report.json of `postprof run`, or a directory of them:\n"
    "                       every DIR/*.json and DIR/*/report.json (one per run)\n"
    "  --tolerance F        slowdown allowed before a metric is worse (default 0.05)\n"
    "  --confidence F       level of the intervals, in (0.5, 1) (default 0.95)\n"
    "  --format FMT         console (default), json, markdown (a pull-request comment),\n"
    "                       github (::error::/::warning:: annotations, then the table)\n"
    "  --expect-change KNOB a setting that differs on purpose (e.g. batch_size);\n"
    "                       repeatable\n"
    "  --force              compare even when the reports are not comparable\n"
    "  --paired             the runs ran interleaved (baseline, candidate, candidate,\n"
    "                       baseline, ...): pair them in the order they ran (each\n"
    "                       report's end time) and judge the pairs' ratios, so load\n"
    "                       that changes during the job falls on both sides of a pair;\n"
    "                       needs as many runs on each side, alternating in time\n"
    "Each metric is one value per run; the verdict comes from the 95 % interval of\n"
    "the ratio candidate/baseline over the runs: worse only when the whole interval\n"
    "lies above 1 + tolerance, better only when below 1/(1 + tolerance), no\n"
    "significant change when inside both, inconclusive otherwise (with how many runs\n"
    "per side would decide). The intervals are simultaneous: with m metrics each is\n"
    "at 1 - (1 - confidence)/m, so alike runs alarm on any metric at most 1 - confidence\n"
    "of the time. One run per side is always inconclusive; with ~10 metrics it takes\n"
    "at least 6 runs per side (9 pairs with --paired) to decide anything (see\n"
    "docs/ci-gate.md).\n"
    "exit status: 0 no regression (inconclusive included), 1 regression,\n"
    "             2 usage error, unreadable or incomparable reports\n";

#define MAX_EXPECT 32

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_file(cmp_side *s, const char *path)
{
    if (s->n >= PP_COMPARE_MAX_RUNS) {
        fprintf(stderr, "postprof compare: %s: more than %d reports\n", s->arg,
                PP_COMPARE_MAX_RUNS);
        return -1;
    }
    s->files[s->n] = strdup(path);
    if (!s->files[s->n]) {
        fprintf(stderr, "postprof compare: out of memory\n");
        return -1;
    }
    s->n++;
    return 0;
}

/* The report files of one side: the file itself, or DIR/ *.json and DIR/ * /report.json. */
static int find_reports(cmp_side *s)
{
    struct stat st;
    if (stat(s->arg, &st) != 0) {
        fprintf(stderr, "postprof compare: %s: %s\n", s->arg, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(s, s->arg);
    DIR *d = opendir(s->arg);
    if (!d) {
        fprintf(stderr, "postprof compare: %s: %s\n", s->arg, strerror(errno));
        return -1;
    }
    struct dirent *e;
    char path[4096];
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", s->arg, e->d_name);
        if (has_suffix(e->d_name, ".json") && is_file(path)) {
            rc = add_file(s, path);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s/report.json", s->arg, e->d_name);
        if (is_file(path))
            rc = add_file(s, path);
    }
    closedir(d);
    if (rc == 0 && s->n == 0) {
        fprintf(stderr,
                "postprof compare: %s: no reports (looked for %s/*.json and %s/*/report.json)\n",
                s->arg, s->arg, s->arg);
        return -1;
    }
    qsort(s->files, s->n, sizeof *s->files, cmp_str); /* runs in a stable order */
    return rc;
}

static int load_side(cmp_side *s)
{
    if (find_reports(s) != 0)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        char err[600];
        if (pp_report_load_json(s->files[i], &s->reports[i], err, sizeof err) != PP_OK) {
            /* err names the file and the field (or line and column) at fault */
            fprintf(stderr, "postprof compare: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static void free_side(cmp_side *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i]);
        pp_report_free(s->reports[i]);
    }
}

/* The runs of one side in the order they ran (each report's end time). */
static void order_by_time(cmp_side *s)
{
    for (size_t i = 1; i < s->n; i++) /* insertion sort: a few hundred runs at most */
        for (size_t j = i;
             j > 0 && s->reports[j]->system.timestamp < s->reports[j - 1]->system.timestamp; j--) {
            pp_report *r = s->reports[j];
            char *f = s->files[j];
            s->reports[j] = s->reports[j - 1];
            s->files[j] = s->files[j - 1];
            s->reports[j - 1] = r;
            s->files[j - 1] = f;
        }
}

/* --paired: as many runs per side, and pair i (the i-th run of each side in
 * time) over before either run of pair i + 1 ended. Prints why not; 0 or -1. */
static int check_pairs(cmp_side *b, cmp_side *c)
{
    if (b->n != c->n) {
        fprintf(stderr,
                "postprof compare: error: --paired needs as many baseline runs as candidate "
                "runs: %zu in %s, %zu in %s (when a run failed, rerun its pair or leave its "
                "partner out; or compare without --paired)\n",
                b->n, b->arg, c->n, c->arg);
        return -1;
    }
    order_by_time(b);
    order_by_time(c);
    for (size_t i = 0; i < b->n; i++) {
        const cmp_side *sd[2] = {b, c};
        for (int k = 0; k < 2; k++)
            if (!(sd[k]->reports[i]->system.timestamp > 0)) {
                fprintf(stderr,
                        "postprof compare: error: %s: no end time (system_stats.timestamp), "
                        "so it cannot be paired; compare without --paired\n",
                        sd[k]->files[i]);
                return -1;
            }
    }
    for (size_t i = 0; i + 1 < b->n; i++) {
        double tb = b->reports[i]->system.timestamp, tc = c->reports[i]->system.timestamp;
        double nb = b->reports[i + 1]->system.timestamp, nc = c->reports[i + 1]->system.timestamp;
        const char *late = tb > tc ? b->files[i] : c->files[i];
        const char *early = nb < nc ? b->files[i + 1] : c->files[i + 1];
        if ((tb > tc ? tb : tc) >= (nb < nc ? nb : nc)) {
            fprintf(stderr,
                    "postprof compare: error: --paired: the runs did not alternate: %s (pair "
                    "%zu) ended after %s (pair %zu); run the sides alternately (baseline, "
                    "candidate, candidate, baseline, ...) or compare without --paired\n",
                    late, i + 1, early, i + 2);
            return -1;
        }
    }
    return 0;
}

/* Every report against the first baseline one; prints what differs. Returns the
 * number of mismatches kept in mm (the first pair that differs). */
static size_t check_comparable(const cmp_side *b, const cmp_side *c, const char *const *expect,
                               size_t n_expect, int force, pp_compare_mismatch *mm, size_t cap)
{
    const cmp_side *sides[2] = {b, c};
    const pp_report *ref = b->reports[0];
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sides[k]->n; i++) {
            size_t n = pp_compare_settings(ref, sides[k]->reports[i], expect, n_expect, mm, cap);
            if (n == 0)
                continue;
            fprintf(stderr, "postprof compare: %s: %s and %s are not comparable, they differ in:\n",
                    force ? "warning" : "error", b->files[0], sides[k]->files[i]);
            for (size_t j = 0; j < n && j < cap; j++)
                fprintf(stderr, "  %-10s %s: %s vs %s\n", pp_compare_setting_group(mm[j].setting),
                        mm[j].setting, mm[j].base[0] ? mm[j].base : "(not set)",
                        mm[j].cand[0] ? mm[j].cand : "(not set)");
            if (n > cap)
                fprintf(stderr, "  ... and %zu more\n", n - cap);
            if (!force)
                fprintf(stderr, "Compare runs of the same data, model, sources, settings and "
                                "machine; name a knob changed on purpose with --expect-change "
                                "KNOB, or pass --force.\n");
            return n < cap ? n : cap;
        }
    return 0;
}

static int parse_number(const char *s, double lo, double hi, int open_ends, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !(v >= lo && v <= hi) ||
        (open_ends && (v == lo || v == hi)))
        return -1;
    *out = v;
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    double tolerance = 0.05, conf = 0.95;
    const char *paths[2] = {NULL, NULL}, *expect[MAX_EXPECT];
    size_t n_expect = 0;
    int npaths = 0, force = 0, paired = 0;
    cmp_format format = CMP_CONSOLE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(compare_usage, stdout);
            return PP_EXIT_OK;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--paired")) {
            paired = 1;
        } else if (!strcmp(a, "--tolerance") || !strcmp(a, "--confidence") ||
                   !strcmp(a, "--format") || !strcmp(a, "--expect-change")) {
            if (!v)
                return cli_usage_error("compare", compare_usage, "%s needs a value", a);
            i++;
            if (!strcmp(a, "--tolerance") && parse_number(v, 0.0, 10.0, 0, &tolerance) != 0)
                return cli_usage_error("compare", compare_usage,
                                       "--tolerance: '%s' is not a number in [0, 10]", v);
            if (!strcmp(a, "--confidence") && parse_number(v, 0.5, 1.0, 1, &conf) != 0)
                return cli_usage_error("compare", compare_usage,
                                       "--confidence: '%s' is not a number in (0.5, 1)", v);
            if (!strcmp(a, "--expect-change")) {
                if (n_expect >= MAX_EXPECT || !v[0])
                    return cli_usage_error("compare", compare_usage,
                                           "--expect-change: at most %d non-empty names",
                                           MAX_EXPECT);
                expect[n_expect++] = v;
            }
            if (!strcmp(a, "--format")) {
                static const char *const names[] = {"console", "json", "markdown", "github"};
                int f = -1;
                for (int k = 0; k < 4; k++)
                    if (!strcmp(v, names[k]))
                        f = k;
                if (f < 0)
                    return cli_usage_error("compare", compare_usage,
                                           "--format: '%s' is not console, json, markdown or "
                                           "github",
                                           v);
                format = (cmp_format)f;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_usage_error("compare", compare_usage, "unknown option '%s'", a);
        } else if (npaths < 2) {
            paths[npaths++] = a;
        } else {
            return cli_usage_error("compare", compare_usage, "too many arguments");
        }
    }
    if (npaths != 2)
        return cli_usage_error("compare", compare_usage, "needs BASELINE and CANDIDATE");

    int code = PP_EXIT_USAGE;
    cmp_side *side = calloc(2, sizeof *side);
    pp_compare_result *res = calloc(1, sizeof *res);
    pp_compare_mismatch *mm = calloc(16, sizeof *mm);
    if (!side || !res || !mm) {
        fprintf(stderr, "postprof compare: out of memory\n");
        goto out;
    }
    side[0].arg = paths[0];
    side[1].arg = paths[1];
    if (load_side(&side[0]) != 0 || load_side(&side[1]) != 0)
        goto out;
    if (paired && check_pairs(&side[0], &side[1]) != 0)
        goto out;
    size_t n_mm = check_comparable(&side[0], &side[1], expect, n_expect, force, mm, 16);
    if (n_mm && !force)
        goto out;
    const pp_report *const *rb = (const pp_report *const *)side[0].reports;
    const pp_report *const *rcand = (const pp_report *const *)side[1].reports;
    int rc = paired ? pp_compare_pairs(rb, rcand, side[0].n, tolerance, conf, res)
                    : pp_compare_runs(rb, side[0].n, rcand, side[1].n, tolerance, conf, res);
    if (rc != PP_OK) {
        fprintf(stderr, "postprof compare: %s\n", pp_strerror(rc));
        goto out;
    }
    code = res->regressions ? PP_EXIT_FAIL : PP_EXIT_OK;
    if (cmp_print(stdout, format, res, &side[0], &side[1], mm, n_mm, code) != 0 ||
        fflush(stdout) != 0)
        code = cli_stdout_error("compare", errno);
out:
    if (side) {
        free_side(&side[0]);
        free_side(&side[1]);
    }
    free(side);
    free(res);
    free(mm);
    return code;
}
