/*
 * test_truth.c - The optimizer's predictions against analytic truth: the toy
 * workload's costs are known (toy_workload.h), so the time each setting
 * saves per pass is known too; the prediction must hold it within its
 * interval, the setting that does nothing must not be suggested, and int8
 * must count toy.model.predict in both stages that call it. Timing-based:
 * built for the plain Release run only (tests/analyze.cmake).
 *
 * The check uses the prediction's interval at 99.9 % (the reported 90 %
 * interval's spread on each side, times 3.29 / 1.645), so that five checks
 * per run do not fail one run in two by chance (a 90 % interval misses one
 * time in ten by design).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postprof/analyze.h>
#include <postprof/error.h>
#include <postprof/profilers.h>

#include "near.h"
#include "toy_workload.h"

#define ROWS (3.0 * 32.0) /* rows per pass: three sources of load_batch 32 */
#define WIDEN (3.2905 / 1.6449)

static const pp_experiment *find_exp(const pp_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_experiments; i++)
        if (strcmp(r->experiments[i].name, name) == 0)
            return &r->experiments[i];
    return NULL;
}

/* The time (us) a setting saves per pass, from the toy's costs. */
static double truth_us(const pp_experiment *e, double misses_per_pass)
{
    if (strcmp(e->name, "quantized") == 0) /* per item 6 -> 3 us, in inference and in misses */
        return (ROWS + misses_per_pass) * (TOY_INFER_ITEM_US - TOY_INFER_ITEM_US / 2);
    if (strcmp(e->name, "batch_size") == 0) /* fewer calls, each with its fixed cost */
        return (ROWS - ceil(ROWS / (double)e->cand_value)) * TOY_INFER_FIXED_US;
    if (strcmp(e->name, "keep_alive") == 0)
        return TOY_CONNECT_US;
    if (strcmp(e->name, "concurrent_loading") == 0) /* sum of the sources -> the slowest */
        return TOY_DB_US + TOY_FILE_US + TOY_API_US + TOY_CONNECT_US -
               (TOY_API_US + TOY_CONNECT_US);
    if (strcmp(e->name, "preprocess_threads") == 0)
        return TOY_PRE_US - (double)TOY_PRE_US / (double)e->cand_value;
    if (strcmp(e->name, "arena") == 0)
        return 0.0;
    return NAN; /* cache_capacity: depends on the trace, not analytic here */
}

static void test_predictions_hold_the_truth(void **state)
{
    (void)state;
    toy *t = toy_new();
    assert_non_null(t);
    pp_workload w;
    toy_workload(t, &w);
    pp_config cfg;
    pp_config_defaults(&cfg);
    cfg.profile.load_batches = 6;
    cfg.profile.repeats = 5;
    cfg.profile.sweep_batches = 6;
    cfg.profile.sweep_max = 64;
    cfg.profile.experiment_budget_s = 20;
    cfg.profile.target_half_width = 0.005;
    pp_report *r = pp_report_new();
    assert_non_null(r);
    assert_int_equal(pp_profile_run(&w, &cfg, r), PP_OK);

    /* misses per pass at the current settings: a whole turn of the pass's
     * window around the trace */
    unsigned long m0 = toy_pass_misses(t);
    unsigned passes = TOY_TRACE / TOY_PASS_WINDOW;
    for (unsigned i = 0; i < passes; i++) {
        pp_stage_result res;
        memset(&res, 0, sizeof res);
        assert_int_equal(w.run_stage(w.ctx, PP_STAGE_PASS, 0, &res), PP_OK);
    }
    double misses = (double)(toy_pass_misses(t) - m0) / passes;

    int checked = 0;
    for (size_t i = 0; i < r->n_experiments; i++) {
        const pp_experiment *e = &r->experiments[i];
        double us = truth_us(e, misses);
        if (isnan(us))
            continue;
        double truth = us * 1e3 / e->base_ns;
        double lo = e->predicted - WIDEN * (e->predicted - e->predicted_low);
        double hi = e->predicted + WIDEN * (e->predicted_high - e->predicted);
        print_message("%-20s truth %6.2f%%  predicted %6.2f%% (90%% %.2f-%.2f, 99.9%% %.2f-%.2f) "
                      "pass %.2f ms, %u pairs\n",
                      e->name, truth * 100, e->predicted * 100, e->predicted_low * 100,
                      e->predicted_high * 100, lo * 100, hi * 100, e->base_ns / 1e6, e->repeats);
        if (truth > 0) {
            assert_true(lo <= truth && truth <= hi);
        } else {
            /* no effect: never suggested, and nothing predicted beyond the gate */
            assert_false(e->suggested);
            assert_true(e->predicted_low <= cfg.profile.min_effect);
        }
        checked++;
    }
    assert_true(checked >= 5);

    /* int8 speeds toy.model.predict wherever it runs: the prediction counts
     * the cache's misses too (inference alone would be ROWS / (ROWS + misses)
     * of the truth) */
    const pp_experiment *q = find_exp(r, "quantized");
    assert_non_null(q);
    const pp_site_change *predict = NULL;
    for (size_t i = 0; i < q->n_sites; i++)
        if (strcmp(q->sites[i].name, "toy.model.predict") == 0)
            predict = &q->sites[i];
    assert_non_null(predict);
    assert_true(predict->significant);
    double infer_only = ROWS * (TOY_INFER_ITEM_US - TOY_INFER_ITEM_US / 2) * 1e3 / q->base_ns;
    print_message("quantized: inference alone would be %.2f%%\n", infer_only * 100);
    assert_true(q->predicted_low > infer_only);

    /* the knob with no effect is not suggested */
    for (size_t i = 0; i < r->n_suggestions; i++)
        assert_int_not_equal(r->suggestions[i].knob, PP_KNOB_ARENA);
    pp_report_free(r);
    toy_free(t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_predictions_hold_the_truth),
};

PP_TEST_MAIN(tests)
