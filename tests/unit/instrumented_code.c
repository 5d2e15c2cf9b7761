/*
 * instrumented_code.c - Built with -finstrument-functions for test_instrument:
 * every function here becomes a scope in whole-program mode.
 */
#include "instrumented_code.h"

static int leaf_square(int x)
{
    return x * x;
}

int ic_fib(int n)
{
    return n < 2 ? n : ic_fib(n - 1) + ic_fib(n - 2);
}

int ic_sum_squares(int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += leaf_square(i);
    return s;
}
