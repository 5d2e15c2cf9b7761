/*
 * postprof/trace.h - Scope event tracing: every ended scope as one event
 * (thread, site, start, duration), kept per thread in a ring of the most
 * recent events, for timelines (the Chrome trace of `postprof record`).
 *
 * Off by default; a switched-off trace costs the scope hot path one
 * predictable branch. `postprof record` switches it on in a profiled
 * program that links libpostprof (through POSTPROF_DIR) and puts the
 * instrumented scopes beside the samples.
 */
#ifndef POSTPROF_TRACE_H
#define POSTPROF_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>

/*
 * pp_trace_enable() - Keep the last events_per_thread ended scopes of every
 * thread (rounded up to a power of two, at most 2^22). Threads that already
 * recorded scopes start tracing at their next scope. Returns PP_OK, or
 * PP_EINVAL for 0. Thread-safe; enabling twice keeps the first size.
 */
PP_EXPORT PP_NODISCARD int pp_trace_enable(size_t events_per_thread);

/* pp_trace_enabled() - 1 when tracing is on. */
PP_EXPORT int pp_trace_enabled(void);

/*
 * pp_trace_write() - Write every traced event (live threads, and threads that
 * exited, up to 2^20 of theirs) to path by pp_file_write()'s rules
 * (postprof/file.h: atomic for a regular file), one line per event:
 * "s TID START_NS DUR_NS NAME" with START_NS on CLOCK_MONOTONIC, sorted by
 * thread then start. Returns PP_OK, pp_file_out_open()'s codes (the caller
 * knows the path), PP_ENOMEM, or PP_ESTATE when tracing is off. Thread-safe;
 * events recorded during the write may be left out.
 */
PP_EXPORT PP_NODISCARD int pp_trace_write(const char *path);

#endif
