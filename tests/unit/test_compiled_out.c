/*
 * test_compiled_out.c - Built with -DPP_DISABLE_INSTRUMENTATION: every macro
 * compiles to nothing, so nothing is recorded and no scope call is made.
 */
#include <string.h>

#include "pp_test.h"
#include <postprof/postprof.h>

static int work(int x)
{
    PP_SCOPE("compiled_out.work");
    PP_SCOPE_MEM("compiled_out.mem");
    PP_SCOPE_CPU("compiled_out.cpu");
    if (x < 0)
        PP_SCOPE_FAIL();
    pp_span s;
    PP_ASYNC_BEGIN(s, "compiled_out.async");
    PP_ASYNC_END(s);
    PP_PROGRESS("compiled_out.progress");
    return x * 2;
}

static void macros_record_nothing(void **state)
{
    (void)state;
    assert_int_equal(work(21), 42);
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    assert_null(pp_snapshot_find(snap, "compiled_out.work"));
    assert_null(pp_snapshot_find(snap, "compiled_out.async"));
    assert_null(pp_snapshot_find(snap, "compiled_out.progress"));
    assert_int_equal(pp_snapshot_count(snap), 0);
    pp_snapshot_free(snap);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(macros_record_nothing),
};
PP_TEST_MAIN(tests)
