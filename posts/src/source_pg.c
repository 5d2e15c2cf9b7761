/*
 * source_pg.c - Posts from PostgreSQL through libpq: a prepared statement
 * walked as a keyset cursor (id > $1 ORDER BY id LIMIT $2), and the COPY
 * loader datagen uses for --postgres. Errors carry the server's message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <postprof/scope.h>
#include <posts/datagen.h>

#include "internal.h"
#include "source_impl.h"

typedef struct pg_source {
    posts_source base;
    PGconn *conn;
    int64_t cursor;
    int done;
} pg_source;

static long pg_next(posts_source *s, posts_batch *b, size_t max, posts_err *err)
{
    PP_SCOPE("posts.source.pg.next");
    pg_source *g = (pg_source *)s;
    if (g->done)
        return 0;
    char c[32], l[32];
    snprintf(c, sizeof c, "%" PRId64, g->cursor);
    snprintf(l, sizeof l, "%zu", max);
    const char *params[2] = {c, l};
    PGresult *r = PQexecPrepared(g->conn, "posts_page", 2, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        posts_err_set(err, "postgres: after id %" PRId64 ": %s", g->cursor,
                      PQerrorMessage(g->conn));
        PQclear(r);
        return PP_EDB;
    }
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        posts_post p = {0};
        p.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        p.author_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        p.author_followers = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        p.created_at = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        strncpy(p.lang, PQgetvalue(r, i, 4), sizeof p.lang - 1);
        p.text = PQgetvalue(r, i, 5);
        p.text_len = (size_t)PQgetlength(r, i, 5);
        p.media = posts_media_parse(PQgetvalue(r, i, 6));
        if (p.media < 0)
            p.media = 0;
        p.reactions = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        p.comments = strtoll(PQgetvalue(r, i, 8), NULL, 10);
        p.shares = strtoll(PQgetvalue(r, i, 9), NULL, 10);
        s->st.bytes += p.text_len + 64;
        if (posts_batch_push(b, &p) != PP_OK) {
            PQclear(r);
            posts_err_set(err, "postgres: out of memory");
            return PP_ENOMEM;
        }
        g->cursor = p.id;
    }
    PQclear(r);
    if ((size_t)rows < max)
        g->done = 1;
    return rows;
}

static void pg_close(posts_source *s)
{
    pg_source *g = (pg_source *)s;
    PQfinish(g->conn);
    free(g);
}

static const posts_source_ops pg_ops = {"postgres", pg_next, pg_close};

int posts_source_open_pg(const char *url, posts_source **out, posts_err *err)
{
    *out = NULL;
    pg_source *g = calloc(1, sizeof *g);
    if (!g)
        return PP_ENOMEM;
    g->base.ops = &pg_ops;
    g->conn = PQconnectdb(url);
    if (PQstatus(g->conn) != CONNECTION_OK) {
        posts_err_set(err, "postgres: connect: %s", PQerrorMessage(g->conn));
        pg_close(&g->base);
        return PP_EDB;
    }
    PGresult *r = PQprepare(g->conn, "posts_page",
                            "SELECT " POSTS__COLUMNS
                            " FROM posts WHERE id > $1::bigint ORDER BY id LIMIT $2::bigint",
                            2, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        posts_err_set(err, "postgres: prepare: %s", PQerrorMessage(g->conn));
        PQclear(r);
        pg_close(&g->base);
        return PP_EDB;
    }
    PQclear(r);
    *out = &g->base;
    return PP_OK;
}

int posts_pg_explain(const char *url, size_t batch_size, char **out_text, posts_err *err)
{
    *out_text = NULL;
    int rc = PP_EDB;
    PGresult *r = NULL;
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        posts_err_set(err, "postgres: connect: %s", PQerrorMessage(c));
        goto out;
    }
    char limit[32];
    snprintf(limit, sizeof limit, "%zu", batch_size ? batch_size : 1);
    const char *params[1] = {limit};
    r = PQexecParams(c,
                     "EXPLAIN (ANALYZE, BUFFERS) SELECT " POSTS__COLUMNS
                     " FROM posts WHERE id > 0 ORDER BY id LIMIT $1::bigint",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        posts_err_set(err, "postgres: explain: %s", PQerrorMessage(c));
        goto out;
    }
    size_t len = 1;
    for (int i = 0; i < PQntuples(r); i++)
        len += strlen(PQgetvalue(r, i, 0)) + 1;
    char *text = malloc(len);
    if (!text) {
        rc = PP_ENOMEM;
        goto out;
    }
    size_t at = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        size_t n = strlen(PQgetvalue(r, i, 0));
        memcpy(text + at, PQgetvalue(r, i, 0), n);
        at += n;
        text[at++] = '\n';
    }
    text[at] = '\0';
    *out_text = text;
    rc = PP_OK;
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

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

int posts__pg_load(const char *url, uint64_t seed, size_t n, posts_err *err);

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
