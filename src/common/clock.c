/*
 * clock.c - TSC detection and tick-to-ns calibration against CLOCK_MONOTONIC.
 * The calibration base is taken once; the ratio is recomputed on demand over
 * the longest interval available. Never used on a hot path except pp__ticks().
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "clock_impl.h"
#include <postprof/clock.h>

int pp__clock_tsc = 0;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint64_t base_ticks, base_ns;
static double init_ratio = 1.0;
static uint64_t init_ns; /* the first calibration's interval */

static int tsc_invariant(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return 0;
    __cpuid(0x80000007u, a, b, c, d);
    return (d >> 8) & 1u;
#else
    return 0;
#endif
}

/* Pair a tick read with a monotonic read, keeping the tightest of a few tries. */
static void paired_read(uint64_t *out_ticks, uint64_t *out_ns)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = pp__ticks();
        uint64_t ns = pp__mono_ns();
        uint64_t t1 = pp__ticks();
        if (t1 - t0 < best) {
            best = t1 - t0;
            *out_ticks = t0 + (t1 - t0) / 2;
            *out_ns = ns;
        }
    }
}

static void do_init(void)
{
    const char *force = getenv("POSTPROF_CLOCK");
    pp__clock_tsc = tsc_invariant();
    if (force && strcmp(force, "monotonic") == 0)
        pp__clock_tsc = 0;
    if (!pp__clock_tsc)
        return;
    paired_read(&base_ticks, &base_ns);
    /* a short first calibration (2 ms); pp_clock_ns_per_tick() refines it */
    uint64_t t = 0, ns = 0;
    do {
        paired_read(&t, &ns);
    } while (ns - base_ns < 2000000u);
    init_ratio = (double)(ns - base_ns) / (double)(t - base_ticks);
    init_ns = ns - base_ns;
}

void pp__clock_init(void)
{
    pthread_once(&once, do_init);
}

uint64_t pp_clock_now_ns(void)
{
    return pp__mono_ns();
}

uint64_t pp_clock_ticks(void)
{
    pp__clock_init();
    return pp__ticks();
}

double pp_clock_ns_per_tick(void)
{
    pp__clock_init();
    if (!pp__clock_tsc)
        return 1.0;
    uint64_t t = 0, ns = 0;
    paired_read(&t, &ns);
    /* the longest interval gives the best ratio: the error is the read
     * jitter over the interval, so 2 ms can be 1 % off on a virtual machine */
    if (ns - base_ns <= init_ns || t <= base_ticks)
        return init_ratio;
    return (double)(ns - base_ns) / (double)(t - base_ticks);
}

const char *pp_clock_source(void)
{
    pp__clock_init();
    return pp__clock_tsc ? "tsc" : "monotonic";
}

uint64_t pp_clock_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pp__clock_ticks_to_mono_ns(uint64_t ticks)
{
    pp__clock_init();
    if (!pp__clock_tsc)
        return ticks;
    double r = pp_clock_ns_per_tick();
    double d = ((double)ticks - (double)base_ticks) * r;
    return (uint64_t)((double)base_ns + d);
}

uint64_t pp__mono_ns_slow(void)
{
    return pp__mono_ns();
}
