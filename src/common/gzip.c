/*
 * gzip.c - One buffer compressed whole into a gzip member (gzip.h).
 */
#include "common/gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <postprof/error.h>

int pp__gzip(const void *in, size_t n, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (n > UINT32_MAX)
        return PP_EIO; /* one deflate() call takes a uInt of input */
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return PP_ENOMEM;
    uLong bound = deflateBound(&z, (uLong)n);
    char *buf = malloc(bound ? bound : 1);
    int rc = PP_ENOMEM;
    if (buf) {
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)buf;
        z.avail_out = (uInt)bound;
        rc = deflate(&z, Z_FINISH) == Z_STREAM_END ? PP_OK : PP_EIO;
    }
    deflateEnd(&z);
    if (rc != PP_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = (size_t)z.total_out;
    return PP_OK;
}
