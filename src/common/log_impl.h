/*
 * log_impl.h - Library-internal access to the logger's ring of recent lines.
 */
#ifndef PP_LOG_IMPL_H
#define PP_LOG_IMPL_H

#include <stddef.h>

/* Copy the recent lines without taking the lock: only for a crash handler,
 * where a torn line is better than a deadlock. Async-signal-safe. */
size_t pp__log_recent_unlocked(char *out, size_t cap);

#endif
