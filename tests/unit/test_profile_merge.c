/*
 * test_profile_merge.c - pp_profile_merge_add() (`postprof merge`): each
 * function's self and total values in the merged profile are the sums of the
 * inputs'; every sample carries its node, through a pprof write and read;
 * a merged profile merged again keeps its nodes; locations and functions the
 * inputs share are stored once; profiles counting different things are
 * refused, leaving the merged profile as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_test.h"
#include "profile_test_util.h"

#include <postprof/postprof.h>

#include "aggregate/profile_impl.h"

static const char *const texts[] = {
    "main;load;read 300\nmain;load;parse 200\nmain;infer;matmul 400\n",
    "main;load;read 10\nmain;infer;matmul 40\nmain;infer;softmax 7\n",
    "main;infer;matmul 1\nmain;other 5\n",
};
static const char *const nodes[] = {"web-1", "web-2", "batch-1"};
#define NIN 3

static pp_profile *merge_all(pp_profile **in)
{
    pp_profile *m = NULL;
    for (int i = 0; i < NIN; i++) {
        char msg[256] = "";
        int rc = pp_profile_merge_add(&m, in[i], nodes[i], msg, sizeof msg);
        if (rc != PP_OK)
            fail_msg("merge %d: %s (%s)", i, pp_strerror(rc), msg);
    }
    return m;
}

/* the row of function fn in p's top (self and total), zeros when absent */
static void row_of(const pp_profile *p, const char *fn, int64_t *self, int64_t *total)
{
    pp_profile_row rows[64];
    size_t n = 0;
    int64_t sum = 0;
    assert_int_equal(pp_profile_top(p, rows, 64, &n, &sum), PP_OK);
    *self = *total = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].function, fn) == 0) {
            *self = rows[i].self;
            *total = rows[i].total;
        }
}

static void check_sums(const pp_profile *m, pp_profile **in)
{
    static const char *const fns[] = {"main",  "load",   "read",    "parse",
                                      "infer", "matmul", "softmax", "other"};
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        int64_t ms, mt, ss = 0, st = 0;
        row_of(m, fns[f], &ms, &mt);
        for (int i = 0; i < NIN; i++) {
            int64_t s, t;
            row_of(in[i], fns[f], &s, &t);
            ss += s;
            st += t;
        }
        if (ms != ss || mt != st)
            fail_msg("%s: merged self %lld total %lld, inputs %lld %lld", fns[f], (long long)ms,
                     (long long)mt, (long long)ss, (long long)st);
        assert_true(st > 0);
    }
    for (int i = 0; i < NIN; i++)
        assert_int_equal(pp_profile_node_total(m, nodes[i]), pp_profile_value_total(in[i], 0));
    assert_int_equal(pp_profile_node_total(m, NULL), 0);
}

static void test_merge_totals_are_sums(void **state)
{
    (void)state;
    pp_profile *in[NIN];
    for (int i = 0; i < NIN; i++)
        in[i] = pt_profile_parse(texts[i]);
    pp_profile *m = merge_all(in);
    check_sums(m, in);
    assert_int_equal(pp_profile_value_total(m, 0), 300 + 200 + 400 + 10 + 40 + 7 + 1 + 5);
    const char *names[4];
    size_t n = 0;
    assert_int_equal(pp_profile_nodes(m, names, 4, &n), PP_OK);
    assert_int_equal(n, NIN);
    for (int i = 0; i < NIN; i++)
        assert_string_equal(names[i], nodes[i]);
    pp_profile_free(m);
    for (int i = 0; i < NIN; i++)
        pp_profile_free(in[i]);
}

static void test_merge_shares_locations(void **state)
{
    (void)state;
    pp_profile *in[NIN];
    size_t locs_in = 0;
    for (int i = 0; i < NIN; i++) {
        in[i] = pt_profile_parse(texts[i]);
        locs_in += in[i]->nlocs;
    }
    pp_profile *m = merge_all(in);
    check_sums(m, in);
    /* main load read parse infer matmul softmax other: each function and its
     * one location once, not once per input (16 locations in all) */
    assert_int_equal(locs_in, 6 + 6 + 4);
    assert_int_equal(m->nfuncs, 8);
    assert_int_equal(m->nlocs, 8);
    for (size_t i = 0; i < m->nlocs; i++)
        for (size_t j = i + 1; j < m->nlocs; j++)
            assert_false(m->locs[i].nlines == 1 && m->locs[j].nlines == 1 &&
                         m->lines[m->locs[i].first_line].func ==
                             m->lines[m->locs[j].first_line].func);
    /* the same input once more, as another node: nothing new but its samples */
    size_t samples = m->nsamples;
    char msg[256] = "";
    assert_int_equal(pp_profile_merge_add(&m, in[0], "web-1-again", msg, sizeof msg), PP_OK);
    assert_int_equal(m->nlocs, 8);
    assert_int_equal(m->nfuncs, 8);
    assert_int_equal(m->nsamples, samples + in[0]->nsamples);
    assert_int_equal(pp_profile_node_total(m, "web-1-again"), pp_profile_value_total(in[0], 0));
    int64_t s, t;
    row_of(m, "read", &s, &t);
    assert_int_equal(s, 300 + 10 + 300); /* web-1, web-2, web-1 again */
    pp_profile_free(m);
    for (int i = 0; i < NIN; i++)
        pp_profile_free(in[i]);
}

static void test_merge_nodes_survive_pprof(void **state)
{
    (void)state;
    pp_profile *in[NIN];
    for (int i = 0; i < NIN; i++)
        in[i] = pt_profile_parse(texts[i]);
    pp_profile *m = merge_all(in);
    pp_profile *back = pt_profile_through(m, PP_FORMAT_PPROF);
    check_sums(back, in);
    char err[256] = "";
    /* merged again with a new node: the nodes it has stay */
    pp_profile *extra = pt_profile_parse("main;late 9\n");
    assert_int_equal(pp_profile_merge_add(&back, extra, "late-node", err, sizeof err), PP_OK);
    for (int i = 0; i < NIN; i++)
        assert_int_equal(pp_profile_node_total(back, nodes[i]), pp_profile_value_total(in[i], 0));
    assert_int_equal(pp_profile_node_total(back, "late-node"), 9);
    size_t n = 0;
    assert_int_equal(pp_profile_nodes(back, NULL, 0, &n), PP_OK);
    assert_int_equal(n, NIN + 1);
    pp_profile_free(extra);
    pp_profile_free(back);
    pp_profile_free(m);
    for (int i = 0; i < NIN; i++)
        pp_profile_free(in[i]);
}

static void test_merge_refuses_other_kinds(void **state)
{
    (void)state;
    pp_profile *cpu = pt_profile_parse(texts[0]);
    pp_profile *m = NULL;
    char msg[256] = "";
    assert_int_equal(pp_profile_merge_add(&m, cpu, "a", msg, sizeof msg), PP_OK);
    pp_profile *mem = pp__profile_new(PP_PROFILE_MEM);
    assert_non_null(mem);
    pp_profile *before = m;
    size_t samples = pp_profile_sample_count(m);
    assert_int_equal(pp_profile_merge_add(&m, mem, "b", msg, sizeof msg), PP_EINVAL);
    assert_ptr_equal(m, before);
    assert_int_equal(pp_profile_sample_count(m), samples);
    assert_non_null(strstr(msg, "alloc_space"));
    assert_non_null(strstr(msg, "samples/count"));
    assert_int_equal(pp_profile_merge_add(NULL, cpu, "a", msg, sizeof msg), PP_EINVAL);
    pp_profile_free(mem);
    pp_profile_free(m);
    pp_profile_free(cpu);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_merge_totals_are_sums),
    cmocka_unit_test(test_merge_shares_locations),
    cmocka_unit_test(test_merge_nodes_survive_pprof),
    cmocka_unit_test(test_merge_refuses_other_kinds),
};

PP_TEST_MAIN(tests)
