/*
 * near.h - assert_double_equal() for cmocka versions that lack it: fails
 * the test with both values printed when |a - b| > eps.
 */
#ifndef PP_TEST_NEAR_H
#define PP_TEST_NEAR_H

#include <math.h>

#include "pp_test.h"

#ifndef assert_double_equal
static inline void pp_test_near(double a, double b, double eps, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%s:%d: %.12g != %.12g (eps %g)\n", file, line, a, b, eps);
        fail();
    }
}
#define assert_double_equal(a, b, eps) pp_test_near((a), (b), (eps), __FILE__, __LINE__)
#endif

#endif
