/*
 * file_impl.h - Reading a whole input file with a hard size cap, for the
 * parsers of outside files (config, reports), and writing an output file
 * atomically (reports). Library-internal.
 */
#ifndef PP_FILE_IMPL_H
#define PP_FILE_IMPL_H

#include <stddef.h>

/*
 * pp__file_read_all() - Read the regular file at path, at most max bytes,
 * into a new NUL-terminated buffer (*out_buf, free() it; *out_len excludes
 * the NUL). Returns PP_OK; PP_ENOTFOUND/PP_EPERM/PP_EIO when it cannot be
 * read, PP_ERANGE when larger than max, PP_ENOMEM; on error *out_buf = NULL
 * and err names the path and the reason.
 */
int pp__file_read_all(const char *path, size_t max, char **out_buf, size_t *out_len, char *err,
                      size_t errcap);

/*
 * pp__file_write_atomic() - Write len bytes to path atomically: a temporary
 * file in the same directory (mode 0644), fsync, rename over path. Returns
 * PP_OK; PP_ENOTFOUND/PP_EPERM/PP_EIO/PP_ENOMEM from errno, PP_ERANGE for a
 * path over 4000 bytes; on error path is untouched, the temporary file is
 * removed and err names the path and the reason. Thread-safe.
 */
int pp__file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errcap);

#endif
