/*
 * work_shares.c - Accuracy workload for `postprof record`: three functions
 * burn CPU in 60/30/10 proportions (same inlined loop, 6:3:1 iterations),
 * in N threads (argv[1], default 1) for about argv[2] ms of CPU per thread;
 * with argv[3] "wait", only after a line on stdin (so that a profiler can
 * attach to the running process first and must find the threads it starts).
 * It measures the truth itself: each burner's thread CPU time, summed over
 * threads, as a share of the process's CPU time, printed as
 * `work_shares truth burn_sixty=S burn_thirty=T burn_ten=U` (percent). On a
 * loaded machine (vCPU steal, preemption) the split drifts from 60/30/10 and
 * a profiler must follow the drift, not the iteration counts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static _Atomic uint64_t spent_ns[3];

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg)
{
    (void)arg;
    uint64_t spent[3] = {0, 0, 0};
    for (uint64_t r = 0; r < rounds; r++) {
        uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        burn_sixty(20000);
        uint64_t t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        burn_thirty(20000);
        uint64_t t2 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        burn_ten(20000);
        uint64_t t3 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        spent[0] += t1 - t0;
        spent[1] += t2 - t1;
        spent[2] += t3 - t2;
    }
    for (int i = 0; i < 3; i++)
        atomic_fetch_add(&spent_ns[i], spent[i]);
    return NULL;
}

static double cpu_now(void)
{
    return (double)clock_ns(CLOCK_THREAD_CPUTIME_ID) * 1e-9;
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
    if (argc > 3 && strcmp(argv[3], "wait") == 0) {
        char line[16];
        if (!fgets(line, sizeof line, stdin))
            return 3;
    }
    pthread_t th[256];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            return 1;
    worker(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(th[i], NULL);
    double all = (double)clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    printf("work_shares truth burn_sixty=%.2f burn_thirty=%.2f burn_ten=%.2f\n",
           100.0 * (double)spent_ns[0] / all, 100.0 * (double)spent_ns[1] / all,
           100.0 * (double)spent_ns[2] / all);
    printf("work_shares done %d\n", threads);
    return 0;
}
