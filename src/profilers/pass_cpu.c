/*
 * pass_cpu.c - Which CPU a pass ran on, and whether the passes at one
 * setting took longer on one CPU than on another.
 *
 * On a VM the CPUs need not be alike: on the 2-core machine the project is
 * measured on, one vCPU at times reads memory half as fast as the other (a
 * probe pinned to each: 12.5 against 6.0 ms for the same reads, the same
 * arithmetic at 23 ms on both), for tens of seconds at a time, and a pass
 * takes 140 or 200 ms at one setting by where its thread landed. The
 * report says so, with the interval, when it happens. (Pinning the passes
 * to one CPU was tried and dropped: concurrent loading's loaders then take
 * the consumer's CPU from it, and its gain went from +9 % to -10 %.)
 */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "analyze/stats.h"
#include "profilers/prof_impl.h"

#define MIN_PER_CPU 3      /* passes on each of two CPUs before they are compared */
#define DIFFERS_ABOVE 1.05 /* the slower CPU's interval wholly above this */

void pp__prof_pass_cpu(int *cpu, long *migrations)
{
    *cpu = sched_getcpu();
    *migrations = -1;
    FILE *f = fopen("/proc/thread-self/sched", "r"); /* with CONFIG_SCHED_DEBUG */
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "se.nr_migrations", 16) == 0) {
            const char *colon = strchr(line, ':');
            *migrations = colon ? strtol(colon + 1, NULL, 10) : -1;
            break;
        }
    fclose(f);
}

void pp__prof_cpu_split(const double *ns, const int *cpu, size_t n, pp_cpu_split *out)
{
    memset(out, 0, sizeof *out);
    out->slow_cpu = out->quick_cpu = -1;
    if (!ns || !cpu || n == 0)
        return;
    /* the two CPUs with the most passes */
    int a = -1, b = -1;
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        if (cpu[i] < 0) {
            out->moved_passes++;
            continue;
        }
        if (cpu[i] == a || cpu[i] == b)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            k += cpu[j] == cpu[i];
        if (k > na) {
            b = a, nb = na;
            a = cpu[i], na = k;
        } else if (k > nb) {
            b = cpu[i], nb = k;
        }
    }
    if (na < MIN_PER_CPU || nb < MIN_PER_CPU)
        return;
    double *xa = malloc(na * sizeof *xa), *xb = malloc(nb * sizeof *xb);
    if (!xa || !xb)
        goto out;
    size_t ia = 0, ib = 0;
    for (size_t i = 0; i < n; i++) {
        if (cpu[i] == a)
            xa[ia++] = ns[i];
        else if (cpu[i] == b)
            xb[ib++] = ns[i];
    }
    pp__ratio_est e;
    if (pp__stats_unpaired(xa, na, xb, nb, 0.95, 0.0, &e) != PP_OK)
        goto out;
    int b_slower = e.ratio >= 1.0;
    if (!b_slower && pp__stats_unpaired(xb, nb, xa, na, 0.95, 0.0, &e) != PP_OK)
        goto out;
    /* too few passes on one CPU (3 and 3) leave the rank interval unbounded:
     * nothing is said rather than a ratio without its interval */
    if (!(e.low > 0.0) || !isfinite(e.high))
        goto out;
    out->known = 1;
    out->slow_cpu = b_slower ? b : a;
    out->quick_cpu = b_slower ? a : b;
    out->slow_passes = (unsigned)(b_slower ? nb : na);
    out->quick_passes = (unsigned)(b_slower ? na : nb);
    /* the two times from the same estimate as the ratio, so they never disagree */
    out->quick_ns = e.base;
    out->slow_ns = e.base * e.ratio;
    out->ratio = e.ratio;
    out->ratio_low = e.low;
    out->ratio_high = e.high;
    out->differs = e.low > DIFFERS_ABOVE;
out:
    free(xa);
    free(xb);
}
