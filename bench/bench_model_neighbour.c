/*
 * bench_model_neighbour.c - What the model's arithmetic does to the code that
 * runs after it on the same thread. The pipeline scores each batch and then
 * loads and preprocesses the next; with the fp32 model the scoring is
 * OpenBLAS's sgemm, whose kernels for this CPU may be 512-bit vector code,
 * after which a core can run slower for a while (its clock lowered for wide
 * vector work). int8 scoring is scalar code of our own. So int8 can make
 * preprocessing faster without running it (docs/benchmarks.md, "int8 and the
 * sites it does not run").
 *
 * Rounds, interleaved: preprocess 8 posts (the neighbour) right after
 * scoring a batch of 8 with the fp32 model, with the int8 model, and after
 * nothing (the floor); only the neighbour is timed (the thread's CPU time).
 * Prints each per post and the ratios with their 95 % intervals (paired
 * rounds, Hodges-Lehmann). Usage: bench_model_neighbour [--posts N] [--data DIR]
 * [--rounds N]
 */
#include <stdio.h>
#include <stdlib.h>

#include <postprof/postprof.h>

#ifndef PP_HAVE_POSTS
int main(void)
{
    puts("model_neighbour: not built");
    return 0;
}
#else
#include <posts/posts.h>

#include "analyze/stats.h"
#include "posts_data.h"

#define BATCH 8
#define CYCLES 64 /* score-then-preprocess cycles timed per round and arm */
#define MAX_ROUNDS 200

enum { AFTER_FP32, AFTER_INT8, ALONE, ARMS };
static const char *const arm_name[ARMS] = {"after_fp32", "after_int8", "alone"};

static void die(const char *what, const posts_err *err)
{
    fprintf(stderr, "bench_model_neighbour: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    exit(1);
}

/* CYCLES cycles of (score BATCH posts with m, or nothing; preprocess the next
 * BATCH posts); returns the preprocessing's thread CPU ns per post. */
static double round_ns(posts_model *m, const posts_feature_batch *fb, size_t nf,
                       posts_preprocessor *pre, const posts_batch *all, size_t *at)
{
    static float scores[BATCH];
    posts_feature_batch out = {0};
    uint64_t spent = 0;
    size_t posts = 0;
    for (int c = 0; c < CYCLES; c++) {
        size_t first = (*at * BATCH) % (nf - BATCH);
        if (m && posts_model_predict(m, fb, first, BATCH, scores) != PP_OK)
            die("predict", NULL);
        size_t off = (*at * BATCH) % (all->n - BATCH);
        posts_batch part = {all->posts + off, BATCH, 0};
        posts_feature_batch_clear(&out);
        uint64_t t0 = pp_clock_thread_cpu_ns();
        if (posts_preprocess_batch(pre, &part, &out, NULL) != PP_OK)
            die("preprocess", NULL);
        spent += pp_clock_thread_cpu_ns() - t0;
        posts += BATCH;
        ++*at;
    }
    posts_feature_batch_release(&out);
    return (double)spent / (double)posts;
}

static void ratio_line(const char *name, const double *num, const double *den, size_t n)
{
    pp__ratio_est e;
    if (pp__stats_paired(den, num, n, 0.95, 0.0, &e) != PP_OK)
        die("statistics", NULL);
    printf("%s: %.3f\n", name, e.ratio);
    printf("%s_low: %.3f\n", name, e.low);
    printf("%s_high: %.3f\n", name, e.high);
}

int main(int argc, char **argv)
{
    size_t nposts = 4000, rounds = 40;
    const char *data = NULL;
    if (bench_posts_args(argc, argv, "bench_model_neighbour", "--rounds", &nposts, &data, &rounds))
        return 2;
    if (rounds < 6 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_model_neighbour: --rounds: 6 to %d\n", MAX_ROUNDS);
        return 2;
    }
    pp_log_set_level(PP_LOG_ERROR);
    char tmp[64];
    if (!(data = bench_posts_data("bench_model_neighbour", data, nposts, tmp, sizeof tmp, NULL)))
        return 1;
    posts_err err = {{0}};
    posts_config cfg;
    posts_config_init(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data);

    /* the posts (the database source) and their features, for scoring */
    posts_source *src;
    if (posts_open_source(&cfg, POSTS_SRC_DATABASE, NULL, NULL, &src, &err) != PP_OK)
        die("open source", &err);
    posts_batch all = {0}, b = {0};
    long got;
    while ((got = posts_source_next(src, &b, 256, &err)) > 0)
        if (posts_batch_take(&all, &b) != PP_OK)
            die("out of memory", NULL);
    if (got < 0)
        die("load", &err);
    posts_source_close(src);
    posts_batch_release(&b);
    posts_preprocessor *pre;
    if (posts_preprocessor_new(1, 0, &pre) != PP_OK) /* one thread, malloc per token: as deployed */
        die("preprocessor", NULL);
    posts_feature_batch fb = {0};
    for (size_t i = 0; i < all.n; i += 256) {
        posts_batch part = {all.posts + i, all.n - i < 256 ? all.n - i : 256, 0};
        if (posts_preprocess_batch(pre, &part, &fb, NULL) != PP_OK)
            die("preprocess", NULL);
    }
    if (fb.n < 2 * BATCH || all.n < 2 * BATCH)
        die("too few posts", NULL);

    char path[600];
    snprintf(path, sizeof path, "%s/%s", data, posts_model_file(POSTS_MODEL_MEDIUM));
    posts_model *m, *q;
    if (posts_model_load(path, &m, &err) != PP_OK)
        die("model", &err);
    if (posts_model_quantize(m, &q) != PP_OK)
        die("quantize", NULL);
    posts_model *arm_model[ARMS] = {m, q, NULL};

    static double ns[ARMS][MAX_ROUNDS];
    size_t at = 0;
    for (int arm = 0; arm < ARMS; arm++) /* warm-up, not recorded */
        (void)round_ns(arm_model[arm], &fb, fb.n, pre, &all, &at);
    for (size_t r = 0; r < rounds; r++)
        for (int k = 0; k < ARMS; k++) { /* the order rotates every round */
            int arm = (int)((r + (size_t)k) % ARMS);
            ns[arm][r] = round_ns(arm_model[arm], &fb, fb.n, pre, &all, &at);
        }
    for (int arm = 0; arm < ARMS; arm++)
        printf("preprocess_%s_ns_per_post: %.0f\n", arm_name[arm],
               pp__stats_median(ns[arm], rounds));
    /* > 1: the neighbour took longer after the fp32 model than after int8 */
    ratio_line("preprocess_after_fp32_vs_after_int8", ns[AFTER_FP32], ns[AFTER_INT8], rounds);
    ratio_line("preprocess_after_fp32_vs_alone", ns[AFTER_FP32], ns[ALONE], rounds);
    ratio_line("preprocess_after_int8_vs_alone", ns[AFTER_INT8], ns[ALONE], rounds);
    printf("rounds: %zu\n", rounds);

    posts_model_free(m);
    posts_model_free(q);
    posts_preprocessor_free(pre);
    posts_feature_batch_release(&fb);
    posts_batch_release(&all);
    bench_posts_data_remove("bench_model_neighbour", tmp);
    return 0;
}
#endif
