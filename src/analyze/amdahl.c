/*
 * amdahl.c - The arithmetic behind every expected improvement: Amdahl's law
 * over a stage's share and speedup, the critical path of overlapping stages,
 * and impact levels from a gain. Pure: no I/O, no clocks.
 */
#include <math.h>

#include <postprof/analyze.h>

static double clamp01(double x)
{
    if (isnan(x) || x < 0.0)
        return 0.0;
    return x > 1.0 ? 1.0 : x;
}

double pp_amdahl_improvement(double p, double s)
{
    if (isnan(p) || isnan(s) || s <= 1.0)
        return 0.0;
    p = clamp01(p);
    if (isinf(s))
        return p;
    return clamp01(p * (1.0 - 1.0 / s));
}

double pp_amdahl_speedup(double p, double s)
{
    if (isnan(p) || isnan(s) || s <= 0.0)
        return 1.0;
    p = clamp01(p);
    return 1.0 / ((1.0 - p) + p / s);
}

double pp_critical_path_ns(const double *stage_ns, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (stage_ns[i] > m)
            m = stage_ns[i];
    return m;
}

pp_impact pp_impact_from_gain(double gain)
{
    if (gain >= 0.20)
        return PP_IMPACT_HIGH;
    if (gain >= 0.05)
        return PP_IMPACT_MEDIUM;
    return PP_IMPACT_LOW;
}
