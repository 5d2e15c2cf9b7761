/*
 * cmd_crash_report.c - `postprof crash-report FILE`: print a crash report with
 * its backtrace symbolized (function, file:line) from the report's memory map;
 * --event-json prints it as a Sentry event instead, --sentry DSN sends it.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <postprof/crash.h>
#include <postprof/error.h>

#include "cli.h"

static const char crash_usage[] =
    "usage: postprof crash-report [--sentry DSN] [--event-json] FILE\n"
    "  Symbolize the backtrace of a crash report (crash-PID-TID.txt) written by\n"
    "  postprof or by a program that opted in (pp_crash_install, POSTPROF_CRASH_DIR).\n"
    "  --sentry DSN   also send it to a Sentry-compatible server as an event\n"
    "                 (DSN: http[s]://KEY@HOST[:PORT]/PROJECT, as Sentry shows it)\n"
    "  --event-json   print the Sentry event (JSON) instead of the text\n"
    "  Text from the report is printed with control characters as \\xNN. A report\n"
    "  cut short (no end marker) is shown as far as it goes, then exit 1.\n";

int cmd_crash_report(int argc, char **argv)
{
    const char *file = NULL, *dsn = NULL;
    int event_json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(crash_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(argv[i], "--sentry") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("crash-report", crash_usage, "--sentry needs a DSN");
            dsn = argv[++i];
            char url[2048], auth[2048];
            if (pp_sentry_dsn_parse(dsn, url, sizeof url, auth, sizeof auth) != PP_OK)
                return cli_usage_error("crash-report", crash_usage,
                                       "--sentry: not a DSN (http[s]://KEY@HOST[:PORT]/PROJECT)");
        } else if (strcmp(argv[i], "--event-json") == 0) {
            event_json = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("crash-report", crash_usage, "unknown option '%s'", argv[i]);
        } else if (!file) {
            file = argv[i];
        } else {
            return cli_usage_error("crash-report", crash_usage, "unexpected argument '%s'",
                                   argv[i]);
        }
    }
    if (!file)
        return cli_usage_error("crash-report", crash_usage, "missing FILE");
    pp_crash_read_info info;
    char err[1024];
    int rc;
    if (event_json) {
        char *json = NULL;
        rc = pp_crash_sentry_event(file, &json, &info, err, sizeof err);
        if (rc == PP_OK) {
            fputs(json, stdout);
            fputc('\n', stdout);
            free(json);
        }
    } else {
        rc = pp_crash_symbolize(file, stdout, &info, err, sizeof err);
    }
    if (rc != PP_OK)
        return cli_error("crash-report", "%s", err);
    if (dsn) {
        char id[33];
        fflush(stdout);
        rc = pp_crash_upload_sentry(file, dsn, id, err, sizeof err);
        if (rc != PP_OK)
            return cli_error("crash-report", "not sent: %s", err);
        fprintf(stderr, "postprof crash-report: sent to Sentry as event %s\n", id);
    }
    if (info.truncated)
        return cli_error("crash-report",
                         "%s: truncated: the report stops at line %d, in its %s, without its "
                         "end marker; what it holds was %s",
                         file, info.last_line, info.stopped_in, dsn ? "sent" : "shown");
    return PP_EXIT_OK;
}
