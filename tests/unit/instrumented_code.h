#ifndef PP_INSTRUMENTED_CODE_H
#define PP_INSTRUMENTED_CODE_H
int ic_fib(int n);
int ic_sum_squares(int n);
#endif
