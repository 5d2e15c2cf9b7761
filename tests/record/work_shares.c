/*
 * work_shares.c - Accuracy workload for `postprof record`: three functions
 * burn CPU in 60/30/10 proportions (same inlined loop, 6:3:1 iterations),
 * in N threads (argv[1], default 1) for about argv[2] ms of CPU per thread;
 * with argv[3] "wait", only after a line on stdin (so that a profiler can
 * attach to the running process first and must find the threads it starts).
 * It measures the truth itself: each burner's thread CPU time, summed over
 * threads, as a share of the process's CPU time, printed as
 * `work_shares truth burn_sixty=S burn_thirty=T burn_ten=U` (percent), for
 * diagnosis: its clock reads (system calls through the vDSO) bias it by a
 * few points on a loaded machine, so the tests judge the split among the
 * burners against the iteration counts (test_record.py, check_shares).
 * Also `work_shares main_cpu_ms=M`: the main thread's CPU from "go" (or the
 * start of the work) to the end, which a profiler attached before "go"
 * must account for, and `work_shares workers_cpu_ms=W`: the CPU of the
 * threads it started, each from its start. With argv[4] "one_by_one" the
 * threads run one after another (each started when the one before ended)
 * and the main thread only waits: a profiler attached before "go" finds
 * each only after it started, by which time it has used part of its CPU.
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

/* Short rounds (~35 us: 21, 10.5 and 3.5 us): a profiler's ticks that come
 * late or in bunches on a loaded VM still fall across many rounds, so the
 * test measures the profiler, not the clumping of the host's timers. The
 * truth: every TRUTH_EVERY-th round calls each burner TRUTH_CALLS times
 * between two CPU-clock reads (the reads' own cost, measured at start,
 * taken off), which gives each burner's CPU per call; times its calls. */
#define UNIT 2000
#define TRUTH_EVERY 16
#define TRUTH_CALLS 4

static uint64_t clock_cost_ns;
static _Atomic uint64_t workers_ns; /* the started threads' CPU, each from its start */

static void *worker(void *arg)
{
    (void)arg;
    static void (*const burners[3])(uint64_t) = {burn_sixty, burn_thirty, burn_ten};
    uint64_t spent[3] = {0, 0, 0}, timed_calls = 0, calls = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        if (r % TRUTH_EVERY) {
            burn_sixty(UNIT);
            burn_thirty(UNIT);
            burn_ten(UNIT);
            calls++;
            continue;
        }
        for (int f = 0; f < 3; f++) {
            uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            for (int k = 0; k < TRUTH_CALLS; k++)
                burners[f](UNIT);
            uint64_t d = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
            spent[f] += d > clock_cost_ns ? d - clock_cost_ns : 0;
        }
        timed_calls += TRUTH_CALLS;
        calls += TRUTH_CALLS;
    }
    for (int i = 0; i < 3; i++)
        atomic_fetch_add(&spent_ns[i], timed_calls ? spent[i] * calls / timed_calls : 0);
    if (arg) /* a started thread: its CPU since it started */
        atomic_fetch_add(&workers_ns, clock_ns(CLOCK_THREAD_CPUTIME_ID));
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
    clock_cost_ns = UINT64_MAX;
    for (int i = 0; i < 200; i++) {
        uint64_t a = clock_ns(CLOCK_THREAD_CPUTIME_ID), b = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        if (b - a < clock_cost_ns)
            clock_cost_ns = b - a;
    }
    /* calibrate: the cost of a round (10 units) */
    double t0 = cpu_now();
    rounds = 320;
    worker(NULL);
    double per_round = (cpu_now() - t0) / 320;
    rounds = (uint64_t)(ms / 1000.0 / per_round) + 1;
    if (argc > 3 && strcmp(argv[3], "wait") == 0) {
        char line[16];
        if (!fgets(line, sizeof line, stdin))
            return 3;
    }
    /* the main thread's CPU from here on: what a profiler attached before
     * "go" samples of it */
    uint64_t main0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    pthread_t th[256];
    int one_by_one = argc > 4 && strcmp(argv[4], "one_by_one") == 0;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&th[i], NULL, worker, th) != 0)
            return 1;
        if (one_by_one)
            pthread_join(th[i], NULL);
    }
    if (!one_by_one)
        worker(NULL);
    for (int i = 1; i < threads && !one_by_one; i++)
        pthread_join(th[i], NULL);
    uint64_t main_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - main0;
    double all = (double)clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    printf("work_shares truth burn_sixty=%.2f burn_thirty=%.2f burn_ten=%.2f\n",
           100.0 * (double)spent_ns[0] / all, 100.0 * (double)spent_ns[1] / all,
           100.0 * (double)spent_ns[2] / all);
    printf("work_shares main_cpu_ms=%.1f\n", (double)main_ns / 1e6);
    printf("work_shares workers_cpu_ms=%.1f\n", (double)workers_ns / 1e6);
    printf("work_shares done %d\n", threads);
    return 0;
}
