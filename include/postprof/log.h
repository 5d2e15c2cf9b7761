/*
 * postprof/log.h - The one structured logger every postprof component uses.
 *
 * A log line has a timestamp, a level, a component, an event name and
 * string fields. It is written as text or as one JSON object per line
 * (ts, level, event, component, then the fields). The default sink is
 * stderr at level WARN; the CLI sets level and format from its flags.
 * Every function here is thread-safe; none fails loudly: a write error
 * on the sink is counted, never reported.
 */
#ifndef POSTPROF_LOG_H
#define POSTPROF_LOG_H

#include <stdio.h>
#include <postprof/export.h>

enum pp_log_level { PP_LOG_DEBUG = 0, PP_LOG_INFO, PP_LOG_WARN, PP_LOG_ERROR, PP_LOG_OFF };
enum pp_log_format { PP_LOG_TEXT = 0, PP_LOG_JSON };

/* pp_log_set_level() / pp_log_set_format() - Lines below level are dropped. */
PP_EXPORT void pp_log_set_level(int level);
PP_EXPORT void pp_log_set_format(int format);
PP_EXPORT int pp_log_get_level(void);

/* pp_log_set_stream() - Write lines to f (not owned; NULL restores stderr). */
PP_EXPORT void pp_log_set_stream(FILE *f);

/* pp_log_parse_level() - "debug|info|warn|error|off" to a level; -1 if unknown. */
PP_EXPORT int pp_log_parse_level(const char *s);

/*
 * pp_log() - Log one event.
 *
 * The variadic part is pairs of (const char *key, const char *value),
 * ended by a NULL key. Values are copied; NULL values print as null.
 * Example: pp_log(PP_LOG_WARN, "http", "listen", "addr", "0.0.0.0:9464", NULL);
 */
PP_EXPORT void pp_log(int level, const char *component, const char *event, ...);

/*
 * pp_log_recent() - Copy up to cap bytes of the last log lines (text format,
 * oldest first) into out, NUL-terminated. Returns the bytes written.
 * Used by crash reports; not async-signal-safe.
 */
PP_EXPORT size_t pp_log_recent(char *out, size_t cap);

#endif
