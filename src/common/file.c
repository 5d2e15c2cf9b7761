/*
 * file.c - Whole-file reads with a hard size cap for the parsers of outside
 * input, and atomic whole-file writes for outputs. Never prints; errors name
 * the path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <postprof/error.h>

#include "common/file_impl.h"

int pp__file_read_all(const char *path, size_t max, char **out_buf, size_t *out_len, char *err,
                      size_t errcap)
{
    char *buf = NULL;
    int rc = PP_EIO;
    *out_buf = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errcap, "%s: %s", path, strerror(e));
        return e == ENOENT || e == ENOTDIR   ? PP_ENOTFOUND
               : (e == EACCES || e == EPERM) ? PP_EPERM
                                             : PP_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s: not a regular file", path);
        goto out;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max) {
        snprintf(err, errcap, "%s: larger than %zu bytes", path, max);
        rc = PP_ERANGE;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size + 1);
    if (!buf) {
        snprintf(err, errcap, "%s: out of memory", path);
        rc = PP_ENOMEM;
        goto out;
    }
    size_t n = fread(buf, 1, size, f);
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        goto out;
    }
    buf[n] = '\0';
    *out_buf = buf;
    *out_len = n;
    buf = NULL;
    rc = PP_OK;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return PP_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return PP_EPERM;
    case ENOMEM:
        return PP_ENOMEM;
    default:
        return PP_EIO;
    }
}

int pp__file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    char tmp[4096];
    int fd = -1, rc;
    if (strlen(path) + 16 >= sizeof tmp) {
        snprintf(err, errcap, "%.200s...: path too long", path);
        return PP_ERANGE;
    }
    snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errcap, "cannot create %s: %s", path, strerror(e));
        rc = errno_status(e);
        tmp[0] = '\0';
        goto out;
    }
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            snprintf(err, errcap, "cannot write %s: %s", path, strerror(e));
            rc = errno_status(e);
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        snprintf(err, errcap, "cannot write %s: %s", path, strerror(e));
        rc = errno_status(e);
        goto out;
    }
    (void)fchmod(fd, 0644);
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        int e = errno;
        snprintf(err, errcap, "cannot write %s: %s", path, strerror(e));
        rc = errno_status(e);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        snprintf(err, errcap, "cannot rename into %s: %s", path, strerror(e));
        rc = errno_status(e);
        goto out;
    }
    tmp[0] = '\0';
    rc = PP_OK;
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    return rc;
}
