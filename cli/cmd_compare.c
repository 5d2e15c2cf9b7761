/*
 * cmd_compare.c - `postprof compare A.json B.json`: a performance gate for CI.
 * Compares candidate B against baseline A (Welch's t-test on end-to-end
 * passes, tolerance on the rest). Exit 0: no regression, 1: regression,
 * 2: bad command line or an unreadable/invalid report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"

static const char compare_usage[] =
    "usage: postprof compare [--tolerance F] [--alpha F] BASELINE.json CANDIDATE.json\n"
    "  --tolerance F  relative slowdown allowed before a metric regresses (default 0.05)\n"
    "  --alpha F      significance level of the t-test on end-to-end passes (default 0.05)\n"
    "exit status: 0 no regression, 1 regression, 2 usage error or unreadable report\n";

static int parse_fraction(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    double tolerance = 0.05, alpha = 0.05;
    const char *files[2] = {NULL, NULL};
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(compare_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(argv[i], "--tolerance") == 0 || strcmp(argv[i], "--alpha") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("compare", compare_usage, "%s needs a value", argv[i]);
            double *dst = argv[i][2] == 't' ? &tolerance : &alpha;
            if (parse_fraction(argv[i + 1], dst) != 0)
                return cli_usage_error("compare", compare_usage,
                                       "%s: '%s' is not a number in [0, 1]", argv[i], argv[i + 1]);
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("compare", compare_usage, "unknown option '%s'", argv[i]);
        } else if (nfiles < 2) {
            files[nfiles++] = argv[i];
        } else {
            return cli_usage_error("compare", compare_usage, "too many arguments");
        }
    }
    if (nfiles != 2)
        return cli_usage_error("compare", compare_usage, "needs two reports");

    pp_report *r[2] = {NULL, NULL};
    char err[512];
    for (int k = 0; k < 2; k++) {
        if (pp_report_load_json(files[k], &r[k], err, sizeof err) != PP_OK) {
            fprintf(stderr, "postprof compare: %s\n", err);
            pp_report_free(r[0]);
            return PP_EXIT_USAGE;
        }
    }
    pp_compare_result res;
    pp_compare_reports(r[0], r[1], tolerance, alpha, &res);
    printf("%-32s %14s %14s %9s %9s  %s\n", "metric", "baseline", "candidate", "change", "p-value",
           "verdict");
    for (size_t i = 0; i < res.n; i++) {
        const pp_compare_row *row = &res.rows[i];
        char p[16] = "-";
        if (row->tested)
            snprintf(p, sizeof p, "%.4f", row->p_value);
        printf("%-32s %14.6g %14.6g %+8.1f%% %9s  %s\n", row->metric, row->a, row->b,
               row->change * 100.0, p,
               row->regression ? "REGRESSION"
                               : (row->change > tolerance ? "worse (not significant)" : "ok"));
    }
    printf("%d regression%s (tolerance %.0f%%, alpha %g)\n", res.regressions,
           res.regressions == 1 ? "" : "s", tolerance * 100.0, alpha);
    pp_report_free(r[0]);
    pp_report_free(r[1]);
    return res.regressions ? PP_EXIT_FAIL : PP_EXIT_OK;
}
