/*
 * pipeline_truth.c - The real gain of making a stage of the posts pipeline's
 * loading phase faster, measured, to check `postprof run`'s causal phase
 * against (docs/causal.md, Accuracy; tests/causal/causal_pipeline.py).
 *
 * usage: causal_pipeline_truth STAGE FROM TO SECONDS PRECISION [KNOB=VALUE ...]
 *   STAGE      preprocess, infer or load: POSTS_SLOW_PREPROCESS, _INFER, _LOAD
 *   FROM, TO   the stage does FROM times its work, against TO times (2 1: its
 *              scope 50 % faster, 4 3: 25 %)
 *   SECONDS    at most this long measuring
 *   PRECISION  stop once the gain's 95 % interval is within +-PRECISION (0.01 = 1 point)
 *   KNOB=VALUE the pipeline's settings (posts_config_set names: data=DIR,
 *              sources=database,file,api, batch_size=8, ...)
 *
 * One pipeline, loading again and again as `postprof pipeline --requests 0
 * --repeat 0` does; its passes alternate FROM and TO (the switch's list form,
 * FROM,TO,TO,FROM), so each pair of passes is side by side in time and the
 * order within a pair alternates. The time per pass is the time per progress
 * point times the batches of a pass, the same for both halves, so the ratio
 * of the two is that of the time per point. Per pair the ratio TO / FROM:
 * Hodges-Lehmann over the pairs with its Wilcoxon signed-rank 95 % interval
 * (src/analyze/stats.c); gain = 1 - ratio. Prints
 *   measured STAGE PCT: GAIN LOW HIGH PAIRS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postprof/postprof.h>
#include <posts/posts.h>

#include "analyze/stats.h"

#define MAX_PAIRS 3000
#define MIN_PAIRS 10

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One load pass; its wall time in seconds, or < 0 on error. */
static double pass(posts_pipeline *pl)
{
    posts_pipeline_result r;
    posts_err err = {{0}};
    memset(&r, 0, sizeof r);
    posts_feature_batch_clear(posts_pipeline_features(pl));
    double t0 = now_s();
    if (posts_pipeline_load(pl, &r, &err) != PP_OK) {
        fprintf(stderr, "causal_pipeline_truth: load: %s\n", err.msg);
        return -1;
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: causal_pipeline_truth STAGE FROM TO SECONDS PRECISION "
                        "[KNOB=VALUE ...]\n");
        return 2;
    }
    const char *stage = argv[1];
    int from = atoi(argv[2]), to = atoi(argv[3]);
    double budget = atof(argv[4]), target = atof(argv[5]);
    const char *var = strcmp(stage, "preprocess") == 0 ? "POSTS_SLOW_PREPROCESS"
                      : strcmp(stage, "infer") == 0    ? "POSTS_SLOW_INFER"
                      : strcmp(stage, "load") == 0     ? "POSTS_SLOW_LOAD"
                                                       : NULL;
    if (!var || from < 1 || to < 1 || from > 100 || to > 100 || !(budget > 0) || !(target > 0)) {
        fprintf(stderr, "causal_pipeline_truth: bad arguments\n");
        return 2;
    }
    posts_config cfg;
    posts_config_init(&cfg);
    for (int i = 6; i < argc; i++) {
        char name[64];
        const char *eq = strchr(argv[i], '=');
        posts_err err = {{0}};
        if (!eq || (size_t)(eq - argv[i]) >= sizeof name) {
            fprintf(stderr, "causal_pipeline_truth: '%s' is not KNOB=VALUE\n", argv[i]);
            return 2;
        }
        memcpy(name, argv[i], (size_t)(eq - argv[i]));
        name[eq - argv[i]] = 0;
        if (posts_config_set(&cfg, name, eq + 1, &err) != PP_OK) {
            fprintf(stderr, "causal_pipeline_truth: %s: %s\n", argv[i], err.msg);
            return 2;
        }
    }
    cfg.requests = 0;
    /* passes FROM, TO, TO, FROM, ...: pair j is passes 2j and 2j+1 */
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%d,%d,%d,%d", from, to, to, from);
    setenv(var, pattern, 1); /* before the pipeline's threads exist */
    posts_pipeline *pl = NULL;
    posts_err err = {{0}};
    if (posts_pipeline_new(&cfg, &pl, &err) != PP_OK) {
        fprintf(stderr, "causal_pipeline_truth: %s\n", err.msg);
        return 1;
    }
    static double base[MAX_PAIRS], fast[MAX_PAIRS];
    pp__ratio_est est;
    memset(&est, 0, sizeof est);
    size_t n = 0;
    int rc = 1;
    /* one cycle of the pattern to warm up (caches, the API server's threads) */
    for (int i = 0; i < 4; i++)
        if (pass(pl) < 0)
            goto out;
    double t0 = now_s(), next_check = t0;
    size_t passes = 4;
    for (;;) {
        double a = pass(pl), b = pass(pl);
        passes += 2;
        if (a < 0 || b < 0)
            goto out;
        /* pair n: FROM first when n is even (the pattern's passes 4k, 4k+1), else TO first */
        base[n] = n % 2 ? b : a;
        fast[n] = n % 2 ? a : b;
        n++;
        double now = now_s();
        if (n < MIN_PAIRS || (now < next_check && n < MAX_PAIRS && now - t0 < budget))
            continue;
        next_check = now + 0.5; /* the estimate costs O(pairs^2): twice a second */
        if (pp__stats_paired(base, fast, n, 0.95, 0.0, &est) != PP_OK)
            goto out;
        if ((est.high - est.low) / 2 <= target || n >= MAX_PAIRS || now - t0 >= budget)
            break;
    }
    printf("measured_seconds: %.1f\n", now_s() - t0);
    printf("seconds_per_pass: %.4f\n", est.base);
    /* the progress points of a pass, for the time per point at the full
     * length: a causal run's baseline under the same conditions reads it */
    pp_snapshot *snap = NULL;
    if (pp_snapshot_take(&snap) == PP_OK) {
        const pp_site_stats *st = pp_snapshot_find(snap, "posts.batch_scored");
        if (st && st->count)
            printf("seconds_per_point: %.7f\n", est.base / ((double)st->count / (double)passes));
        pp_snapshot_free(snap);
    }
    printf("measured %s %d: %.5f %.5f %.5f %zu\n", stage, (int)(100.0 * (from - to) / from + 0.5),
           1 - est.ratio, 1 - est.high, 1 - est.low, est.n);
    rc = 0;
out:
    posts_pipeline_free(pl);
    return rc;
}
