/*
 * record_work.c - Workloads for bench_record, built without sanitizers so
 * profilers can be preloaded into them: "cpu N" (N rounds of pure
 * arithmetic), "alloc N" (N malloc/free pairs of 16..2048 bytes, 64 live).
 * Prints "loop_ns: X", the wall time of the measured loop.
 *
 * RECORD_WORK_SIGNAL_HZ=N arms, on the main thread, what a sampling profiler's
 * timer costs before any profiler code runs: a perf_event task-clock event
 * every 1/N s of CPU signalling this thread, whose handler does nothing. The
 * bench subtracts it to separate the kernel's share (timer interrupt, signal
 * frame, sigreturn) from the profiler's own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

static volatile sig_atomic_t signals_seen;

static void empty_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    signals_seen++;
}

static int arm_bare_signal(long hz)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = empty_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(SIGPROF, &sa, NULL) != 0)
        return -1;
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.size = sizeof pa;
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_TASK_CLOCK;
    pa.sample_period = (uint64_t)(1000000000 / hz);
    pa.disabled = 1;
    pa.wakeup_events = 1;
    int fd = (int)syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
    if (fd < 0)
        return -1;
    struct f_owner_ex owner = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)};
    if (fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK) != 0 || fcntl(fd, F_SETSIG, SIGPROF) != 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) != 0 || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *hz = getenv("RECORD_WORK_SIGNAL_HZ");
    if (hz && arm_bare_signal(atol(hz)) != 0) {
        perror("record_work: perf_event_open");
        return 1;
    }
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
    if (hz)
        printf("signals: %ld\n", (long)signals_seen);
    return 0;
}
