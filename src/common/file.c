/*
 * file.c - Whole-file reads with a hard size cap for the parsers of outside
 * input. Never prints; errors name the path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
