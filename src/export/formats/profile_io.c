/*
 * profile_io.c - pp_profile_write (render in a format, atomic write) and
 * pp_profile_read / pp_profile_parse (detect folded, speedscope or pprof from
 * the content, bounded input size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/file.h>

#include "export/formats/formats.h"

#define READ_MAX (256u * 1024 * 1024)

int pp_profile_write(const pp_profile *p, pp_profile_format format, const char *path, char *err,
                     size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!p || !path)
        return PP_EINVAL;
    pp__strbuf b;
    pp__strbuf_init(&b, PP__FORMAT_MAX_BYTES);
    int rc = PP_OK;
    switch (format) {
    case PP_FORMAT_FOLDED:
        pp__folded_render(p, &b);
        break;
    case PP_FORMAT_SPEEDSCOPE:
        pp__speedscope_render(p, &b);
        break;
    case PP_FORMAT_PPROF:
        rc = pp__pprof_render(p, &b);
        break;
    case PP_FORMAT_CHROME:
        pp__chrome_render(p, &b);
        break;
    default:
        return PP_EINVAL;
    }
    if (rc == PP_OK)
        rc = b.err;
    if (rc == PP_OK)
        rc = pp_file_write(path, b.data ? b.data : "", b.len, err, errcap);
    else if (err && errcap)
        snprintf(err, errcap, "cannot render %s: %s", path, pp_strerror(rc));
    pp__strbuf_release(&b);
    return rc;
}

int pp_profile_parse(const void *data, size_t len, pp_profile **out, char *msg, size_t msg_cap)
{
    char local[256] = "";
    if (!msg || msg_cap == 0) {
        msg = local;
        msg_cap = sizeof local;
    }
    msg[0] = 0;
    *out = NULL;
    const unsigned char *d = data;
    if (len > READ_MAX) {
        snprintf(msg, msg_cap, "input larger than %u bytes", READ_MAX);
        return PP_ERANGE;
    }
    if (len == 0) {
        snprintf(msg, msg_cap, "empty input");
        return PP_EFORMAT;
    }
    size_t i = 0;
    while (i < len && (d[i] == ' ' || d[i] == '\n' || d[i] == '\t' || d[i] == '\r'))
        i++;
    if (len >= 2 && d[0] == 0x1f && d[1] == 0x8b)
        return pp__pprof_parse(d, len, out, msg, msg_cap);
    if (i < len && d[i] == '{')
        return pp__speedscope_parse(data, len, out, msg, msg_cap);
    /* folded is text; anything with NUL or mostly binary is tried as pprof */
    if (memchr(d, 0, len) != NULL || (len > 0 && d[0] == 0x0a && len > 1 && d[1] < 0x20))
        return pp__pprof_parse(d, len, out, msg, msg_cap);
    return pp__folded_parse(data, len, out, msg, msg_cap);
}

int pp_profile_read(const char *path, pp_profile **out, char *msg, size_t msg_cap)
{
    *out = NULL;
    char *buf = NULL;
    size_t n = 0;
    int rc = pp_file_read(path, READ_MAX, &buf, &n, msg, msg_cap);
    size_t pl = strlen(path);
    if (rc != PP_OK && msg && strncmp(msg, path, pl) == 0 && strncmp(msg + pl, ": ", 2) == 0)
        memmove(msg, msg + pl + 2, strlen(msg + pl + 2) + 1); /* the caller names the file */
    if (rc == PP_OK)
        rc = pp_profile_parse(buf, n, out, msg, msg_cap);
    free(buf);
    return rc;
}
