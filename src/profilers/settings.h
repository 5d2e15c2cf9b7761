/*
 * settings.h - What a profiling run was run with, recorded into the report
 * (pp_report.settings) so that `postprof compare` can refuse runs that are
 * not comparable. Library-internal.
 */
#ifndef PP_PROFILERS_SETTINGS_H
#define PP_PROFILERS_SETTINGS_H

#include <stddef.h>

#include <postprof/config.h>
#include <postprof/report.h>
#include <postprof/workload.h>

/*
 * pp__prof_settings() - Record the workload (name, sources, models), the value
 * of every knob it has, the profile sizes of cfg, and the machine (CPU model,
 * CPUs, memory, architecture) as settings of r. Knobs are read with get_knob
 * (no stage runs). Settings that do not fit are dropped; never fails.
 */
void pp__prof_settings(const pp_workload *w, const pp_profiler_cfg *cfg, pp_report *r);

/*
 * pp__cpuinfo_model() - The first "model name" of /proc/cpuinfo text
 * (text[0..len), need not be NUL-terminated) into out (cap > 0, always
 * NUL-terminated), blanks trimmed. Returns 0, or -1 when there is none
 * (out = ""). Pure.
 */
int pp__cpuinfo_model(const char *text, size_t len, char *out, size_t cap);

#endif
