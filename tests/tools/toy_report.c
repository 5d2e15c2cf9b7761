/*
 * toy_report.c - Profiles the toy workload (tests/unit/toy_workload.c) and
 * writes its report: JSON to argv[1], console to stdout. Used by the schema
 * test and by hand to look at a whole report. --apply also runs --apply.
 */
#include <stdio.h>
#include <string.h>

#include <postprof/postprof.h>

#include "toy_workload.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: toy_report OUT.json [--apply] [--color]\n");
        return 2;
    }
    int apply = 0;
    unsigned flags = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--apply") == 0)
            apply = 1;
        else if (strcmp(argv[i], "--color") == 0)
            flags |= PP_CONSOLE_COLOR;
    }
    toy *t = toy_new();
    pp_report *r = pp_report_new();
    if (!t || !r)
        return 1;
    pp_workload w;
    toy_workload(t, &w);
    pp_config cfg;
    pp_config_defaults(&cfg);
    cfg.profile.load_batches = 5;
    cfg.profile.repeats = 6; /* the fewest whose 95 % interval can exclude no change */
    cfg.profile.sweep_batches = 3;
    cfg.profile.latency_target_ms = 1.0;
    int rc = pp_profiler_run(&w, &cfg, r);
    if (rc == PP_OK && apply)
        rc = pp_profiler_apply(&w, &cfg, r);
    char err[512];
    if (rc == PP_OK)
        rc = pp_report_write_json(r, argv[1], err, sizeof err);
    else
        snprintf(err, sizeof err, "profiling failed");
    if (rc == PP_OK)
        rc = pp_report_print_console(r, stdout, flags);
    if (rc != PP_OK)
        fprintf(stderr, "toy_report: %s (%s)\n", err, pp_strerror(rc));
    pp_report_free(r);
    toy_free(t);
    return rc == PP_OK ? 0 : 1;
}
