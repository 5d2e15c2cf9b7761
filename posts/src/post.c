/*
 * post.c - Posts and batches: copies, hashing, the engagement label and the
 * JSON form shared by the JSONL file, the API server and the API client.
 * Never does I/O.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <posts/post.h>
#include <posts/validate.h>

#include "internal.h"

static const char *const media_names[POSTS_MEDIA_COUNT] = {"none", "image", "video", "article",
                                                           "poll"};

const char *posts_media_name(int media)
{
    return (media >= 0 && media < POSTS_MEDIA_COUNT) ? media_names[media] : "none";
}

int posts_media_parse(const char *s)
{
    for (int i = 0; i < POSTS_MEDIA_COUNT; i++)
        if (s && strcmp(s, media_names[i]) == 0)
            return i;
    return -1;
}

void posts_err_set(posts_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

int posts__join_path(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int grow(posts_batch *b, size_t need)
{
    return posts__grow((void **)&b->posts, &b->cap, need, sizeof *b->posts, 64);
}

int posts_batch_push(posts_batch *b, const posts_post *p)
{
    if (grow(b, b->n + 1) != PP_OK)
        return PP_ENOMEM;
    char *t = malloc(p->text_len + 1);
    if (!t)
        return PP_ENOMEM;
    if (p->text_len)
        memcpy(t, p->text, p->text_len);
    t[p->text_len] = '\0';
    b->posts[b->n] = *p;
    b->posts[b->n].text = t;
    b->n++;
    return PP_OK;
}

int posts_batch_take(posts_batch *dst, posts_batch *src)
{
    if (grow(dst, dst->n + src->n) != PP_OK)
        return PP_ENOMEM;
    if (src->n)
        memcpy(dst->posts + dst->n, src->posts, src->n * sizeof *src->posts);
    dst->n += src->n;
    src->n = 0;
    return PP_OK;
}

void posts_batch_clear(posts_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->posts[i].text);
    b->n = 0;
}

void posts_batch_release(posts_batch *b)
{
    if (!b)
        return;
    posts_batch_clear(b);
    free(b->posts);
    b->posts = NULL;
    b->cap = 0;
}

void posts_post_release(posts_post *p)
{
    if (!p)
        return;
    free(p->text);
    memset(p, 0, sizeof *p);
}

uint64_t posts_post_hash(const posts_post *p)
{
    int64_t nums[8] = {p->id,         p->author_id,      p->author_followers,
                       p->created_at, (int64_t)p->media, p->reactions,
                       p->comments,   p->shares};
    uint64_t h = POSTS__FNV_BASIS;
    for (int i = 0; i < 8; i++) {
        unsigned char le[8];
        for (int k = 0; k < 8; k++)
            le[k] = (unsigned char)((uint64_t)nums[i] >> (8 * k));
        h = posts__fnv1a(le, 8, h);
    }
    h = posts__fnv1a(p->lang, strnlen(p->lang, sizeof p->lang), h);
    h = posts__fnv1a("\0", 1, h);
    h = posts__fnv1a(p->text, p->text_len, h);
    return posts__mix64(h);
}

int posts_post_label(const posts_post *p)
{
    /* rate = weighted / (followers + 50) > 0.1, in integers */
    int64_t weighted = p->reactions + 2 * p->comments + 3 * p->shares;
    int64_t followers = p->author_followers < 0 ? 0 : p->author_followers;
    return weighted * 10 > followers + 50;
}

long posts__sanitize_utf8(const char *s, size_t len, char **out, size_t *out_len)
{
    /* worst case: every byte becomes 3 bytes of U+FFFD */
    char *o = malloc(len * 3 + 1);
    if (!o)
        return -1;
    size_t w = 0;
    long bad = 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = u[i];
        size_t n = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            n = 1;
            cp = c;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
        }
        int ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                ok = 0;
            else
                cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                   (n == 4 && (cp < 0x10000 || cp > 0x10ffff))))
            ok = 0;
        if (!ok) {
            o[w++] = (char)0xef;
            o[w++] = (char)0xbf;
            o[w++] = (char)0xbd;
            bad++;
            i++;
            continue;
        }
        memcpy(o + w, u + i, n);
        w += n;
        i += n;
    }
    o[w] = '\0';
    *out = o;
    *out_len = w;
    return bad;
}

int posts_post_to_json(const posts_post *p, char **out, size_t *out_len)
{
    int rc = PP_ENOMEM;
    char *clean = NULL;
    size_t clean_len = 0;
    json_t *o = NULL;
    *out = NULL;
    if (posts__sanitize_utf8(p->text ? p->text : "", p->text_len, &clean, &clean_len) < 0)
        goto out;
    o = json_object();
    if (!o)
        goto out;
    char lang[sizeof p->lang + 1];
    memcpy(lang, p->lang, sizeof p->lang);
    lang[sizeof p->lang] = '\0';
    if (json_object_set_new(o, "id", json_integer(p->id)) ||
        json_object_set_new(o, "author_id", json_integer(p->author_id)) ||
        json_object_set_new(o, "author_followers", json_integer(p->author_followers)) ||
        json_object_set_new(o, "created_at", json_integer(p->created_at)) ||
        json_object_set_new(o, "lang", json_string(lang)) ||
        json_object_set_new(o, "text", json_stringn(clean, clean_len)) ||
        json_object_set_new(o, "media", json_string(posts_media_name(p->media))) ||
        json_object_set_new(o, "reactions", json_integer(p->reactions)) ||
        json_object_set_new(o, "comments", json_integer(p->comments)) ||
        json_object_set_new(o, "shares", json_integer(p->shares)))
        goto out;
    *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!*out)
        goto out;
    if (out_len)
        *out_len = strlen(*out);
    rc = PP_OK;
out:
    json_decref(o);
    free(clean);
    return rc;
}

/* The value of field k of o as a posts_value (strings point into o). */
static void json_value(json_t *o, const char *k, posts_value *v)
{
    json_t *x = json_object_get(o, k);
    memset(v, 0, sizeof *v);
    if (!x)
        v->kind = POSTS_V_MISSING;
    else if (json_is_null(x))
        v->kind = POSTS_V_NULL;
    else if (json_is_integer(x)) {
        v->kind = POSTS_V_INT;
        v->i = json_integer_value(x);
    } else if (json_is_real(x))
        v->kind = POSTS_V_REAL;
    else if (json_is_string(x)) {
        v->kind = POSTS_V_TEXT;
        v->s = json_string_value(x);
        v->len = json_string_length(x);
    } else
        v->kind = POSTS_V_OTHER;
}

int posts__json_row(json_t *o, posts_row *row)
{
    memset(row, 0, sizeof *row);
    if (!json_is_object(o))
        return PP_EFORMAT;
    for (int f = 0; f < POSTS_F_COUNT; f++)
        json_value(o, posts_field_name(f), &row->v[f]);
    return PP_OK;
}

json_t *posts__json_parse(const char *json, size_t len, posts_err *err)
{
    json_error_t je;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (o)
        return o;
    const char *why = je.text;
    if (strstr(je.text, "nable to decode byte") || strstr(je.text, "UTF-8"))
        posts_err_set(err, "invalid UTF-8 at byte %d", je.position);
    else if (je.position >= (int)len && len > 0)
        posts_err_set(err, "truncated JSON (%s)", why);
    else
        posts_err_set(err, "invalid JSON at byte %d: %s", je.position, why);
    return NULL;
}

int posts_post_from_json(const char *json, size_t len, posts_post *out, posts_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *o = posts__json_parse(json, len, err);
    if (!o)
        return PP_EFORMAT;
    posts_row row;
    posts_post p;
    int rc = posts__json_row(o, &row);
    if (rc != PP_OK)
        posts_err_set(err, "not a JSON object");
    else
        rc = posts_row_validate(&row, &p, NULL, err);
    if (rc == PP_OK) {
        char *t = malloc(p.text_len + 1);
        if (!t) {
            posts_err_set(err, "out of memory");
            rc = PP_ENOMEM;
        } else {
            memcpy(t, p.text, p.text_len);
            t[p.text_len] = '\0';
            p.text = t;
            *out = p;
        }
    }
    json_decref(o);
    return rc;
}
