/*
 * ticks.h - The CPU a sample stands for, in whole sampling periods of the
 * thread's CPU clock. Pure, so that it is tested apart from the signal
 * handler that calls it (timer.c).
 */
#ifndef PP_PRELOAD_TICKS_H
#define PP_PRELOAD_TICKS_H

#include <stdint.h>

/*
 * Whole periods of period_ns in the thread's CPU clock from *last to cpu;
 * *last advances by them, the rest carried to the next call. 0: less than
 * a period since (the tick came early: in a VM the task-clock counter also
 * runs while the hypervisor has the vCPU), no sample; its CPU goes with
 * the next one. Rounding each sample to the nearest period instead, with
 * no carry, counted a period for every tick: threads of 8 ms CPU ticked at
 * about 7 ms under steal each counted 10 ms (16 to 38 % more than the
 * threads' CPU on the project's 2-core VM).
 */
static inline uint64_t pp_pl_cpu_periods(uint64_t cpu, uint64_t *last, uint64_t period_ns)
{
    if (period_ns == 0 || cpu <= *last)
        return 0;
    uint64_t n = (cpu - *last) / period_ns;
    *last += n * period_ns;
    return n;
}

#endif
