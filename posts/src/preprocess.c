/*
 * preprocess.c - Text to hashed features: UTF-8 repair, NFC + case folding
 * (utf8proc), tokens / hashtags / mentions / URLs / emoji, feature hashing,
 * numeric features; a batch is split across worker threads. Token storage
 * comes from a per-batch arena or from malloc per token (the knob).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include <postprof/scope.h>
#include <posts/preprocess.h>

#include "internal.h"

#define MAX_THREADS 64
#define ARENA_BLOCK (64u * 1024u)
#define MAX_TEXT (4u * 1024u * 1024u) /* longer texts are cut (bounded work per post) */

/* ---- arena ---------------------------------------------------------------- */

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
    char data[];
} ablock;

typedef struct arena {
    ablock *head;
    uint64_t allocs;
} arena;

static void *arena_alloc(arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->head->used + n > a->head->cap) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        ablock *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
        a->allocs++;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

/* Keep the newest block, free the rest. */
static void arena_reset(arena *a)
{
    if (!a->head)
        return;
    ablock *b = a->head->next;
    a->head->next = NULL;
    a->head->used = 0;
    while (b) {
        ablock *n = b->next;
        free(b);
        b = n;
    }
}

static void arena_free(arena *a)
{
    arena_reset(a);
    free(a->head);
    a->head = NULL;
}

/* ---- per-worker state ------------------------------------------------------ */

typedef struct token {
    int kind;
    const char *s;
    size_t len;
} token;

typedef struct worker {
    struct posts_preprocessor *pp;
    pthread_t thread;
    int started;
    int use_arena;
    arena ar;
    char *clean; /* repaired UTF-8 */
    size_t clean_cap;
    utf8proc_int32_t *cps;
    size_t cps_cap;
    token *toks;
    size_t toks_cap;
    float acc[POSTS_FEAT_DIM];
    uint32_t touched[POSTS_FEAT_DIM];
    posts_feature_batch local;
    posts_preprocess_stats st;
    /* the chunk of the current batch */
    const posts_batch *in;
    size_t first, count;
    int rc;
} worker;

struct posts_preprocessor {
    int threads, arena;
    worker *w;
    pthread_mutex_t mu;
    pthread_cond_t cv_go, cv_done;
    uint64_t generation;
    int pending;
    int stop;
};

/* ---- token extraction ------------------------------------------------------ */

static int is_word_cp(utf8proc_int32_t c)
{
    if (c == '_')
        return 1;
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

static int is_emoji_cp(utf8proc_int32_t c)
{
    return (c >= 0x1F300 && c <= 0x1FAFF) || (c >= 0x2600 && c <= 0x27BF) ||
           (c >= 0x1F000 && c <= 0x1F2FF) || (c >= 0x2B00 && c <= 0x2BFF);
}

static int is_space_cp(utf8proc_int32_t c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' ||
           utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

static int starts_with(const utf8proc_int32_t *c, size_t n, const char *lit)
{
    size_t i = 0;
    for (; lit[i]; i++)
        if (i >= n || c[i] != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* Encode cps[a, b) as UTF-8 into storage (arena or malloc); NULL on ENOMEM. */
static char *encode(worker *w, const utf8proc_int32_t *cps, size_t a, size_t b, size_t *out_len,
                    uint64_t *allocs)
{
    size_t cap = (b - a) * 4 + 1;
    char *s = w->use_arena ? arena_alloc(&w->ar, cap) : malloc(cap);
    if (!s)
        return NULL;
    if (!w->use_arena)
        (*allocs)++;
    size_t n = 0;
    for (size_t i = a; i < b; i++)
        n += (size_t)utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)s + n);
    s[n] = '\0';
    *out_len = n;
    return s;
}

static int push_token(worker *w, size_t *nt, int kind, const utf8proc_int32_t *cps, size_t a,
                      size_t b, uint64_t *allocs)
{
    if (*nt == w->toks_cap) {
        size_t cap = w->toks_cap ? w->toks_cap * 2 : 256;
        token *t = realloc(w->toks, cap * sizeof *t);
        if (!t)
            return PP_ENOMEM;
        w->toks = t;
        w->toks_cap = cap;
    }
    size_t len;
    char *s = encode(w, cps, a, b, &len, allocs);
    if (!s)
        return PP_ENOMEM;
    w->toks[*nt] = (token){kind, s, len};
    (*nt)++;
    return PP_OK;
}

/* Repair, normalize and tokenize text into w->toks. Returns invalid count or <0. */
static long tokenize(worker *w, const char *text, size_t len, size_t *out_nt, uint64_t *allocs)
{
    *out_nt = 0;
    if (len > MAX_TEXT)
        len = MAX_TEXT;
    /* 1. UTF-8 repair into w->clean */
    if (len * 3 + 1 > w->clean_cap) {
        char *c = realloc(w->clean, len * 3 + 1);
        if (!c)
            return PP_ENOMEM;
        w->clean = c;
        w->clean_cap = len * 3 + 1;
    }
    long bad = 0;
    size_t cl = 0;
    {
        const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)text;
        size_t i = 0;
        while (i < len) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate(u + i, (utf8proc_ssize_t)(len - i), &cp);
            if (n <= 0 || cp == 0) {
                memcpy(w->clean + cl, "\xef\xbf\xbd", 3);
                cl += 3;
                bad += cp != 0 || n <= 0;
                i++;
                continue;
            }
            memcpy(w->clean + cl, u + i, (size_t)n);
            cl += (size_t)n;
            i += (size_t)n;
        }
    }
    /* 2. NFC + case folding into code points */
    utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD;
    utf8proc_ssize_t n;
    for (;;) {
        n = utf8proc_decompose((const utf8proc_uint8_t *)w->clean, (utf8proc_ssize_t)cl, w->cps,
                               (utf8proc_ssize_t)w->cps_cap, opt);
        if (n < 0)
            return PP_EFORMAT;
        if ((size_t)n <= w->cps_cap)
            break;
        utf8proc_int32_t *c = realloc(w->cps, ((size_t)n + 16) * sizeof *c);
        if (!c)
            return PP_ENOMEM;
        w->cps = c;
        w->cps_cap = (size_t)n + 16;
    }
    n = utf8proc_normalize_utf32(w->cps, n, opt);
    if (n < 0)
        return PP_EFORMAT;
    /* 3. tokens */
    const utf8proc_int32_t *c = w->cps;
    size_t N = (size_t)n, i = 0, nt = 0;
    while (i < N) {
        utf8proc_int32_t x = c[i];
        if (x == 'h' &&
            (starts_with(c + i, N - i, "https://") || starts_with(c + i, N - i, "http://"))) {
            size_t j = i;
            while (j < N && !is_space_cp(c[j]))
                j++;
            if (push_token(w, &nt, POSTS_TOK_URL, c, i, j, allocs))
                return PP_ENOMEM;
            i = j;
        } else if ((x == '#' || x == '@') && i + 1 < N && is_word_cp(c[i + 1])) {
            size_t j = i + 1;
            while (j < N && (is_word_cp(c[j]) ||
                             (x == '@' && c[j] == '.' && j + 1 < N && is_word_cp(c[j + 1]))))
                j++;
            if (push_token(w, &nt, x == '#' ? POSTS_TOK_HASHTAG : POSTS_TOK_MENTION, c, i + 1, j,
                           allocs))
                return PP_ENOMEM;
            i = j;
        } else if (is_emoji_cp(x)) {
            if (push_token(w, &nt, POSTS_TOK_EMOJI, c, i, i + 1, allocs))
                return PP_ENOMEM;
            i++;
        } else if (is_word_cp(x)) {
            size_t j = i;
            while (j < N && is_word_cp(c[j]))
                j++;
            if (push_token(w, &nt, POSTS_TOK_WORD, c, i, j, allocs))
                return PP_ENOMEM;
            i = j;
        } else {
            i++;
        }
    }
    *out_nt = nt;
    return bad;
}

static void release_tokens(worker *w, size_t nt)
{
    if (!w->use_arena)
        for (size_t i = 0; i < nt; i++)
            free((void *)w->toks[i].s);
}

/* ---- featurization ---------------------------------------------------------- */

int posts__fb_reserve(posts_feature_batch *fb, size_t posts, size_t nnz)
{
    if (posts__grow((void **)&fb->f, &fb->cap, fb->n + posts, sizeof *fb->f, 256) != PP_OK)
        return PP_ENOMEM;
    if (fb->nnz + nnz <= fb->nnz_cap)
        return PP_OK;
    size_t cap = fb->nnz_cap; /* idx and val share one capacity */
    if (posts__grow((void **)&fb->idx, &cap, fb->nnz + nnz, sizeof *fb->idx, 4096) != PP_OK)
        return PP_ENOMEM;
    cap = fb->nnz_cap;
    if (posts__grow((void **)&fb->val, &cap, fb->nnz + nnz, sizeof *fb->val, 4096) != PP_OK)
        return PP_ENOMEM;
    fb->nnz_cap = cap;
    return PP_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static const char kind_tag[POSTS_TOK_KINDS] = {'w', '#', '@', 'u', 'e'};

static int featurize(worker *w, const posts_post *p, posts_feature_batch *out)
{
    size_t nt = 0;
    uint64_t allocs = 0;
    long bad = tokenize(w, p->text ? p->text : "", p->text_len, &nt, &allocs);
    if (bad < 0) {
        release_tokens(w, nt);
        return (int)bad;
    }
    posts_features f = {.post_id = p->id,
                        .text_bytes =
                            (uint32_t)(p->text_len > UINT32_MAX ? UINT32_MAX : p->text_len)};
    f.invalid_utf8 = (uint32_t)bad;
    f.tokens = (uint32_t)nt;
    size_t ntouched = 0;
    int question = 0, exclaim = 0;
    for (size_t i = 0; i < nt; i++) {
        const token *t = &w->toks[i];
        switch (t->kind) {
        case POSTS_TOK_HASHTAG:
            f.hashtags++;
            break;
        case POSTS_TOK_MENTION:
            f.mentions++;
            break;
        case POSTS_TOK_URL:
            f.urls++;
            break;
        case POSTS_TOK_EMOJI:
            f.emoji++;
            break;
        default:
            break;
        }
        uint64_t h = posts__fnv1a(&kind_tag[t->kind], 1, POSTS__FNV_BASIS);
        h = posts__mix64(posts__fnv1a(t->s, t->len, h));
        uint32_t idx = POSTS_META_DIM + (uint32_t)(h % (POSTS_FEAT_DIM - POSTS_META_DIM));
        float sign = (h >> 63) ? -1.0f : 1.0f;
        if (w->acc[idx] == 0.0f)
            w->touched[ntouched++] = idx;
        w->acc[idx] += sign;
        if (w->acc[idx] == 0.0f)
            w->acc[idx] = 1e-30f; /* keep it "touched"; cancelled below */
    }
    release_tokens(w, nt);
    for (size_t i = 0; i < p->text_len; i++) {
        question |= p->text[i] == '?';
        exclaim |= p->text[i] == '!';
    }
    qsort(w->touched, ntouched, sizeof *w->touched, cmp_u32);
    double norm = 0;
    for (size_t i = 0; i < ntouched; i++)
        norm += (double)w->acc[w->touched[i]] * w->acc[w->touched[i]];
    float inv = norm > 0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
    float meta[POSTS_META_DIM] = {0};
    meta[0] =
        (float)(log10((double)(p->author_followers > 0 ? p->author_followers : 0) + 1.0) / 5.0);
    if (p->media >= 0 && p->media < 5)
        meta[1 + p->media] = 1.0f;
    meta[6] = (p->lang[0] == 'e' && p->lang[1] == 's') ? 1.0f : 0.0f;
    meta[7] = (float)(log1p((double)p->text_len) / 8.0);
    meta[8] = (float)(f.hashtags < 5 ? f.hashtags : 5) / 5.0f;
    meta[9] = (float)(f.mentions < 3 ? f.mentions : 3) / 3.0f;
    meta[10] = (float)(f.urls < 3 ? f.urls : 3) / 3.0f;
    meta[11] = (float)(f.emoji < 5 ? f.emoji : 5) / 5.0f;
    meta[12] = (float)question;
    meta[13] = (float)exclaim;
    double hour = (double)((p->created_at % 86400 + 86400) % 86400) / 3600.0;
    meta[14] = (float)sin(hour * 2 * M_PI / 24);
    meta[15] = (float)cos(hour * 2 * M_PI / 24);
    if (posts__fb_reserve(out, 1, POSTS_META_DIM + ntouched) != PP_OK) {
        for (size_t i = 0; i < ntouched; i++)
            w->acc[w->touched[i]] = 0.0f;
        return PP_ENOMEM;
    }
    f.off = (uint32_t)out->nnz;
    for (uint32_t k = 0; k < POSTS_META_DIM; k++) {
        if (meta[k] != 0.0f) {
            out->idx[out->nnz] = k;
            out->val[out->nnz++] = meta[k];
        }
    }
    for (size_t i = 0; i < ntouched; i++) {
        uint32_t idx = w->touched[i];
        float v = w->acc[idx];
        w->acc[idx] = 0.0f;
        if (v > -0.5f && v < 0.5f)
            continue; /* cancelled out */
        out->idx[out->nnz] = idx;
        out->val[out->nnz++] = v * inv;
    }
    f.nnz = (uint32_t)(out->nnz - f.off);
    out->f[out->n++] = f;
    w->st.posts++;
    w->st.bytes += p->text_len;
    w->st.tokens += nt;
    w->st.invalid_utf8 += (uint64_t)bad;
    w->st.allocs += allocs;
    return PP_OK;
}

static void run_chunk(worker *w)
{
    PP_SCOPE("posts.preprocess.chunk");
    uint64_t blocks0 = w->ar.allocs;
    w->rc = PP_OK;
    for (size_t i = 0; i < w->count && w->rc == PP_OK; i++)
        w->rc = featurize(w, &w->in->posts[w->first + i], &w->local);
    if (w->use_arena) {
        w->st.allocs += w->ar.allocs - blocks0;
        arena_reset(&w->ar);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    posts_preprocessor *pp = w->pp;
    uint64_t seen = 0;
    pthread_mutex_lock(&pp->mu);
    for (;;) {
        while (!pp->stop && pp->generation == seen)
            pthread_cond_wait(&pp->cv_go, &pp->mu);
        if (pp->stop)
            break;
        seen = pp->generation;
        pthread_mutex_unlock(&pp->mu);
        run_chunk(w);
        pthread_mutex_lock(&pp->mu);
        if (--pp->pending == 0)
            pthread_cond_signal(&pp->cv_done);
    }
    pthread_mutex_unlock(&pp->mu);
    return NULL;
}

int posts_preprocessor_new(int threads, int use_arena, posts_preprocessor **out)
{
    *out = NULL;
    if (threads < 1 || threads > MAX_THREADS)
        return PP_EINVAL;
    posts_preprocessor *pp = calloc(1, sizeof *pp);
    if (!pp)
        return PP_ENOMEM;
    pp->threads = threads;
    pp->arena = use_arena != 0;
    pp->w = calloc((size_t)threads, sizeof *pp->w);
    pthread_mutex_init(&pp->mu, NULL);
    pthread_cond_init(&pp->cv_go, NULL);
    pthread_cond_init(&pp->cv_done, NULL);
    if (!pp->w) {
        posts_preprocessor_free(pp);
        return PP_ENOMEM;
    }
    for (int i = 0; i < threads; i++) {
        pp->w[i].pp = pp;
        pp->w[i].use_arena = pp->arena;
    }
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&pp->w[i].thread, NULL, worker_main, &pp->w[i]) != 0) {
            posts_preprocessor_free(pp);
            return PP_ENOMEM;
        }
        pp->w[i].started = 1;
    }
    *out = pp;
    return PP_OK;
}

int posts_preprocess_batch(posts_preprocessor *pp, const posts_batch *in, posts_feature_batch *out,
                           posts_preprocess_stats *stats)
{
    PP_SCOPE_MEM("posts.preprocess.batch");
    int rc = PP_OK;
    int nw = pp->threads;
    if ((size_t)nw > in->n)
        nw = in->n ? (int)in->n : 1;
    size_t per = in->n / (size_t)nw, extra = in->n % (size_t)nw, first = 0;
    for (int i = 0; i < pp->threads; i++) {
        worker *w = &pp->w[i];
        posts_feature_batch_clear(&w->local);
        memset(&w->st, 0, sizeof w->st);
        w->in = in;
        w->first = first;
        w->count = i < nw ? per + ((size_t)i < extra) : 0;
        first += w->count;
    }
    if (nw > 1) {
        pthread_mutex_lock(&pp->mu);
        pp->pending = pp->threads - 1;
        pp->generation++;
        pthread_cond_broadcast(&pp->cv_go);
        pthread_mutex_unlock(&pp->mu);
    }
    run_chunk(&pp->w[0]);
    if (nw > 1) {
        pthread_mutex_lock(&pp->mu);
        while (pp->pending > 0)
            pthread_cond_wait(&pp->cv_done, &pp->mu);
        pthread_mutex_unlock(&pp->mu);
    }
    for (int i = 0; i < pp->threads; i++) {
        worker *w = &pp->w[i];
        if (w->rc != PP_OK && rc == PP_OK)
            rc = w->rc;
        if (rc != PP_OK)
            continue;
        posts_feature_batch *l = &w->local;
        if ((rc = posts__fb_reserve(out, l->n, l->nnz)) != PP_OK)
            continue;
        uint32_t base = (uint32_t)out->nnz;
        memcpy(out->idx + out->nnz, l->idx, l->nnz * sizeof *l->idx);
        memcpy(out->val + out->nnz, l->val, l->nnz * sizeof *l->val);
        out->nnz += l->nnz;
        for (size_t k = 0; k < l->n; k++) {
            out->f[out->n] = l->f[k];
            out->f[out->n++].off += base;
        }
        if (stats) {
            stats->posts += w->st.posts;
            stats->bytes += w->st.bytes;
            stats->tokens += w->st.tokens;
            stats->invalid_utf8 += w->st.invalid_utf8;
            stats->allocs += w->st.allocs;
        }
    }
    return rc;
}

void posts_preprocessor_free(posts_preprocessor *pp)
{
    if (!pp)
        return;
    if (pp->w) {
        pthread_mutex_lock(&pp->mu);
        pp->stop = 1;
        pthread_cond_broadcast(&pp->cv_go);
        pthread_mutex_unlock(&pp->mu);
        for (int i = 0; i < pp->threads; i++) {
            worker *w = &pp->w[i];
            if (w->started)
                pthread_join(w->thread, NULL);
            arena_free(&w->ar);
            free(w->clean);
            free(w->cps);
            free(w->toks);
            posts_feature_batch_release(&w->local);
        }
        free(pp->w);
    }
    pthread_mutex_destroy(&pp->mu);
    pthread_cond_destroy(&pp->cv_go);
    pthread_cond_destroy(&pp->cv_done);
    free(pp);
}

long posts_text_tokens(const char *text, size_t len, posts_token_fn cb, void *user)
{
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return PP_ENOMEM;
    w->use_arena = 1;
    size_t nt = 0;
    uint64_t allocs = 0;
    long bad = tokenize(w, text, len, &nt, &allocs);
    if (bad >= 0 && cb)
        for (size_t i = 0; i < nt; i++)
            cb(user, w->toks[i].kind, w->toks[i].s, w->toks[i].len);
    arena_free(&w->ar);
    free(w->clean);
    free(w->cps);
    free(w->toks);
    free(w);
    return bad;
}

void posts_feature_batch_clear(posts_feature_batch *fb)
{
    if (!fb)
        return;
    fb->n = 0;
    fb->nnz = 0;
}

void posts_feature_batch_release(posts_feature_batch *fb)
{
    if (!fb)
        return;
    free(fb->f);
    free(fb->idx);
    free(fb->val);
    memset(fb, 0, sizeof *fb);
}

void posts_feature_batch_densify(const posts_feature_batch *fb, size_t first, size_t count,
                                 float *out)
{
    memset(out, 0, count * POSTS_FEAT_DIM * sizeof *out);
    for (size_t i = 0; i < count; i++) {
        const posts_features *f = &fb->f[first + i];
        float *row = out + i * POSTS_FEAT_DIM;
        for (uint32_t k = 0; k < f->nnz; k++)
            row[fb->idx[f->off + k]] = fb->val[f->off + k];
    }
}
