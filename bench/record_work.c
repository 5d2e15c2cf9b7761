/*
 * record_work.c - Workloads for bench_record, built without sanitizers so
 * profilers can be preloaded into them: "cpu N" (N rounds of pure
 * arithmetic), "alloc N" (N malloc/free pairs of 16..2048 bytes, 64 live).
 * Prints "loop_ns: X", the wall time of the measured loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static uint64_t cpu_round(uint64_t x)
{
    for (int i = 0; i < 100000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull + (x >> 13);
    return x;
}

__attribute__((noinline)) static void alloc_loop(long n)
{
    void *live[64] = {0};
    uint64_t r = 88172645463325252ull;
    for (long i = 0; i < n; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        unsigned slot = (unsigned)(r & 63);
        free(live[slot]);
        live[slot] = malloc(16 + (size_t)((r >> 8) & 2031));
    }
    for (int i = 0; i < 64; i++)
        free(live[i]);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    long n = atol(argv[2]);
    uint64_t t0 = now_ns();
    if (strcmp(argv[1], "cpu") == 0) {
        uint64_t x = 1;
        for (long i = 0; i < n; i++)
            x = cpu_round(x);
        sink = x;
    } else if (strcmp(argv[1], "alloc") == 0) {
        alloc_loop(n);
    } else {
        return 2;
    }
    printf("loop_ns: %llu\n", (unsigned long long)(now_ns() - t0));
    return 0;
}
