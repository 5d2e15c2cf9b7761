/*
 * test_instrument.c - Whole-program mode: functions compiled with
 * -finstrument-functions are recorded as scopes and named from their addresses.
 */
#include <string.h>

#include "pp_test.h"
#include "unit/instrumented_code.h"
#include <postprof/postprof.h>

static void functions_become_named_scopes(void **state)
{
    (void)state;
    assert_int_equal(ic_fib(15), 610);
    assert_int_equal(ic_sum_squares(10), 285);
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    const pp_site_stats *fib = pp_snapshot_find(snap, "ic_fib");
    const pp_site_stats *sum = pp_snapshot_find(snap, "ic_sum_squares");
    const pp_site_stats *leaf = pp_snapshot_find(snap, "leaf_square"); /* static: via libdw */
    assert_non_null(fib);
    assert_non_null(sum);
    assert_int_equal(fib->count, 1973); /* calls of fib(15) */
    assert_int_equal(sum->count, 1);
    assert_true((fib->flags & PP_SITE_FUNC) != 0);
    assert_non_null(leaf); /* built with -fno-inline */
    assert_int_equal(leaf->count, 10);
    assert_int_equal(leaf->parent_id, sum->id);
    assert_true(sum->self_ns <= sum->total_ns);
    /* recursion: the call tree points fib at itself */
    assert_true(fib->parent_id == fib->id || fib->parent_id == 0);
    pp_snapshot_info info;
    pp_snapshot_get_info(snap, &info);
    assert_int_equal(info.misnested_ends, 0);
    pp_snapshot_free(snap);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(functions_become_named_scopes),
};
PP_TEST_MAIN(tests)
