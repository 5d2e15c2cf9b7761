/*
 * validate.c - posts_row_validate(): the one definition of a valid post,
 * applied by every source to the typed values it read. Pure: never
 * allocates, never does I/O, never quotes a text value in a reason.
 */
#include <inttypes.h>
#include <string.h>

#include <posts/validate.h>

static const char *const field_names[POSTS_F_COUNT] = {
    "id",   "author_id", "author_followers", "created_at", "lang",
    "text", "media",     "reactions",        "comments",   "shares"};

static const char *const kind_names[POSTS_REJECT_KIND_COUNT] = {"malformed", "missing", "type",
                                                                "range", "duplicate"};

const char *posts_field_name(int field)
{
    return field >= 0 && field < POSTS_F_COUNT ? field_names[field] : "?";
}

const char *posts_reject_kind_name(int kind)
{
    return kind >= 0 && kind < POSTS_REJECT_KIND_COUNT ? kind_names[kind] : "?";
}

/* "field \"F\" RULE" (or "missing field \"F\"" when rule is NULL) with its kind. */
static int reject(int *out_kind, int kind, posts_err *why, int field, const char *rule)
{
    if (out_kind)
        *out_kind = kind;
    if (rule)
        posts_err_set(why, "field \"%s\" %s", field_names[field], rule);
    else
        posts_err_set(why, "missing field \"%s\"", field_names[field]);
    return PP_EFORMAT;
}

static int present(const posts_value *v, int f, int *out_kind, posts_err *why)
{
    if (v->kind == POSTS_V_MISSING)
        return reject(out_kind, POSTS_REJECT_MISSING, why, f, NULL);
    if (v->kind == POSTS_V_NULL)
        return reject(out_kind, POSTS_REJECT_MISSING, why, f, "is NULL");
    return PP_OK;
}

static int get_int(const posts_row *row, int f, int64_t min, int64_t *out, int *out_kind,
                   posts_err *why)
{
    const posts_value *v = &row->v[f];
    int rc = present(v, f, out_kind, why);
    if (rc != PP_OK)
        return rc;
    int64_t x = v->i;
    if (v->kind != POSTS_V_INT)
        return reject(out_kind, POSTS_REJECT_TYPE, why, f, "must be an integer");
    if (x < min) {
        if (out_kind)
            *out_kind = POSTS_REJECT_RANGE;
        posts_err_set(why, "field \"%s\" out of range (%" PRId64 " < %" PRId64 ")", field_names[f],
                      x, min);
        return PP_EFORMAT;
    }
    *out = x;
    return PP_OK;
}

static int get_text(const posts_row *row, int f, const posts_value **out, int *out_kind,
                    posts_err *why)
{
    const posts_value *v = &row->v[f];
    int rc = present(v, f, out_kind, why);
    if (rc != PP_OK)
        return rc;
    if (v->kind != POSTS_V_TEXT || (!v->s && v->len))
        return reject(out_kind, POSTS_REJECT_TYPE, why, f, "must be a string");
    *out = v;
    return PP_OK;
}

int posts_row_validate(const posts_row *row, posts_post *out, int *out_kind, posts_err *why)
{
    const posts_value *lang, *text, *media;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = get_int(row, POSTS_F_ID, 1, &out->id, out_kind, why)) ||
        (rc = get_int(row, POSTS_F_AUTHOR_ID, 1, &out->author_id, out_kind, why)) ||
        (rc = get_int(row, POSTS_F_AUTHOR_FOLLOWERS, 0, &out->author_followers, out_kind, why)) ||
        (rc = get_int(row, POSTS_F_CREATED_AT, 0, &out->created_at, out_kind, why)) ||
        (rc = get_text(row, POSTS_F_LANG, &lang, out_kind, why)) ||
        (rc = get_text(row, POSTS_F_TEXT, &text, out_kind, why)) ||
        (rc = get_text(row, POSTS_F_MEDIA, &media, out_kind, why)) ||
        (rc = get_int(row, POSTS_F_REACTIONS, 0, &out->reactions, out_kind, why)) ||
        (rc = get_int(row, POSTS_F_COMMENTS, 0, &out->comments, out_kind, why)) ||
        (rc = get_int(row, POSTS_F_SHARES, 0, &out->shares, out_kind, why)))
        goto out;
    rc = PP_EFORMAT;
    int letters = lang->len >= 1 && lang->len < sizeof out->lang;
    for (size_t k = 0; letters && k < lang->len; k++) {
        char c = lang->s[k];
        letters = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
    if (!letters) {
        reject(out_kind, POSTS_REJECT_RANGE, why, POSTS_F_LANG, "must be 1 to 3 ASCII letters");
        goto out;
    }
    memcpy(out->lang, lang->s, lang->len);
    out->media = -1;
    for (int m = 0; m < POSTS_MEDIA_COUNT; m++) {
        const char *name = posts_media_name(m);
        if (strlen(name) == media->len && memcmp(name, media->s, media->len) == 0)
            out->media = m;
    }
    if (out->media < 0) {
        reject(out_kind, POSTS_REJECT_RANGE, why, POSTS_F_MEDIA,
               "must be none|image|video|article|poll");
        goto out;
    }
    if (text->len > POSTS_TEXT_MAX) {
        if (out_kind)
            *out_kind = POSTS_REJECT_RANGE;
        posts_err_set(why, "field \"text\" longer than %u bytes", (unsigned)POSTS_TEXT_MAX);
        goto out;
    }
    out->text = (char *)(text->s ? text->s : "");
    out->text_len = text->len;
    rc = PP_OK;
out:
    if (rc != PP_OK)
        memset(out, 0, sizeof *out);
    return rc;
}
