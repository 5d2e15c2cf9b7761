/*
 * work_shares.c - Accuracy workload for `postprof record`: three functions
 * burn CPU in 60/30/10 proportions (same inlined loop, 6:3:1 iterations),
 * in N threads (argv[1], default 1) for about argv[2] ms of CPU per thread.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;

/* the loop is a macro, not a function: each burner's time is its own self time */
#define SPIN(n)                                                                                    \
    do {                                                                                           \
        uint64_t x = sink;                                                                         \
        for (uint64_t i = 0; i < (n); i++)                                                         \
            x = x * 6364136223846793005ull + 1442695040888963407ull + (x >> 17);                   \
        sink += x;                                                                                 \
    } while (0)

void burn_sixty(uint64_t n);
void burn_thirty(uint64_t n);
void burn_ten(uint64_t n);

__attribute__((noinline)) void burn_sixty(uint64_t n)
{
    SPIN(6 * n);
}

__attribute__((noinline)) void burn_thirty(uint64_t n)
{
    SPIN(3 * n);
}

__attribute__((noinline)) void burn_ten(uint64_t n)
{
    SPIN(n);
}

static uint64_t rounds;

static void *worker(void *arg)
{
    (void)arg;
    for (uint64_t r = 0; r < rounds; r++) {
        burn_sixty(20000);
        burn_thirty(20000);
        burn_ten(20000);
    }
    return NULL;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double ms = argc > 2 ? atof(argv[2]) : 600;
    if (threads < 1 || threads > 256)
        return 2;
    /* calibrate: one round (10 units of 20000) */
    double t0 = cpu_now();
    rounds = 20;
    worker(NULL);
    double per_round = (cpu_now() - t0) / 20;
    rounds = (uint64_t)(ms / 1000.0 / per_round) + 1;
    pthread_t th[256];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            return 1;
    worker(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("work_shares done %d\n", threads);
    return 0;
}
