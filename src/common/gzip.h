/*
 * gzip.h - Bytes compressed whole into a gzip member (zlib, level 6): the
 * pprof files and the HTTP responses a client asks gzip for. Library-internal.
 */
#ifndef PP_COMMON_GZIP_H
#define PP_COMMON_GZIP_H

#include <stddef.h>

#include <postprof/export.h>

/*
 * pp__gzip() - in[0..n) as one gzip member in a new buffer *out (free() it)
 * of *out_len bytes. Returns PP_OK; PP_ENOMEM; PP_EIO when zlib fails
 * (*out NULL, *out_len 0 on every error).
 */
PP_NODISCARD int pp__gzip(const void *in, size_t n, char **out, size_t *out_len);

#endif
