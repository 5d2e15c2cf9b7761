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

static int get_int(json_t *o, const char *k, int64_t min, int64_t *v, posts_err *err)
{
    json_t *x = json_object_get(o, k);
    if (!x) {
        posts_err_set(err, "missing field \"%s\"", k);
        return PP_EFORMAT;
    }
    if (!json_is_integer(x)) {
        posts_err_set(err, "field \"%s\" must be an integer", k);
        return PP_EFORMAT;
    }
    *v = json_integer_value(x);
    if (*v < min) {
        posts_err_set(err, "field \"%s\" out of range (%" PRId64 " < %" PRId64 ")", k, *v, min);
        return PP_EFORMAT;
    }
    return PP_OK;
}

static int get_str(json_t *o, const char *k, json_t **v, posts_err *err)
{
    *v = json_object_get(o, k);
    if (!*v) {
        posts_err_set(err, "missing field \"%s\"", k);
        return PP_EFORMAT;
    }
    if (!json_is_string(*v)) {
        posts_err_set(err, "field \"%s\" must be a string", k);
        return PP_EFORMAT;
    }
    return PP_OK;
}

/* Parse from an already-decoded jansson object (shared with the API client). */
int posts__post_from_jobj(json_t *o, posts_post *out, posts_err *err);

int posts__post_from_jobj(json_t *o, posts_post *out, posts_err *err)
{
    int rc;
    json_t *lang, *text, *media;
    memset(out, 0, sizeof *out);
    if (!json_is_object(o)) {
        posts_err_set(err, "not a JSON object");
        return PP_EFORMAT;
    }
    if ((rc = get_int(o, "id", 1, &out->id, err)) ||
        (rc = get_int(o, "author_id", 1, &out->author_id, err)) ||
        (rc = get_int(o, "author_followers", 0, &out->author_followers, err)) ||
        (rc = get_int(o, "created_at", 0, &out->created_at, err)) ||
        (rc = get_str(o, "lang", &lang, err)) || (rc = get_str(o, "text", &text, err)) ||
        (rc = get_str(o, "media", &media, err)) ||
        (rc = get_int(o, "reactions", 0, &out->reactions, err)) ||
        (rc = get_int(o, "comments", 0, &out->comments, err)) ||
        (rc = get_int(o, "shares", 0, &out->shares, err)))
        goto out;
    size_t ll = json_string_length(lang);
    if (ll < 1 || ll >= sizeof out->lang) {
        posts_err_set(err, "field \"lang\" must be 1 to %zu characters", sizeof out->lang - 1);
        rc = PP_EFORMAT;
        goto out;
    }
    memcpy(out->lang, json_string_value(lang), ll);
    out->media = posts_media_parse(json_string_value(media));
    if (out->media < 0) {
        posts_err_set(err, "field \"media\" must be none|image|video|article|poll");
        rc = PP_EFORMAT;
        goto out;
    }
    out->text_len = json_string_length(text);
    out->text = malloc(out->text_len + 1);
    if (!out->text) {
        posts_err_set(err, "out of memory");
        rc = PP_ENOMEM;
        goto out;
    }
    memcpy(out->text, json_string_value(text), out->text_len);
    out->text[out->text_len] = '\0';
    rc = PP_OK;
out:
    if (rc != PP_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

int posts_post_from_json(const char *json, size_t len, posts_post *out, posts_err *err)
{
    json_error_t je;
    memset(out, 0, sizeof *out);
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        const char *why = je.text;
        if (strstr(je.text, "nable to decode byte") || strstr(je.text, "UTF-8"))
            posts_err_set(err, "invalid UTF-8 at byte %d", je.position);
        else if (je.position >= (int)len && len > 0)
            posts_err_set(err, "truncated JSON (%s)", why);
        else
            posts_err_set(err, "invalid JSON at byte %d: %s", je.position, why);
        return PP_EFORMAT;
    }
    int rc = posts__post_from_jobj(o, out, err);
    json_decref(o);
    return rc;
}
