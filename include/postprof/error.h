/*
 * postprof/error.h - Status codes shared by every postprof function.
 *
 * Functions that can fail return int: PP_OK (0) on success, a negative
 * PP_E* code otherwise. pp_strerror() names a code; it never fails.
 */
#ifndef POSTPROF_ERROR_H
#define POSTPROF_ERROR_H

#include <postprof/export.h>

#define PP_ERROR_LIST(X)                                                                           \
    X(PP_OK, 0, "success")                                                                         \
    X(PP_ENOMEM, -1, "out of memory")                                                              \
    X(PP_EINVAL, -2, "invalid argument")                                                           \
    X(PP_EIO, -3, "input/output error")                                                            \
    X(PP_ENOTFOUND, -4, "not found")                                                               \
    X(PP_EFORMAT, -5, "malformed input")                                                           \
    X(PP_ERANGE, -6, "value or size over its limit")                                               \
    X(PP_EBUSY, -7, "resource busy")                                                               \
    X(PP_EUNAVAIL, -8, "feature or peer unavailable")                                              \
    X(PP_ESTATE, -9, "call not valid in this state")                                               \
    X(PP_ENET, -10, "network error")                                                               \
    X(PP_ETIMEOUT, -11, "timed out")                                                               \
    X(PP_EDB, -12, "database error")                                                               \
    X(PP_EPERM, -13, "permission denied")                                                          \
    X(PP_EEXIST, -14, "already exists")                                                            \
    X(PP_EFULL, -15, "capacity exhausted")

enum pp_status {
#define PP__ERR_ENUM(name, value, text) name = value,
    PP_ERROR_LIST(PP__ERR_ENUM)
#undef PP__ERR_ENUM
};

/*
 * pp_strerror() - Human-readable text for a status code.
 *
 * Returns a static string; unknown codes give "unknown error". Thread-safe.
 */
PP_EXPORT const char *pp_strerror(int status);

#endif
