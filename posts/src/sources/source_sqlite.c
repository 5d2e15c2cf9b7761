/*
 * source_sqlite.c - Posts from SQLite (the embedded default): one prepared
 * statement stepped in id order, each row's typed values validated (intake.h);
 * SQLITE_BUSY is retried by the busy timeout, then reported with the file name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <postprof/scope.h>

#include "internal.h"
#include "source_impl.h"

typedef struct sqlite_source {
    posts_source base;
    sqlite3 *db;
    sqlite3_stmt *st;
    int done;
    uint64_t rows; /* rows stepped */
    char path[512];
} sqlite_source;

void posts__sqlite_row(sqlite3_stmt *st, posts_row *row)
{
    memset(row, 0, sizeof *row);
    for (int c = 0; c < POSTS_F_COUNT; c++) {
        posts_value *v = &row->v[c];
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
            v->kind = POSTS_V_INT;
            v->i = sqlite3_column_int64(st, c);
            break;
        case SQLITE_FLOAT:
            v->kind = POSTS_V_REAL;
            break;
        case SQLITE_TEXT:
            v->kind = POSTS_V_TEXT;
            v->s = (const char *)sqlite3_column_text(st, c);
            v->len = (size_t)sqlite3_column_bytes(st, c);
            if (!v->s) /* out of memory converting it */
                v->kind = POSTS_V_NULL;
            break;
        case SQLITE_BLOB:
            v->kind = POSTS_V_BLOB;
            v->s = sqlite3_column_blob(st, c);
            v->len = (size_t)sqlite3_column_bytes(st, c);
            break;
        default:
            v->kind = POSTS_V_NULL;
        }
    }
}

static long sq_next(posts_source *s, posts_batch *b, size_t max, posts_err *err)
{
    PP_SCOPE("posts.source.sqlite.next");
    sqlite_source *q = (sqlite_source *)s;
    long got = 0;
    while (!q->done && (size_t)got < max) {
        int rc = sqlite3_step(q->st);
        if (rc == SQLITE_DONE) {
            q->done = 1;
            break;
        }
        if (rc != SQLITE_ROW) {
            posts_err_set(err, "sqlite %s: after %llu posts: %s", q->path,
                          (unsigned long long)(s->st.posts + (uint64_t)got), sqlite3_errmsg(q->db));
            return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? PP_EBUSY : PP_EDB;
        }
        posts_row row;
        posts_post p;
        posts__sqlite_row(q->st, &row);
        s->st.bytes += row.v[POSTS_F_TEXT].len + 64;
        int ok = posts__intake_row(&s->in, &row, ++q->rows, &p);
        if (ok == 0)
            continue;
        if (ok < 0 || posts_batch_push(b, &p) != PP_OK) {
            posts_err_set(err, "sqlite %s: out of memory", q->path);
            return PP_ENOMEM;
        }
        got++;
    }
    s->st.db_fullscan_steps =
        (uint64_t)sqlite3_stmt_status(q->st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
    s->st.db_sorts = (uint64_t)sqlite3_stmt_status(q->st, SQLITE_STMTSTATUS_SORT, 0);
    s->st.db_autoindex = (uint64_t)sqlite3_stmt_status(q->st, SQLITE_STMTSTATUS_AUTOINDEX, 0);
    s->st.db_vm_steps = (uint64_t)sqlite3_stmt_status(q->st, SQLITE_STMTSTATUS_VM_STEP, 0);
    return got;
}

static void sq_close(posts_source *s)
{
    sqlite_source *q = (sqlite_source *)s;
    sqlite3_finalize(q->st);
    sqlite3_close(q->db);
    free(q);
}

static const posts_source_ops sq_ops = {"sqlite", sq_next, sq_close};

int posts_source_open_sqlite(const char *path, posts_source **out, posts_err *err)
{
    *out = NULL;
    if (access(path, R_OK) != 0) {
        posts_err_set(err, "sqlite %s: cannot read (run `postprof datagen` first?)", path);
        return PP_ENOTFOUND;
    }
    int rc = posts__check_regular("sqlite", path, err);
    if (rc != PP_OK)
        return rc;
    sqlite_source *q = calloc(1, sizeof *q);
    if (!q)
        return PP_ENOMEM;
    q->base.ops = &sq_ops;
    snprintf(q->path, sizeof q->path, "%s", path);
    posts__intake_init(&q->base.in, &q->base.st, "sqlite", path);
    if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(q->db, 5000) != SQLITE_OK ||
        sqlite3_prepare_v2(q->db, "SELECT " POSTS__COLUMNS " FROM posts ORDER BY id", -1, &q->st,
                           NULL) != SQLITE_OK) {
        posts_err_set(err, "sqlite %s: %s", path, q->db ? sqlite3_errmsg(q->db) : "cannot open");
        sq_close(&q->base);
        return PP_EDB;
    }
    *out = &q->base;
    return PP_OK;
}
