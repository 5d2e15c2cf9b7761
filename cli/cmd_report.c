/*
 * cmd_report.c - `postprof report FILE.json [--html OUT] [--profile FILE]`:
 * renders a report.json (and optionally a recorded profile as a flame
 * graph) into one self-contained HTML page. Exit 0 written, 1 unreadable or
 * malformed input, 2 bad command line or the output is an input, 125 the page
 * could not be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/file.h>
#include <postprof/postprof.h>

#include "cli.h"

static const char report_usage[] =
    "usage: postprof report FILE.json [--html OUT] [--profile FILE]\n"
    "       postprof report --causal causal.json [--html OUT]\n"
    "  --html OUT      the HTML page to write (default: FILE with .json replaced by .html)\n"
    "  --profile FILE  a profile from `postprof record` (pprof, speedscope or folded\n"
    "                  stacks 'frame;frame;...;leaf COUNT') drawn as a flame graph\n"
    "  --causal FILE   the results of `postprof causal`: gain against speedup per scope\n"
    "The page inlines its CSS, scripts and data: it opens offline, fetches nothing.\n"
    "OUT may be '-' (standard output), a device or a FIFO: written as it is. A\n"
    "regular file is replaced atomically and keeps its mode; OUT may not be an input.\n"
    "Exit status: 0 written, 1 unreadable or malformed input, 2 bad command line,\n"
    "125 the page could not be written.\n";

/* The page of a causal.json; err names the file and says where and why. */
static int render_causal(const char *path, char **page, size_t *len, char *err, size_t errcap)
{
    char *text = NULL, msg[512] = "";
    size_t n = 0;
    pp_causal_result *r = NULL;
    int rc = pp_file_read(path, (size_t)64 << 20, &text, &n, err, errcap);
    if (rc != PP_OK)
        return rc;
    rc = pp_causal_json_parse(text, n, &r, msg, sizeof msg);
    if (rc != PP_OK)
        snprintf(err, errcap, "%s: %s", path, msg[0] ? msg : pp_strerror(rc));
    else
        rc = pp_causal_render_html(r, page, len, err, errcap);
    pp_causal_result_free(r);
    free(text);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    const char *in = NULL, *html = NULL, *profile = NULL, *causal = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(report_usage, stdout);
            return PP_EXIT_OK;
        }
        if (strcmp(a, "--html") == 0 || strcmp(a, "--profile") == 0 || strcmp(a, "--causal") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return cli_usage_error("report", report_usage, "option '%s' needs a value", a);
            if (a[2] == 'h')
                html = argv[++i];
            else if (a[2] == 'p')
                profile = argv[++i];
            else
                causal = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_usage_error("report", report_usage, "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else {
            return cli_usage_error("report", report_usage, "unexpected argument '%s'", a);
        }
    }
    if (causal && (in || profile))
        return cli_usage_error("report", report_usage,
                               "--causal renders its own page: give it alone (with --html)");
    if (causal)
        in = causal;
    if (!in)
        return cli_usage_error("report", report_usage, "needs a report.json");

    int exit_code = PP_EXIT_FAIL;
    char err[1024];
    char *out_path = NULL, *page = NULL;
    size_t page_len = 0;
    pp_report *r = NULL;
    if (!html) {
        size_t n = strlen(in);
        size_t stem = n > 5 && strcmp(in + n - 5, ".json") == 0 ? n - 5 : n;
        out_path = malloc(stem + 6);
        if (!out_path) {
            cli_error("report", "out of memory");
            goto out;
        }
        memcpy(out_path, in, stem);
        memcpy(out_path + stem, ".html", 6);
        html = out_path;
    }
    if (pp_file_same(in, html) || (profile && pp_file_same(profile, html))) {
        exit_code = cli_usage_error("report", report_usage,
                                    "the output %s is the input %s: it would be overwritten", html,
                                    pp_file_same(in, html) ? in : profile);
        goto out;
    }
    int rc;
    if (causal) {
        rc = render_causal(causal, &page, &page_len, err, sizeof err);
        if (rc != PP_OK) {
            cli_error("report", "%s", err[0] ? err : pp_strerror(rc));
            goto out;
        }
    } else {
        rc = pp_report_load_json(in, &r, err, sizeof err);
        if (rc != PP_OK) {
            cli_error("report", "%s", err[0] ? err : pp_strerror(rc));
            goto out;
        }
        rc = pp_report_render_html(r, profile, &page, &page_len, err, sizeof err);
    }
    if (rc != PP_OK) {
        cli_error("report", "%s", err[0] ? err : pp_strerror(rc));
        goto out;
    }
    rc = pp_file_write(html, page, page_len, err, sizeof err);
    if (rc != PP_OK) {
        exit_code = cli_output_error("report", err[0] ? err : pp_strerror(rc));
        goto out;
    }
    /* the page itself may be on standard output: the note goes to stderr then */
    fprintf(pp_file_same(html, "/dev/stdout") || strcmp(html, "-") == 0 ? stderr : stdout,
            "postprof report: wrote %s\n", html);
    exit_code = PP_EXIT_OK;
out:
    pp_report_free(r);
    free(out_path);
    free(page);
    return exit_code;
}
