/*
 * source_pg.c - Posts from PostgreSQL through libpq: a prepared statement
 * walked as a keyset cursor (id >= $1 ORDER BY id OFFSET <rows of that id
 * already read> LIMIT $3), then the rows with a NULL id; every row validated
 * by its columns' types (intake.h). Errors carry the server's message. The
 * COPY loader datagen uses for --postgres is datagen_pg.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <postprof/scope.h>

#include "internal.h"
#include "source_impl.h"

typedef struct pg_source {
    posts_source base;
    PGconn *conn;
    char cursor[32]; /* the last id read (an integer's text) */
    long long same;  /* rows read so far whose id is the cursor */
    int phase;       /* 0: first page, 1: keyset pages, 2: rows with a NULL id, 3: done */
    long long null_read;
    uint64_t rows; /* rows read, valid or not */
} pg_source;

/* PostgreSQL type OIDs (pg_type.h) the rows are read by. */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700
};

static int is_int_type(Oid t)
{
    return t == OID_INT8 || t == OID_INT2 || t == OID_INT4;
}

/* Row i of r as typed values: the type of each column decides, not the text. */
static void pg_row(const PGresult *r, int i, posts_row *row)
{
    memset(row, 0, sizeof *row);
    for (int c = 0; c < POSTS_F_COUNT; c++) {
        posts_value *v = &row->v[c];
        if (PQgetisnull(r, i, c)) {
            v->kind = POSTS_V_NULL;
            continue;
        }
        const char *s = PQgetvalue(r, i, c);
        size_t len = (size_t)PQgetlength(r, i, c);
        Oid t = PQftype(r, c);
        if (is_int_type(t))
            v->kind = posts__parse_decimal(s, len, &v->i) == 0 ? POSTS_V_INT : POSTS_V_OTHER;
        else if (t == OID_FLOAT4 || t == OID_FLOAT8 || t == OID_NUMERIC)
            v->kind = POSTS_V_REAL;
        else if (t == OID_BOOL)
            v->kind = POSTS_V_OTHER;
        else
            v->kind = t == OID_BYTEA ? POSTS_V_BLOB : POSTS_V_TEXT;
        v->s = s;
        v->len = len;
    }
}

/* One page of the current phase into b; returns posts appended, or an error. */
static long pg_page(pg_source *g, posts_batch *b, size_t max, posts_err *err)
{
    char lim[32], off[32];
    snprintf(lim, sizeof lim, "%zu", max);
    PGresult *r;
    if (g->phase == 0) {
        const char *params[1] = {lim};
        r = PQexecPrepared(g->conn, "posts_first", 1, params, NULL, NULL, 0);
    } else if (g->phase == 1) {
        snprintf(off, sizeof off, "%lld", g->same);
        const char *params[3] = {g->cursor, off, lim};
        r = PQexecPrepared(g->conn, "posts_page", 3, params, NULL, NULL, 0);
    } else {
        snprintf(off, sizeof off, "%lld", g->null_read);
        const char *params[2] = {off, lim};
        r = PQexecPrepared(g->conn, "posts_null_id", 2, params, NULL, NULL, 0);
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        posts_err_set(err, "postgres: after id %s: %s", g->cursor[0] ? g->cursor : "(start)",
                      PQerrorMessage(g->conn));
        PQclear(r);
        return PP_EDB;
    }
    if (g->phase == 0 && !is_int_type(PQftype(r, 0))) {
        posts_err_set(err, "postgres: column posts.id has type oid %u, not an integer type",
                      (unsigned)PQftype(r, 0));
        PQclear(r);
        return PP_EDB;
    }
    int rows = PQntuples(r);
    long got = 0;
    for (int i = 0; i < rows; i++) {
        posts_row row;
        posts_post p;
        pg_row(r, i, &row);
        if (g->phase < 2) { /* keyset: where the next page starts */
            const char *id = PQgetvalue(r, i, 0);
            if (strcmp(id, g->cursor) == 0) {
                g->same++;
            } else {
                snprintf(g->cursor, sizeof g->cursor, "%s", id);
                g->same = 1;
            }
        } else {
            g->null_read++;
        }
        g->base.st.bytes += row.v[POSTS_F_TEXT].len + 64;
        int ok = posts__intake_row(&g->base.in, &row, ++g->rows, &p);
        if (ok == 0)
            continue;
        if (ok < 0 || posts_batch_push(b, &p) != PP_OK) {
            PQclear(r);
            posts_err_set(err, "postgres: out of memory");
            return PP_ENOMEM;
        }
        got++;
    }
    PQclear(r);
    if ((size_t)rows < max)
        g->phase = g->phase < 2 ? 2 : 3; /* keyset pages done: then the rows it cannot reach */
    else if (g->phase == 0)
        g->phase = 1;
    return got;
}

static long pg_next(posts_source *s, posts_batch *b, size_t max, posts_err *err)
{
    PP_SCOPE("posts.source.pg.next");
    pg_source *g = (pg_source *)s;
    long got = 0;
    while (got == 0 && g->phase < 3) {
        got = pg_page(g, b, max, err);
        if (got < 0)
            return got;
    }
    return got;
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
    posts__intake_init(&g->base.in, &g->base.st, "postgres", "postgres");
    g->conn = PQconnectdb(url);
    if (PQstatus(g->conn) != CONNECTION_OK) {
        posts_err_set(err, "postgres: connect: %s", PQerrorMessage(g->conn));
        pg_close(&g->base);
        return PP_EDB;
    }
    /* where rows come from, for messages: without the password the URL may hold */
    snprintf(g->base.in.input, sizeof g->base.in.input, "postgresql://%s@%s:%s/%s", PQuser(g->conn),
             PQhost(g->conn), PQport(g->conn), PQdb(g->conn));
    /* keyset pages: id >= the last id, past the rows of that id already read, so an id
     * repeated across a page boundary is read (and rejected) too; then the NULL ids */
    static const char *const names[3] = {"posts_first", "posts_page", "posts_null_id"};
    static const char *const sql[3] = {
        "SELECT " POSTS__COLUMNS " FROM posts WHERE id IS NOT NULL ORDER BY id LIMIT $1::bigint",
        "SELECT " POSTS__COLUMNS " FROM posts WHERE id >= $1::bigint ORDER BY id"
        " OFFSET $2::bigint LIMIT $3::bigint",
        "SELECT " POSTS__COLUMNS " FROM posts WHERE id IS NULL OFFSET $1::bigint LIMIT $2::bigint"};
    static const int nparams[3] = {1, 3, 2};
    for (int i = 0; i < 3; i++) {
        PGresult *r = PQprepare(g->conn, names[i], sql[i], nparams[i], NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            posts_err_set(err, "postgres: prepare: %s", PQerrorMessage(g->conn));
            PQclear(r);
            pg_close(&g->base);
            return PP_EDB;
        }
        PQclear(r);
    }
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
                     " FROM posts WHERE id >= 1 ORDER BY id OFFSET 1 LIMIT $1::bigint",
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
