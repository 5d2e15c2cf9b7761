/*
 * source_jsonl.c - Streaming JSONL reader: one post per line, lines bounded
 * by max_line (memory never grows past it); malformed lines and rows the
 * validator refuses are rejected through intake.h with their line number;
 * valid lines always load. Only regular files are read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <postprof/log.h>
#include <postprof/scope.h>

#include "internal.h"
#include "source_impl.h"

#define CHUNK (64u * 1024u)

typedef struct jsonl_source {
    posts_source base;
    FILE *f;
    char path[512];
    size_t max_line;
    char *line; /* max_line + 1 */
    size_t len;
    int skipping; /* current line already over max_line */
    char *chunk;
    size_t cpos, clen;
    int eof;
    uint64_t line_no;
} jsonl_source;

static void reject(jsonl_source *j, uint64_t line_no, int kind, const char *reason)
{
    posts__intake_reject(&j->base.in, line_no, NULL, kind, reason);
}

/* Handle one complete line (without '\n'). Returns 1 if a post was appended, 0 if not, <0 error. */
static int handle_line(jsonl_source *j, posts_batch *b, posts_err *err)
{
    j->line_no++;
    if (j->skipping) {
        char why[96];
        snprintf(why, sizeof why, "line longer than %zu bytes", j->max_line);
        reject(j, j->line_no, POSTS_REJECT_MALFORMED, why);
        j->skipping = 0;
        j->len = 0;
        return 0;
    }
    size_t len = j->len;
    j->len = 0;
    if (len && j->line[len - 1] == '\r')
        len--;
    size_t k = 0;
    while (k < len && (j->line[k] == ' ' || j->line[k] == '\t'))
        k++;
    if (k == len) {
        reject(j, j->line_no, POSTS_REJECT_MALFORMED, "empty line");
        return 0;
    }
    posts_post p;
    posts_err perr;
    json_t *o = posts__json_parse(j->line, len, &perr);
    if (!o) {
        reject(j, j->line_no, POSTS_REJECT_MALFORMED, perr.msg);
        return 0;
    }
    posts_row row;
    int ok = 0;
    if (posts__json_row(o, &row) != PP_OK)
        reject(j, j->line_no, POSTS_REJECT_MALFORMED, "not a JSON object");
    else
        ok = posts__intake_row(&j->base.in, &row, j->line_no, &p);
    if (ok == 1 && posts_batch_push(b, &p) != PP_OK) /* copies the text out of o */
        ok = PP_ENOMEM;
    json_decref(o);
    if (ok < 0) {
        posts_err_set(err, "jsonl %s: out of memory", j->path);
        return PP_ENOMEM;
    }
    return ok;
}

static long jl_next(posts_source *s, posts_batch *b, size_t max, posts_err *err)
{
    PP_SCOPE("posts.source.jsonl.next");
    jsonl_source *j = (jsonl_source *)s;
    long got = 0;
    while ((size_t)got < max) {
        if (j->cpos == j->clen) {
            if (j->eof)
                break;
            j->clen = fread(j->chunk, 1, CHUNK, j->f);
            j->cpos = 0;
            s->st.bytes += j->clen;
            if (j->clen == 0) {
                if (ferror(j->f)) {
                    posts_err_set(err, "jsonl %s: read error after line %" PRIu64 ": %s", j->path,
                                  j->line_no, strerror(errno));
                    return PP_EIO;
                }
                j->eof = 1;
                if (j->len || j->skipping) { /* last line without newline */
                    int r = handle_line(j, b, err);
                    if (r < 0)
                        return r;
                    got += r;
                }
                break;
            }
        }
        char *start = j->chunk + j->cpos;
        size_t avail = j->clen - j->cpos;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if (!j->skipping) {
            if (j->len + take > j->max_line) {
                j->skipping = 1;
                j->len = 0;
            } else {
                memcpy(j->line + j->len, start, take);
                j->len += take;
            }
        }
        j->cpos += take + (nl ? 1 : 0);
        if (nl) {
            int r = handle_line(j, b, err);
            if (r < 0)
                return r;
            got += r;
        }
    }
    return got;
}

static void jl_close(posts_source *s)
{
    jsonl_source *j = (jsonl_source *)s;
    if (j->f)
        fclose(j->f);
    free(j->line);
    free(j->chunk);
    free(j);
}

static const posts_source_ops jl_ops = {"jsonl", jl_next, jl_close};

int posts_source_open_jsonl(const char *path, size_t max_line, posts_source **out, posts_err *err)
{
    *out = NULL;
    jsonl_source *j = calloc(1, sizeof *j);
    if (!j)
        return PP_ENOMEM;
    j->base.ops = &jl_ops;
    j->max_line = max_line ? max_line : (1u << 20);
    snprintf(j->path, sizeof j->path, "%s", path);
    posts__intake_init(&j->base.in, &j->base.st, "jsonl", path);
    j->line = malloc(j->max_line + 1);
    j->chunk = malloc(CHUNK);
    if (!j->line || !j->chunk) {
        jl_close(&j->base);
        return PP_ENOMEM;
    }
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        posts_err_set(err, "jsonl %s: %s", path, strerror(e));
        jl_close(&j->base);
        return e == ENOENT ? PP_ENOTFOUND : PP_EIO;
    }
    int rc = posts__regular_fd(fd, "jsonl", path, err);
    if (rc == PP_OK && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        posts_err_set(err, "jsonl %s: %s", path, strerror(errno));
        rc = PP_EIO;
    }
    if (rc == PP_OK && !(j->f = fdopen(fd, "rb"))) {
        posts_err_set(err, "jsonl %s: %s", path, strerror(errno));
        rc = PP_ENOMEM;
    }
    if (rc != PP_OK) {
        close(fd);
        jl_close(&j->base);
        return rc;
    }
    *out = &j->base;
    return PP_OK;
}
