/*
 * postprof/export.h - Symbol visibility and attribute macros for the public API.
 */
#ifndef POSTPROF_EXPORT_H
#define POSTPROF_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define PP_EXPORT __attribute__((visibility("default")))
#define PP_NODISCARD __attribute__((warn_unused_result))
#define PP_LIKELY(x) __builtin_expect(!!(x), 1)
#define PP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PP_EXPORT
#define PP_NODISCARD
#define PP_LIKELY(x) (x)
#define PP_UNLIKELY(x) (x)
#define PP_PRINTF(a, b)
#endif

#endif
