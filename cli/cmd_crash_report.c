/*
 * cmd_crash_report.c - `postprof crash-report FILE`: print a crash report with
 * its backtrace symbolized (function, file:line) from the report's memory map.
 */
#include <stdio.h>
#include <string.h>

#include <postprof/crash.h>
#include <postprof/error.h>

#include "cli.h"

static const char crash_usage[] =
    "usage: postprof crash-report FILE\n"
    "  Symbolize the backtrace of a crash report (crash-PID-TID.txt) written by\n"
    "  postprof or by a program that opted in (pp_crash_install, POSTPROF_CRASH_DIR).\n";

int cmd_crash_report(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(crash_usage, stdout);
            return PP_EXIT_OK;
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
    int line = 0;
    int rc = pp_crash_symbolize(file, stdout, &line);
    if (rc == PP_EFORMAT)
        return cli_error("crash-report", "%s:%d: not a postprof crash report", file, line);
    if (rc != PP_OK)
        return cli_error("crash-report", "%s: %s", file, pp_strerror(rc));
    return PP_EXIT_OK;
}
