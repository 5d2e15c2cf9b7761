/*
 * run_causal.c - `postprof run`'s causal phase (docs/causal.md, "In postprof
 * run"): the pipeline's loading phase, as `postprof pipeline --requests 0
 * --repeat 0` (loading again and again until stopped) with the run's settings, through
 * virtual-speedup experiments on the workload's stage scopes (load, preprocess, infer), its
 * progress point one batch scored. Within a time budget (short with --quick); what it measured goes
 * into the report beside the knob experiments (pp_report_causal_set). A failure is a note in the
 * report, never a failed run.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <postprof/clock.h>
#include <postprof/postprof.h>
#include <posts/posts.h>

#include "causal/causal.h"
#include "cli.h"
#include "run/run.h"

#define MAX_ARGS 96
#define RUN_CAUSAL_ROWS 300 /* rows per source in a pass of the causal phase, at most */

/* The run's own options, which `postprof pipeline` does not take. */
static int run_only(const char *a, int *valued)
{
    static const char *const flags[] = {"--quick", "--apply",   "--no-color",
                                        "--serve", "--explain", "--measure-only"};
    static const char *const valued_opts[] = {"--data", "--out", "--config", "--posts", "--listen"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (strcmp(a, flags[i]) == 0) {
            *valued = 0;
            return 1;
        }
    for (size_t i = 0; i < sizeof valued_opts / sizeof *valued_opts; i++)
        if (strcmp(a, valued_opts[i]) == 0) {
            *valued = 1;
            return 1;
        }
    return 0;
}

void run_causal(const run_opts *o, const pp_workload *w, pp_report *r, int argc, char **argv)
{
    pp_report_causal *rc = &r->causal;
    if (o->measure_only) {
        snprintf(rc->note, sizeof rc->note, "--measure-only: no experiments");
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(rc->note, sizeof rc->note, "cannot find the postprof binary to run the pipeline");
        return;
    }
    self[n] = 0;
    /* the pipeline as the run profiled it (posts/src/profile.c's passes): its
     * three sources, each cut to the rows of a --quick pass at most so that an
     * experiment spans several passes (a pass reads the sources in turn, and
     * their batches cost differently: an experiment within one source's part
     * would measure that source), a first deployment's settings, then the
     * pipeline flags of the run's command line (later ones win).
     * tests/causal/causal_pipeline.py runs the same command. */
    char *args[MAX_ARGS];
    int k = 0;
    char per_source[32];
    size_t pass_rows = o->po.pass_posts_per_source;
    snprintf(per_source, sizeof per_source, "%zu",
             pass_rows && pass_rows < RUN_CAUSAL_ROWS ? pass_rows : (size_t)RUN_CAUSAL_ROWS);
    char *fixed[] = {self,
                     "pipeline",
                     "--data",
                     (char *)o->data,
                     "--sources",
                     "database,file,api",
                     "--limit-per-source",
                     per_source,
                     "--requests",
                     "0",
                     "--repeat",
                     "0",
                     "--batch-size",
                     "8",
                     "--keep-alive",
                     "0",
                     "--arena",
                     "0",
                     "--preprocess-threads",
                     "1",
                     "--cache-entries",
                     "1000"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        args[k++] = fixed[i];
    for (int i = 1; i < argc && k < MAX_ARGS - 3; i++) {
        int valued = 0;
        if (run_only(argv[i], &valued)) {
            i += valued;
            continue;
        }
        args[k++] = argv[i];
    }
    args[k] = NULL;
    const char *scopes[3] = {w->stage_scopes[PP_STAGE_LOAD], w->stage_scopes[PP_STAGE_PREPROCESS],
                             w->stage_scopes[PP_STAGE_INFER]};
    char sites[3 * PP_REPORT_NAME_MAX] = "";
    for (int i = 0; i < 3; i++)
        if (scopes[i])
            snprintf(sites + strlen(sites), sizeof sites - strlen(sites), "%s%s",
                     sites[0] ? "," : "", scopes[i]);
    /* --quick: one speedup, short experiments, 8 s; else two speedups, 40 s;
     * less when the run's time limit leaves less (never under the fewest) */
    double nominal = o->quick ? RUN_CAUSAL_QUICK_S : RUN_CAUSAL_S;
    double fewest = o->quick ? RUN_CAUSAL_QUICK_MIN_S : RUN_CAUSAL_MIN_S;
    double duration = nominal;
    uint64_t end = run_end_ns(o, 0.0), now = pp_clock_now_ns();
    if (end) {
        double left = end > now ? (double)(end - now) / 1e9 : 0.0;
        duration = left < fewest ? fewest : left < nominal ? left : nominal;
    }
    cli_causal_opts co = {"run",
                          o->quick ? "0,50" : "0,25,50",
                          sites,
                          "posts.batch_scored",
                          duration,
                          o->quick ? 0.03 : 0.02,
                          o->quick ? 100 : 150,
                          NULL,
                          1,
                          args,
                          0}; /* CPUs may idle: the run's other phases let them too */
    cli_causal_out out;
    int code = cli_causal_session(&co, &out);
    rc->budget_s = co.duration;
    rc->seconds = out.seconds;
    rc->runs = (unsigned)out.runs;
    rc->experiments = out.experiments;
    if (code != PP_EXIT_OK) {
        snprintf(rc->note, sizeof rc->note, "%.250s", out.why);
        return;
    }
    if (pp_report_causal_set(r, out.res, "posts.pipeline.load", w->stage_scopes, co.precision) !=
        PP_OK)
        snprintf(rc->note, sizeof rc->note, "no causal result");
    else if (!out.narrow && rc->undecided)
        snprintf(rc->note, sizeof rc->note,
                 "the %.0f s allowed%s ran out before every point was decided", co.duration,
                 duration < nominal ? " (what the run's time limit left)" : "");
    /* a paused thread lends its core to the others, which a real speedup does
     * not: with more of the pipeline's threads than cores, the consumer's
     * scopes came out low (docs/causal.md, Limits) */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const posts_config *pc = &o->po.base;
    long threads = 1 + (pc->concurrent_load ? 3 : 0) + (pc->preprocess_threads - 1) + 4;
    if (rc->done && pc->concurrent_load && cores > 0 && threads > cores) {
        size_t used = strlen(rc->note);
        snprintf(rc->note + used, sizeof rc->note - used,
                 "%s%ld pipeline threads on %ld cores: the preprocess and infer predictions may "
                 "come out low (docs/causal.md, Limits)",
                 used ? "; " : "", threads, cores);
    }
    pp_causal_result_free(out.res);
}
