/*
 * postprof/file.h - How postprof reads its input files and writes its output
 * files: one reader with a hard size cap, one writer that replaces a regular
 * file atomically and writes special files (devices, FIFOs, standard output)
 * in place. Every command and library function that writes a file uses it.
 *
 * Output paths, the rules (docs/reports.md, "Where output goes"):
 *  - "-", "/dev/stdout", "/dev/stderr", "/dev/fd/N" and "/proc/self/fd/N"
 *    write to that open descriptor, at its current offset.
 *  - An existing character device or FIFO is written in place (opened for
 *    writing, never truncated, never replaced). A directory, block device or
 *    socket is refused.
 *  - A regular file (or a symbolic link to one: the file it points to) is
 *    replaced atomically: a temporary file "NAME.postprof-tmp.PID.XXXXXX" in
 *    the same directory, fsync, rename over NAME, fsync of the directory. A
 *    reader sees the old content or the new, never a mix. The new file keeps
 *    the old one's mode and owner; a new file gets 0666 minus the umask.
 *    When the owner cannot be kept (another user's file) or the file has
 *    more than one hard link, it is rewritten in place instead.
 *  - Temporary files of ours that a killed run left beside NAME (their
 *    writer's process is gone and they are over 10 minutes old) are removed
 *    when NAME is next written.
 */
#ifndef POSTPROF_FILE_H
#define POSTPROF_FILE_H

#include <stddef.h>
#include <stdio.h>

#include <postprof/export.h>

/* pp_file_out_open() flags */
/*
 * PP_FILE_REPLACE: only a new file renamed into place will do (a database
 * that SQLite writes by name): refuse a target that is not a regular file,
 * or that would have to be rewritten in place.
 */
#define PP_FILE_REPLACE 1u

/* Stale temporary files (of a dead writer) older than this are removed. */
#define PP_FILE_STALE_TMP_S 600

typedef struct pp_file_out pp_file_out;

/*
 * pp_file_out_open() - Start writing the output file at path (rules above).
 *
 * Returns PP_OK and *out; write through pp_file_out_stream(), then
 * pp_file_out_commit() or pp_file_out_abort(). Errors, with err naming the
 * path and the cause in words: PP_ENOTFOUND (the directory does not exist),
 * PP_EPERM (permission denied, read-only file system), PP_EFULL (no space
 * left, quota), PP_EINVAL (a directory, block device or socket, or under
 * PP_FILE_REPLACE not a regular file), PP_ERANGE (name too long), PP_ENOMEM,
 * PP_EIO; then *out = NULL and nothing was created. A FIFO blocks until a
 * reader opens it. Thread-safe (each pp_file_out belongs to one thread).
 */
PP_EXPORT PP_NODISCARD int pp_file_out_open(const char *path, unsigned flags, pp_file_out **out,
                                            char *err, size_t errcap);

/*
 * pp_file_out_check() - Whether pp_file_out_open(path, flags) would be
 * refused for a reason known now: the directory is missing, read-only or not
 * writable, or the target is a directory, block device or socket. Creates
 * and opens nothing (a FIFO is not opened), so it suits checking an output
 * before long work. Returns PP_OK or pp_file_out_open()'s codes with err.
 * A full disk shows only when writing.
 */
PP_EXPORT PP_NODISCARD int pp_file_out_check(const char *path, unsigned flags, char *err,
                                             size_t errcap);

/* pp_file_out_stream() - The stream to write the content to (owned by o). */
PP_EXPORT FILE *pp_file_out_stream(pp_file_out *o);

/*
 * pp_file_out_temp_path() - The temporary file being written, for writers
 * that must open it by name (SQLite); NULL when the target is written in
 * place. Valid until commit or abort.
 */
PP_EXPORT const char *pp_file_out_temp_path(const pp_file_out *o);

/*
 * pp_file_out_commit() - Finish: flush, fsync, and rename the temporary file
 * over the target. Frees o. Returns PP_OK, or the codes of
 * pp_file_out_open() when any write failed (PP_EFULL for a full disk, PP_EIO
 * for a broken pipe or device error) with err naming the path and the cause;
 * then a regular target is left as it was and the temporary file removed.
 */
PP_EXPORT PP_NODISCARD int pp_file_out_commit(pp_file_out *o, char *err, size_t errcap);

/* pp_file_out_abort() - Give up: remove the temporary file, free o. NULL is a no-op. */
PP_EXPORT void pp_file_out_abort(pp_file_out *o);

/*
 * pp_file_write() - Write len bytes as the whole content of path: open,
 * write, commit (rules and errors above).
 */
PP_EXPORT PP_NODISCARD int pp_file_write(const char *path, const void *data, size_t len, char *err,
                                         size_t errcap);

/*
 * pp_file_read() - Read the whole file at path, at most max bytes, into a
 * new NUL-terminated buffer (*out_buf, free() it; *out_len excludes the NUL).
 * Regular files, FIFOs and character devices are read to their end.
 * Returns PP_OK; PP_ENOTFOUND, PP_EPERM, PP_EINVAL (a directory), PP_EIO;
 * PP_ERANGE when longer than max; PP_ENOMEM. On error *out_buf = NULL and
 * err names the path and the reason. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int pp_file_read(const char *path, size_t max, char **out_buf,
                                        size_t *out_len, char *err, size_t errcap);

/*
 * pp_file_same() - 1 when both paths exist and name the same file (the same
 * device and inode, through symbolic links too), else 0. For refusing to
 * write an output over an input.
 */
PP_EXPORT int pp_file_same(const char *a, const char *b);

#endif
