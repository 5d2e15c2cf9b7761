/*
 * datagen_pg.c - The COPY loader `postprof datagen --postgres` uses: creates
 * the posts table and streams generated posts into it. Errors carry the
 * server's message. (The reader is source_pg.c.)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <postprof/scope.h>
#include <posts/datagen.h>

#include "internal.h"

static int exec_ok(PGconn *c, const char *sql, posts_err *err)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        posts_err_set(err, "postgres: %s", PQerrorMessage(c));
    PQclear(r);
    return ok ? PP_OK : PP_EDB;
}

/* COPY text format escaping of one field into buf; returns bytes written. */
static size_t copy_escape(const char *s, size_t n, char *buf)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (c) {
        case '\\':
            buf[w++] = '\\';
            buf[w++] = '\\';
            break;
        case '\n':
            buf[w++] = '\\';
            buf[w++] = 'n';
            break;
        case '\r':
            buf[w++] = '\\';
            buf[w++] = 'r';
            break;
        case '\t':
            buf[w++] = '\\';
            buf[w++] = 't';
            break;
        default:
            buf[w++] = c;
        }
    }
    return w;
}

int posts__pg_load(const char *url, uint64_t seed, size_t n, posts_err *err)
{
    PP_SCOPE("posts.datagen.postgres");
    int rc = PP_EDB;
    char *line = NULL;
    size_t cap = 0;
    posts_post p = {0};
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        posts_err_set(err, "postgres: connect: %s", PQerrorMessage(c));
        goto out;
    }
    if ((rc = exec_ok(c,
                      "DROP TABLE IF EXISTS posts;"
                      "CREATE TABLE posts(id BIGINT PRIMARY KEY, author_id BIGINT NOT NULL,"
                      " author_followers BIGINT NOT NULL, created_at BIGINT NOT NULL,"
                      " lang TEXT NOT NULL, text TEXT NOT NULL, media TEXT NOT NULL,"
                      " reactions BIGINT NOT NULL, comments BIGINT NOT NULL,"
                      " shares BIGINT NOT NULL)",
                      err)) != PP_OK)
        goto out;
    PGresult *r = PQexec(c, "COPY posts(" POSTS__COLUMNS ") FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        posts_err_set(err, "postgres: COPY: %s", PQerrorMessage(c));
        PQclear(r);
        rc = PP_EDB;
        goto out;
    }
    PQclear(r);
    for (size_t i = 1; i <= n; i++) {
        if (posts_datagen_post(seed, (int64_t)i, &p) != PP_OK) {
            rc = PP_ENOMEM;
            posts_err_set(err, "out of memory");
            goto out;
        }
        size_t need = p.text_len * 2 + 512;
        if (need > cap) {
            char *nl = realloc(line, need);
            if (!nl) {
                rc = PP_ENOMEM;
                posts_err_set(err, "out of memory");
                goto out;
            }
            line = nl;
            cap = need;
        }
        int w = snprintf(line, cap, "%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s\t",
                         p.id, p.author_id, p.author_followers, p.created_at, p.lang);
        size_t len = (size_t)w + copy_escape(p.text, p.text_len, line + w);
        len +=
            (size_t)snprintf(line + len, cap - len, "\t%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
                             posts_media_name(p.media), p.reactions, p.comments, p.shares);
        if (PQputCopyData(c, line, (int)len) != 1) {
            posts_err_set(err, "postgres: COPY data: %s", PQerrorMessage(c));
            rc = PP_EDB;
            goto out;
        }
        posts_post_release(&p);
    }
    if (PQputCopyEnd(c, NULL) != 1) {
        posts_err_set(err, "postgres: COPY end: %s", PQerrorMessage(c));
        rc = PP_EDB;
        goto out;
    }
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        posts_err_set(err, "postgres: COPY: %s", PQerrorMessage(c));
        PQclear(r);
        rc = PP_EDB;
        goto out;
    }
    PQclear(r);
    while ((r = PQgetResult(c)))
        PQclear(r);
    rc = exec_ok(c, "CREATE INDEX posts_author ON posts(author_id); ANALYZE posts", err);
out:
    posts_post_release(&p);
    free(line);
    PQfinish(c);
    return rc;
}
