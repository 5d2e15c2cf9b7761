/*
 * source_jsonl.c - Streaming JSONL reader: one post per line, lines bounded
 * by max_line (memory never grows past it), malformed lines skipped, logged
 * with line number and reason, counted; valid lines always load.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/log.h>
#include <postprof/scope.h>

#include "internal.h"
#include "source_impl.h"

#define CHUNK (64u * 1024u)
#define LOG_REJECTS_MAX 1000u

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
    posts_reject_fn on_reject;
    void *user;
} jsonl_source;

static void reject(jsonl_source *j, uint64_t line_no, const char *reason)
{
    j->base.st.lines_rejected++;
    if (j->base.st.lines_rejected <= LOG_REJECTS_MAX) {
        char ln[32];
        snprintf(ln, sizeof ln, "%" PRIu64, line_no);
        pp_log(PP_LOG_WARN, "posts.source.jsonl", "line_rejected", "file", j->path, "line", ln,
               "reason", reason, NULL);
        if (j->base.st.lines_rejected == LOG_REJECTS_MAX)
            pp_log(PP_LOG_WARN, "posts.source.jsonl", "rejects_not_logged", "file", j->path,
                   "after", "1000", NULL);
    }
    if (j->on_reject)
        j->on_reject(j->user, line_no, reason);
}

/* Handle one complete line (without '\n'). Returns 1 if a post was appended, 0 if not, <0 error. */
static int handle_line(jsonl_source *j, posts_batch *b, posts_err *err)
{
    j->line_no++;
    if (j->skipping) {
        char why[96];
        snprintf(why, sizeof why, "line longer than %zu bytes", j->max_line);
        reject(j, j->line_no, why);
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
        reject(j, j->line_no, "empty line");
        return 0;
    }
    posts_post p;
    posts_err perr;
    int rc = posts_post_from_json(j->line, len, &p, &perr);
    if (rc == PP_ENOMEM) {
        posts_err_set(err, "jsonl %s: line %" PRIu64 ": out of memory", j->path, j->line_no);
        return PP_ENOMEM;
    }
    if (rc != PP_OK) {
        reject(j, j->line_no, perr.msg);
        return 0;
    }
    /* take ownership of p's text: push copies, so move by hand instead */
    rc = posts_batch_push(b, &p);
    posts_post_release(&p);
    if (rc != PP_OK) {
        posts_err_set(err, "jsonl %s: out of memory", j->path);
        return PP_ENOMEM;
    }
    return 1;
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

int posts_source_open_jsonl(const char *path, size_t max_line, posts_reject_fn on_reject,
                            void *user, posts_source **out, posts_err *err)
{
    *out = NULL;
    jsonl_source *j = calloc(1, sizeof *j);
    if (!j)
        return PP_ENOMEM;
    j->base.ops = &jl_ops;
    j->max_line = max_line ? max_line : (1u << 20);
    j->on_reject = on_reject;
    j->user = user;
    snprintf(j->path, sizeof j->path, "%s", path);
    j->line = malloc(j->max_line + 1);
    j->chunk = malloc(CHUNK);
    if (!j->line || !j->chunk) {
        jl_close(&j->base);
        return PP_ENOMEM;
    }
    j->f = fopen(path, "rb");
    if (!j->f) {
        int e = errno;
        posts_err_set(err, "jsonl %s: %s", path, strerror(e));
        jl_close(&j->base);
        return e == ENOENT ? PP_ENOTFOUND : PP_EIO;
    }
    *out = &j->base;
    return PP_OK;
}
