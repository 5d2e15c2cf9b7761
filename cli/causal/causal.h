/*
 * causal.h - A causal profiling session (docs/causal.md), shared by `postprof
 * causal` (cmd_causal.c) and `postprof run`'s causal phase (run/run_causal.c):
 * runs a command (again while time is left and it exits) with the experiment
 * controller switched on, reads back its experiments, and analyzes them.
 */
#ifndef PP_CLI_CAUSAL_H
#define PP_CLI_CAUSAL_H

#include <stddef.h>

#include <postprof/causal.h>

typedef struct cli_causal_opts {
    const char *tag; /* "causal" or "run": who speaks in messages */
    const char *speedups, *sites, *progress;
    double duration;  /* seconds of experiments in all */
    double precision; /* stop once every gain's interval is within +-precision */
    long exp_ms;
    const char *preload; /* a library preloaded after the shim (preload mode), NULL none */
    int quiet;           /* the program's output to /dev/null */
    char **cmd;
    int keep_awake; /* one idle-class spinner per CPU while the program runs (--keep-cpus-awake) */
} cli_causal_opts;

typedef struct cli_causal_out {
    pp_causal_result *res; /* NULL when no usable experiment (why says why) */
    size_t experiments;
    int runs;
    double seconds;
    int narrow; /* stopped because every interval was narrow enough */
    char why[512];
} cli_causal_out;

/*
 * cli_causal_session() - Run o->cmd through experiments until every interval
 * is within o->precision (after 10 experiments per point) or o->duration is
 * spent. Returns PP_EXIT_OK with out->res set, PP_EXIT_FAIL with out->why
 * (nothing usable), or PP_EXIT_OUTPUT-free errors as PP_EXIT_FAIL. Free
 * out->res with pp_causal_result_free().
 */
int cli_causal_session(const cli_causal_opts *o, cli_causal_out *out);

#endif
