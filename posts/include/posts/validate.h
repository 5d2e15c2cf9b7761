/*
 * posts/validate.h - The one check every source puts a post through before it
 * loads: a row as the source read it (typed values, nothing converted yet) is
 * either a valid post or rejected with the field and the reason. Pure: no
 * I/O, no allocation, so every source (SQLite, PostgreSQL, JSONL, API) and the
 * API server agree on what a post is.
 */
#ifndef POSTS_VALIDATE_H
#define POSTS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <posts/post.h>

/* The fields of a post, in the order of the sources' columns. */
enum posts_field {
    POSTS_F_ID = 0,
    POSTS_F_AUTHOR_ID,
    POSTS_F_AUTHOR_FOLLOWERS,
    POSTS_F_CREATED_AT,
    POSTS_F_LANG,
    POSTS_F_TEXT,
    POSTS_F_MEDIA,
    POSTS_F_REACTIONS,
    POSTS_F_COMMENTS,
    POSTS_F_SHARES,
    POSTS_F_COUNT
};

/* What a source found in a field. */
enum posts_value_kind {
    POSTS_V_MISSING = 0, /* no such field (JSON) */
    POSTS_V_NULL,
    POSTS_V_INT,  /* i */
    POSTS_V_REAL, /* a floating-point number */
    POSTS_V_TEXT, /* s, len: the bytes as stored */
    POSTS_V_BLOB, /* s, len */
    POSTS_V_OTHER /* anything else (JSON true/false, array, object) */
};

typedef struct posts_value {
    int kind; /* enum posts_value_kind */
    int64_t i;
    const char *s;
    size_t len;
} posts_value;

typedef struct posts_row {
    posts_value v[POSTS_F_COUNT];
} posts_row;

/* Why a row was rejected; the names are the `kind` label of posts_rows_rejected_total. */
enum posts_reject_kind {
    POSTS_REJECT_MALFORMED = 0, /* not a row at all: bad JSON, empty or over-long line */
    POSTS_REJECT_MISSING,       /* a field is absent or NULL */
    POSTS_REJECT_TYPE,          /* a field has the wrong type */
    POSTS_REJECT_RANGE,         /* a value outside what a post allows */
    POSTS_REJECT_DUPLICATE,     /* an id this source already returned */
    POSTS_REJECT_KIND_COUNT
};

/* Longest post text accepted, in bytes (the JSONL reader's default line limit). */
#define POSTS_TEXT_MAX (1u << 20)

/*
 * posts_row_validate() - Check row and convert it into *out. The rules:
 * id and author_id integers >= 1; author_followers, created_at, reactions,
 * comments, shares integers >= 0; lang 1 to 3 ASCII letters; media one of
 * none|image|video|article|poll; text a string of at most POSTS_TEXT_MAX
 * bytes (its bytes are not checked: preprocessing replaces invalid UTF-8).
 * Integers must have an integer type: text holding digits is refused (a
 * source that reads integers as text, like PostgreSQL's, converts the values
 * of integer-typed columns itself).
 * Returns PP_OK with *out filled (out->text points into row's text: copy it
 * before row's storage goes away), or PP_EFORMAT with *out_kind and why->msg
 * naming the field and the rule (values of text fields are never quoted, so
 * the reason is safe to print). *out is zeroed on error. Pure; thread-safe.
 */
PP_EXPORT PP_NODISCARD int posts_row_validate(const posts_row *row, posts_post *out, int *out_kind,
                                              posts_err *why);

/* posts_field_name() - "id", "author_id", ...; "?" out of range. */
PP_EXPORT const char *posts_field_name(int field);

/* posts_reject_kind_name() - "malformed", "missing", "type", "range", "duplicate"; "?" else. */
PP_EXPORT const char *posts_reject_kind_name(int kind);

#endif
