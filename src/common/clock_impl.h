/*
 * clock_impl.h - Inline raw timestamp read for the hot path.
 * Must stay free of system calls when the TSC is used.
 */
#ifndef PP_CLOCK_IMPL_H
#define PP_CLOCK_IMPL_H

#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

extern int pp__clock_tsc; /* 1 when ticks come from rdtsc; set once by pp__clock_init() */

void pp__clock_init(void);

/* A tick value as CLOCK_MONOTONIC ns (through the calibrated ratio). */
uint64_t pp__clock_ticks_to_mono_ns(uint64_t ticks);

static inline uint64_t pp__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The fallback out of line: inlined, its timespec would give every hot
 * function a stack frame and saved registers. */
uint64_t pp__mono_ns_slow(void) __attribute__((cold, noinline));

static inline uint64_t pp__ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_expect(pp__clock_tsc, 1))
        return __rdtsc();
#endif
    return pp__mono_ns_slow();
}

#endif
