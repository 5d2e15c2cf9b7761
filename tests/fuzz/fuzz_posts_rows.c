/*
 * fuzz_posts_rows.c - The post row validator, alone and behind the SQLite
 * source: the bytes become rows of typed values (NULL, integers, reals,
 * text, blobs, missing fields), checked by posts_row_validate() directly and
 * written to a SQLite file the SQLite source then reads. Aborts when the
 * source and the validator disagree: every row either loads or is rejected,
 * a loaded post obeys every rule, no id loads twice.
 *
 * Input: rows of POSTS_F_COUNT fields; each field is a kind byte (mod 7:
 * missing, NULL, small int, int64, real, text, blob) then its payload (1 byte;
 * 8 bytes; 8 bytes; a length byte and that many bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <postprof/log.h>
#include <posts/posts.h>

#include "fuzz/fuzz_tmpfile.h"

#define MAX_ROWS 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t take_byte(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t take_u64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)take_byte(r) << (8 * i);
    return v;
}

/* One decoded row: values, and the bytes of its texts (rows' texts point in). */
typedef struct fuzz_row {
    posts_row row;
    double real[POSTS_F_COUNT];
    uint8_t bytes[POSTS_F_COUNT][256];
} fuzz_row;

static void decode(reader *r, fuzz_row *fr)
{
    memset(fr, 0, sizeof *fr);
    for (int f = 0; f < POSTS_F_COUNT; f++) {
        posts_value *v = &fr->row.v[f];
        switch (take_byte(r) % 7) {
        case 0:
            v->kind = POSTS_V_MISSING;
            break;
        case 1:
            v->kind = POSTS_V_NULL;
            break;
        case 2:
            v->kind = POSTS_V_INT;
            v->i = (int8_t)take_byte(r); /* small values: valid ones and repeated ids */
            break;
        case 3:
            v->kind = POSTS_V_INT;
            v->i = (int64_t)take_u64(r);
            break;
        case 4: {
            uint64_t bits = take_u64(r);
            v->kind = POSTS_V_REAL;
            memcpy(&fr->real[f], &bits, sizeof bits);
            if (fr->real[f] != fr->real[f]) /* NaN binds as NULL in SQLite */
                fr->real[f] = 0.5;
            break;
        }
        default: {
            size_t len = take_byte(r);
            if (len > r->n)
                len = r->n;
            memcpy(fr->bytes[f], r->p, len);
            r->p += len;
            r->n -= len;
            v->kind = take_byte(r) % 7 == 6 ? POSTS_V_BLOB : POSTS_V_TEXT;
            v->s = (const char *)fr->bytes[f];
            v->len = len;
        }
        }
    }
}

static void check_post(const posts_post *p)
{
    size_t ll = strnlen(p->lang, sizeof p->lang);
    if (p->id < 1 || p->author_id < 1 || p->author_followers < 0 || p->created_at < 0 ||
        p->reactions < 0 || p->comments < 0 || p->shares < 0 || ll < 1 || ll > 3 || p->media < 0 ||
        p->media >= POSTS_MEDIA_COUNT || p->text_len > POSTS_TEXT_MAX)
        abort();
}

static void bind_value(sqlite3_stmt *st, int col, const posts_value *v, double real)
{
    switch (v->kind) {
    case POSTS_V_INT:
        sqlite3_bind_int64(st, col, v->i);
        break;
    case POSTS_V_REAL:
        sqlite3_bind_double(st, col, real);
        break;
    case POSTS_V_TEXT:
        sqlite3_bind_text(st, col, v->s, (int)v->len, SQLITE_STATIC);
        break;
    case POSTS_V_BLOB:
        sqlite3_bind_blob(st, col, v->s, (int)v->len, SQLITE_STATIC);
        break;
    default:
        sqlite3_bind_null(st, col);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_row rows[MAX_ROWS];
    pp_log_set_level(PP_LOG_OFF);
    reader r = {data, size};
    size_t n = 0, valid = 0;
    while (r.n && n < MAX_ROWS) {
        decode(&r, &rows[n]);
        posts_post p;
        posts_err why;
        int kind = -1;
        if (posts_row_validate(&rows[n].row, &p, &kind, &why) == PP_OK) {
            check_post(&p);
            valid++;
        } else if (kind < 0 || kind >= POSTS_REJECT_KIND_COUNT || !why.msg[0]) {
            abort();
        }
        n++;
    }

    char path[32];
    if (pp_fuzz_tmpfile(data, 0, path) != 0) /* an empty file is an empty database */
        return 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    /* untyped columns: every value keeps the type it was bound with */
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE TABLE posts(id, author_id, author_followers, created_at, lang, text,"
                     " media, reactions, comments, shares)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO posts VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &ins, NULL) !=
            SQLITE_OK)
        goto out;
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        for (int f = 0; f < POSTS_F_COUNT; f++)
            bind_value(ins, f + 1, &rows[i].row.v[f], rows[i].real[f]);
        if (sqlite3_step(ins) != SQLITE_DONE)
            abort();
        sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);
    ins = NULL;
    sqlite3_close(db);
    db = NULL;

    posts_source *src;
    posts_err err;
    if (posts_source_open_sqlite(path, &src, &err) != PP_OK)
        abort();
    posts_batch b = {0};
    int64_t ids[MAX_ROWS];
    size_t loaded = 0;
    long got;
    while ((got = posts_source_next(src, &b, 5, &err)) > 0) {
        for (size_t i = 0; i < b.n; i++) {
            check_post(&b.posts[i]);
            for (size_t k = 0; k < loaded; k++)
                if (ids[k] == b.posts[i].id)
                    abort(); /* an id loaded twice */
            if (loaded == MAX_ROWS)
                abort();
            ids[loaded++] = b.posts[i].id;
        }
        posts_batch_clear(&b);
    }
    posts_batch_release(&b);
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    posts_source_close(src);
    /* every row loads or is rejected; only a duplicate of a valid row turns valid into rejected */
    if (got < 0 || loaded + st.rows_rejected != n || loaded + st.duplicate_ids != valid)
        abort();
out:
    sqlite3_finalize(ins);
    sqlite3_close(db);
    unlink(path);
    return 0;
}
