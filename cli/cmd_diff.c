/*
 * cmd_diff.c - `postprof diff BASE CAND`: which functions changed their share
 * between two profiles (folded, speedscope or pprof), as a text top-N and,
 * with --html, a differential flame graph. Exit 0 printed, 2 bad command
 * line or an unreadable profile, 125 the page could not be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>
#include <postprof/report_html.h>

#include "cli.h"

static const char diff_usage[] =
    "usage: postprof diff [-n N] [--html FILE] BASE CAND\n"
    "  BASE, CAND   profiles (folded, speedscope or pprof), e.g. two `postprof record`\n"
    "               outputs of the same program before and after a change\n"
    "  -n N         rows of the text top-N (default 20)\n"
    "  --html FILE  also write a differential flame graph (one self-contained page)\n"
    "Each profile is normalized by its own total: a function's share is its value\n"
    "divided by everything its profile recorded, so recordings of different lengths\n"
    "compare. Rows are ranked by the change of self share (pp: percentage points).\n"
    "FILE may be '-' (standard output), a device or a FIFO: written as it is. A\n"
    "regular file is replaced atomically and keeps its mode; FILE may not be an input.\n"
    "exit status: 0 done, 2 usage error or unreadable profile, 125 the page could not\n"
    "be written\n";

static int load(const char *path, pp_profile **out)
{
    char msg[512] = "";
    int rc = pp_profile_read(path, out, msg, sizeof msg);
    if (rc != PP_OK) {
        fprintf(stderr, "postprof diff: %s: %s\n", path, msg[0] ? msg : pp_strerror(rc));
        return -1;
    }
    return 0;
}

int cmd_diff(int argc, char **argv)
{
    long n = 20;
    const char *paths[2] = {NULL, NULL}, *html = NULL;
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(diff_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(argv[i], "-n") == 0) {
            size_t count = 0;
            if (i + 1 >= argc || cli_parse_count(argv[i + 1], &count) != 0 || count > 100000)
                return cli_usage_error("diff", diff_usage, "-n needs a count (1-100000)");
            n = (long)count;
            i++;
        } else if (strcmp(argv[i], "--html") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("diff", diff_usage, "--html needs a file");
            html = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("diff", diff_usage, "unknown option '%s'", argv[i]);
        } else if (npaths < 2) {
            paths[npaths++] = argv[i];
        } else {
            return cli_usage_error("diff", diff_usage, "too many arguments");
        }
    }
    if (npaths != 2)
        return cli_usage_error("diff", diff_usage, "needs two profiles: BASE CAND");
    for (int k = 0; html && k < 2; k++)
        if (pp_file_same(paths[k], html))
            return cli_usage_error("diff", diff_usage,
                                   "the output %s is the input %s: it would be overwritten", html,
                                   paths[k]);
    pp_profile *p[2] = {NULL, NULL};
    pp_profile_diff_row *rows = NULL;
    int code = PP_EXIT_USAGE;
    if (load(paths[0], &p[0]) != 0 || load(paths[1], &p[1]) != 0)
        goto out;
    rows = calloc((size_t)n, sizeof *rows);
    size_t got = 0;
    int64_t sb = 0, sc = 0;
    int rc = rows ? pp_profile_diff(p[0], p[1], rows, (size_t)n, &got, &sb, &sc) : PP_ENOMEM;
    if (rc == PP_EINVAL) {
        fprintf(stderr, "postprof diff: %s counts %s but %s counts %s: nothing to compare\n",
                paths[0], pp_profile_value_name(p[0]), paths[1], pp_profile_value_name(p[1]));
        goto out;
    }
    if (rc != PP_OK) {
        code = cli_error("diff", "out of memory");
        goto out;
    }
    const char *unit = pp_profile_value_name(p[0]);
    printf("# baseline %s: %lld %s; candidate %s: %lld %s\n", paths[0], (long long)sb, unit,
           paths[1], (long long)sc, unit);
    printf("# shares of each profile's own total; change in percentage points (pp)\n");
    printf("%9s %9s %9s  %9s %9s %9s  %s\n", "self", "self", "self", "total", "total", "total",
           "function");
    printf("%9s %9s %9s  %9s %9s %9s\n", "before", "after", "change", "before", "after", "change");
    for (size_t i = 0; i < got; i++) {
        const pp_profile_diff_row *r = &rows[i];
        printf("%8.2f%% %8.2f%% %+7.2fpp  %8.2f%% %8.2f%% %+7.2fpp  %s\n", 100 * r->base_self,
               100 * r->cand_self, 100 * (r->cand_self - r->base_self), 100 * r->base_total,
               100 * r->cand_total, 100 * (r->cand_total - r->base_total), r->function);
    }
    if (html) {
        char err[512] = "";
        rc = pp_profile_diff_write_html(p[0], paths[0], p[1], paths[1], (size_t)n, html, err,
                                        sizeof err);
        if (rc != PP_OK) {
            code = cli_output_error("diff", err[0] ? err : pp_strerror(rc));
            goto out;
        }
        fprintf(stderr, "postprof diff: wrote %s\n", html);
    }
    code = PP_EXIT_OK; /* main() checks that standard output got it all */
out:
    free(rows);
    pp_profile_free(p[0]);
    pp_profile_free(p[1]);
    return code;
}
