/*
 * cmd_top.c - `postprof top FILE`: a text top-N of a profile (folded,
 * speedscope or pprof), self and total shares per function with file:line,
 * like `perf report --stdio`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"

static const char top_usage[] = "usage: postprof top [-n N] FILE\n"
                                "  -n N    rows to print (default 20)\n"
                                "  FILE    folded, speedscope or pprof (.pb.gz) profile\n";

int cmd_top(int argc, char **argv)
{
    long n = 20;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(top_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(argv[i], "-n") == 0) {
            size_t count = 0;
            if (i + 1 >= argc || cli_parse_count(argv[i + 1], &count) != 0 || count > 100000)
                return cli_usage_error("top", top_usage, "-n needs a count (1-100000)");
            n = (long)count;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("top", top_usage, "unknown option '%s'", argv[i]);
        } else if (path) {
            return cli_usage_error("top", top_usage, "only one FILE");
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return cli_usage_error("top", top_usage, "missing FILE");
    pp_profile *p = NULL;
    char msg[512] = "";
    int rc = pp_profile_read(path, &p, msg, sizeof msg);
    if (rc != PP_OK)
        return cli_error("top", "%s: %s", path, msg[0] ? msg : pp_strerror(rc));
    pp_profile_row *rows = calloc((size_t)n, sizeof *rows);
    size_t got = 0;
    int64_t sum = 0;
    if (!rows || pp_profile_top(p, rows, (size_t)n, &got, &sum) != PP_OK) {
        free(rows);
        pp_profile_free(p);
        return cli_error("top", "out of memory");
    }
    printf("# %s: total %lld %s\n", path, (long long)sum, pp_profile_value_name(p));
    printf("%8s %8s  %-40s %s\n", "self%", "total%", "function", "location");
    for (size_t i = 0; i < got; i++) {
        double self = sum ? 100.0 * (double)rows[i].self / (double)sum : 0;
        double total = sum ? 100.0 * (double)rows[i].total / (double)sum : 0;
        if (rows[i].file[0] && rows[i].line > 0)
            printf("%7.2f%% %7.2f%%  %-40s %s:%lld\n", self, total, rows[i].function, rows[i].file,
                   (long long)rows[i].line);
        else
            printf("%7.2f%% %7.2f%%  %-40s %s\n", self, total, rows[i].function,
                   rows[i].file[0] ? rows[i].file : "-");
    }
    free(rows);
    pp_profile_free(p);
    return PP_EXIT_OK;
}
