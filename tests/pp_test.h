/*
 * pp_test.h - Shared by every cmocka test: includes, and a main() that runs
 * one case when ctest names it (argv[1]) or all cases otherwise.
 */
#ifndef PP_TEST_H
#define PP_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define PP_TEST_MAIN(tests_array)                                                                  \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        if (argc > 1)                                                                              \
            cmocka_set_test_filter(argv[1]);                                                       \
        return cmocka_run_group_tests(tests_array, NULL, NULL);                                    \
    }

#endif
