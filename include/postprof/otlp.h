/*
 * otlp.h - OpenTelemetry out: spans and metrics sent over OTLP/HTTP, and W3C
 * trace context across processes (docs/telemetry.md).
 *
 * Setting OTEL_EXPORTER_OTLP_ENDPOINT (or the per-signal endpoints) is
 * enough: the library starts exporting when it is loaded and flushes at exit,
 * with no call from the program. These functions are for programs that want
 * to control it, and for carrying trace context over their own protocols.
 */
#ifndef POSTPROF_OTLP_H
#define POSTPROF_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/export.h>

/*
 * pp_otlp_start() - Read the OTEL_* environment and start the exporter's
 * background thread if an endpoint is set and OTEL_SDK_DISABLED is not true.
 * Malformed values are logged (component "otlp") and replaced by defaults.
 * Returns PP_OK (also when nothing is configured, or already started),
 * PP_ENOMEM, PP_EUNAVAIL when the thread could not start. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int pp_otlp_start(void);

/* pp_otlp_active() - 1 while the exporter runs. */
PP_EXPORT int pp_otlp_active(void);

/*
 * pp_otlp_shutdown() - Send what is queued (spans, then the metrics once
 * more) and stop, within timeout_ms: a request still retrying then is
 * dropped and counted. Returns PP_OK, or PP_ETIMEOUT when the deadline cut
 * the flush short. Also run at exit (deadline: the export timeout, at most
 * 5 s). A no-op when not started. Thread-safe; not from a signal handler.
 */
PP_EXPORT int pp_otlp_shutdown(uint64_t timeout_ms);

/*
 * pp_otlp_flush() - Wake the sender to send what is queued now, and wait at
 * most timeout_ms for that round to finish. PP_OK, PP_ETIMEOUT, PP_ESTATE
 * when not started.
 */
PP_EXPORT int pp_otlp_flush(uint64_t timeout_ms);

/* Counts since start, for tests and `postprof` status lines. */
typedef struct pp_otlp_stats {
    uint64_t spans_sent;       /* accepted by the receiver (2xx) */
    uint64_t spans_dropped;    /* lost: full queue, 400, retries or deadline used up */
    uint64_t spans_skipped;    /* of spans_dropped: scopes and async spans that ran while
                                  recording was paused on a full queue (counted after a pause,
                                  at the end of the sender's round, and at shutdown) */
    uint64_t points_sent;      /* metric data points accepted */
    uint64_t points_dropped;   /* metric data points lost */
    uint64_t requests;         /* POST attempts, retries included */
    uint64_t retries;          /* attempts after the first of a request */
    uint64_t rejected_partial; /* rejected in partial_success answers */
    uint64_t paused;           /* times span recording paused on a full queue */
    uint32_t queue_capacity;   /* spans each thread's queue holds */
} pp_otlp_stats;

/* pp_otlp_get_stats() - Copy the counts. Thread-safe; zeros when never started. */
PP_EXPORT void pp_otlp_get_stats(pp_otlp_stats *out);

#define PP_TRACEPARENT_SIZE 56 /* 55 characters and the NUL */

/*
 * pp_otlp_traceparent() - The W3C traceparent of the calling thread's
 * innermost recorded span ("00-<trace>-<span>-01") into out (cap >= 56); in a
 * trace the sampler left out, the one of its root here, with flags 00 (the
 * request still carries the trace and the decision). Returns 55, or 0 (out
 * "") when spans are not being recorded or no scope is open on this thread.
 */
PP_EXPORT size_t pp_otlp_traceparent(char *out, size_t cap);

/*
 * pp_otlp_async_traceparent() - The same for an open async span (best begun
 * with PP_ASYNC_BEGIN_CLIENT around a request): its own span id, its trace
 * (that of the span open on its thread when it began, else a new one),
 * flags 01 when it is recorded, 00 when its trace was sampled out. Returns
 * 55, or 0 (out "") when the span is not open or began while spans were not
 * recorded. Any thread.
 */
PP_EXPORT size_t pp_otlp_async_traceparent(uint64_t span /* a pp_span */, char *out, size_t cap);

/*
 * pp_otlp_tracestate() - The tracestate received with the remote context this
 * thread continues (pp_otlp_continue()), or NULL. Valid until the next call
 * of pp_otlp_continue*() on this thread.
 */
PP_EXPORT const char *pp_otlp_tracestate(void);

/*
 * pp_otlp_continue() - Make the calling thread's next root span a child of
 * the remote span in traceparent (its trace id, its span as parent, its
 * sampled flag for the parent-based samplers). tracestate (may be NULL) is
 * kept when valid, dropped otherwise. Lasts until pp_otlp_continue_clear().
 * Returns PP_OK, or PP_EFORMAT for a malformed traceparent (then nothing
 * changes: the next root span starts a new trace).
 */
PP_EXPORT PP_NODISCARD int pp_otlp_continue(const char *traceparent, const char *tracestate);

/* pp_otlp_continue_clear() - Root spans start new traces again. */
PP_EXPORT void pp_otlp_continue_clear(void);

#endif
