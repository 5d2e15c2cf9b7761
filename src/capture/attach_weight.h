/*
 * attach_weight.h - The CPU the samples of an attached thread stand for
 * (record_attach.c). Each sample comes with its task-clock period, which
 * can add up to more or less than the thread used (pp__attach_drain_ns);
 * the thread's CPU clock (/proc/PID/task/TID/schedstat) is what is shared
 * among the samples. Pure, for the tests.
 */
#ifndef PP_CAPTURE_ATTACH_WEIGHT_H
#define PP_CAPTURE_ATTACH_WEIGHT_H

#include <stdint.h>

/*
 * The ns that one drain's samples stand for: the thread's CPU since
 * sampling began (cpu_ns) less what earlier drains gave (*given_ns,
 * advanced), all of it. Their task-clock periods (periods_ns) say it
 * wrongly both ways: in a VM the counter also runs while the hypervisor
 * holds the vCPU (steal), and a tick that lands while the thread is in the
 * kernel is dropped by an event that excludes the kernel, its period lost
 * (2 to 3 % of a busy thread's CPU here: 2047 ms of periods for 2094 ms).
 * A drain without samples gives nothing (its CPU waits for the next one);
 * cpu_known 0 (not readable, e.g. the thread has exited): the periods.
 */
static inline uint64_t pp__attach_drain_ns(uint64_t periods_ns, uint64_t cpu_ns, int cpu_known,
                                           uint64_t *given_ns)
{
    uint64_t t = periods_ns;
    if (cpu_known)
        t = periods_ns && cpu_ns > *given_ns ? cpu_ns - *given_ns : 0;
    *given_ns += t;
    return t;
}

/* One drain's samples: their periods added up, the ns they stand for
 * (pp__attach_drain_ns), and how much of both the samples taken so far had. */
typedef struct pp__attach_drain {
    uint64_t periods_ns, drain_ns;
    uint64_t seen_ns, shared_ns;
} pp__attach_drain;

/*
 * Ticks of tick_ns for the drain's next sample, of period_ns: its share of
 * drain_ns (the shares add up to drain_ns exactly), in whole ticks, the
 * rest carried (*carry_ns) to the thread's next sample. 0: no tick yet
 * (its CPU goes with the next).
 */
static inline uint64_t pp__attach_sample_ticks(pp__attach_drain *d, uint64_t period_ns,
                                               uint64_t tick_ns, uint64_t *carry_ns)
{
    if (!tick_ns || !d->periods_ns)
        return 0;
    d->seen_ns += period_ns;
    uint64_t seen = d->seen_ns < d->periods_ns ? d->seen_ns : d->periods_ns;
    uint64_t upto = seen == d->periods_ns
                        ? d->drain_ns
                        : (uint64_t)((long double)seen * d->drain_ns / d->periods_ns);
    *carry_ns += upto - d->shared_ns;
    d->shared_ns = upto;
    uint64_t n = *carry_ns / tick_ns;
    *carry_ns -= n * tick_ns;
    return n;
}

#endif
