/*
 * work_mem.c - Allocation workload with known numbers for `postprof record
 * --mem`: alloc_small allocates COUNT x 1000 bytes and frees them all,
 * alloc_large COUNT/2 x 4000 bytes and leaks LEAK of them, alloc_zeroed
 * callocs 10 x 100000 and reallocs each to 200000, then frees them.
 * argv[1] = COUNT (default 1000), argv[2] = LEAK (default 100).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile keep;

__attribute__((noinline)) void alloc_small(int count);
__attribute__((noinline)) void alloc_large(int count, int leak);
__attribute__((noinline)) void alloc_zeroed(void);

__attribute__((noinline)) void alloc_small(int count)
{
    for (int i = 0; i < count; i++) {
        char *p = malloc(1000);
        memset(p, 1, 1000);
        keep = p;
        free(p);
    }
}

__attribute__((noinline)) void alloc_large(int count, int leak)
{
    for (int i = 0; i < count; i++) {
        char *p = malloc(4000);
        p[0] = 1;
        keep = p;
        if (i >= leak)
            free(p);
    }
}

__attribute__((noinline)) void alloc_zeroed(void)
{
    void *v[10];
    for (int i = 0; i < 10; i++)
        v[i] = calloc(10, 10000);
    for (int i = 0; i < 10; i++)
        v[i] = realloc(v[i], 200000);
    for (int i = 0; i < 10; i++)
        free(v[i]);
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 1000;
    int leak = argc > 2 ? atoi(argv[2]) : 100;
    alloc_small(count);
    alloc_large(count / 2, leak);
    alloc_zeroed();
    printf("work_mem done\n");
    return 0;
}
