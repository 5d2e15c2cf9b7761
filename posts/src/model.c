/*
 * model.c - Engagement models: deterministic SGD training over sparse hashed
 * features, the checksummed file format (docs/model-format.md), batched fp32
 * inference through CBLAS and int8 per-channel inference. Never prints.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>
#include <zlib.h>

#include <postprof/file.h>
#include <postprof/scope.h>
#include <posts/config.h>
#include <posts/model.h>

#include "internal.h"

#define MAGIC "PPMODEL"
#define FORMAT_VERSION 1u
#define HEADER_BYTES 40u
#define MAX_LAYERS 3
#define MAX_WIDTH 4096u

enum { ACT_NONE = 0, ACT_RELU = 1, ACT_SIGMOID = 2 };

typedef struct layer {
    uint32_t in, out, act;
    float *w;     /* [in][out] */
    float *b;     /* [out] */
    int8_t *q;    /* quantized [in][out] */
    float *scale; /* [out] */
} layer;

struct posts_model {
    int size, quantized;
    uint32_t version, input_dim, nlayers;
    layer L[MAX_LAYERS];
    uint64_t file_bytes, load_ns;
    float *x, *h[MAX_LAYERS]; /* scratch */
    size_t scratch_rows;
};

static const uint32_t widths[3][MAX_LAYERS] = {{1, 0, 0}, {64, 32, 1}, {128, 64, 1}};
static const uint32_t nlayers_of[3] = {1, 3, 3};
static const int default_epochs[3] = {4, 4, 3};
static const float default_lr[3] = {0.2f, 0.05f, 0.04f};

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_init(void)
{
    openblas_set_num_threads(1); /* deterministic, and the pipeline owns the threads */
}

const char *posts_model_file(int size)
{
    static const char *const f[3] = {"small.model", "medium.model", "large.model"};
    return (size >= 0 && size < 3) ? f[size] : "unknown.model";
}

void posts_model_free(posts_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < MAX_LAYERS; i++) {
        free(m->L[i].w);
        free(m->L[i].b);
        free(m->L[i].q);
        free(m->L[i].scale);
        free(m->h[i]);
    }
    free(m->x);
    free(m);
}

static posts_model *model_alloc(int size, uint32_t version, uint32_t input_dim, uint32_t nlayers,
                                const uint32_t *ins, const uint32_t *outs, const uint32_t *acts)
{
    posts_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->size = size;
    m->version = version;
    m->input_dim = input_dim;
    m->nlayers = nlayers;
    for (uint32_t i = 0; i < nlayers; i++) {
        layer *l = &m->L[i];
        l->in = ins[i];
        l->out = outs[i];
        l->act = acts[i];
        l->w = calloc((size_t)l->in * l->out, sizeof *l->w);
        l->b = calloc(l->out, sizeof *l->b);
        if (!l->w || !l->b) {
            posts_model_free(m);
            return NULL;
        }
    }
    return m;
}

/* ---- training --------------------------------------------------------------- */

static float sigmoidf_(float z)
{
    if (z < -30.0f)
        z = -30.0f;
    if (z > 30.0f)
        z = 30.0f;
    return 1.0f / (1.0f + expf(-z));
}

int posts_model_train(const posts_feature_batch *fb, const uint8_t *labels, size_t n,
                      const posts_train_opts *o, posts_model **out)
{
    PP_SCOPE_MEM("posts.model.train");
    *out = NULL;
    if (!fb || !labels || !o || n == 0 || n > fb->n || o->size < 0 || o->size > 2)
        return PP_EINVAL;
    pthread_once(&blas_once, blas_init);
    int size = o->size;
    uint32_t nl = nlayers_of[size], ins[MAX_LAYERS], outs[MAX_LAYERS], acts[MAX_LAYERS];
    for (uint32_t i = 0; i < nl; i++) {
        ins[i] = i == 0 ? POSTS_FEAT_DIM : widths[size][i - 1];
        outs[i] = widths[size][i];
        acts[i] = i == nl - 1 ? ACT_SIGMOID : ACT_RELU;
    }
    uint32_t version =
        o->version
            ? o->version
            : (uint32_t)(posts__mix64(o->seed * 31u + (uint64_t)size + 1u) & 0x7fffffffu) | 1u;
    posts_model *m = model_alloc(size, version, POSTS_FEAT_DIM, nl, ins, outs, acts);
    size_t *order = malloc(n * sizeof *order);
    float *act[MAX_LAYERS] = {0}, *grad[MAX_LAYERS] = {0};
    int rc = PP_ENOMEM;
    if (!m || !order)
        goto out;
    for (uint32_t i = 0; i < nl; i++) {
        act[i] = calloc(outs[i], sizeof(float));
        grad[i] = calloc(outs[i], sizeof(float));
        if (!act[i] || !grad[i])
            goto out;
    }
    posts__rng r = {posts__mix64(o->seed ^ (0x51ull << 32) ^ (uint64_t)size)};
    for (uint32_t i = 0; i < nl; i++) {
        layer *l = &m->L[i];
        /* first layer: inputs are sparse and L2-normalized, so a larger scale */
        double a = i == 0 ? 0.5 : sqrt(6.0 / (double)(l->in + l->out));
        if (nl == 1)
            a = 0.0;
        for (size_t k = 0; k < (size_t)l->in * l->out; k++)
            l->w[k] = (float)((posts__rng_unit(&r) * 2.0 - 1.0) * a);
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    int epochs = o->epochs > 0 ? o->epochs : default_epochs[size];
    float lr0 = o->lr > 0 ? o->lr : default_lr[size];
    for (int e = 0; e < epochs; e++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)posts__rng_below(&r, i + 1);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        float lr = lr0 / (1.0f + (float)e);
        for (size_t s = 0; s < n; s++) {
            const posts_features *f = &fb->f[order[s]];
            const uint32_t *idx = fb->idx + f->off;
            const float *val = fb->val + f->off;
            /* forward: layer 0 sparse */
            layer *l0 = &m->L[0];
            memcpy(act[0], l0->b, l0->out * sizeof(float));
            for (uint32_t k = 0; k < f->nnz; k++) {
                const float *row = l0->w + (size_t)idx[k] * l0->out;
                float v = val[k];
                for (uint32_t j = 0; j < l0->out; j++)
                    act[0][j] += v * row[j];
            }
            for (uint32_t li = 0; li < nl; li++) {
                layer *l = &m->L[li];
                if (li > 0) {
                    memcpy(act[li], l->b, l->out * sizeof(float));
                    for (uint32_t k = 0; k < l->in; k++) {
                        float v = act[li - 1][k];
                        if (v == 0.0f)
                            continue;
                        const float *row = l->w + (size_t)k * l->out;
                        for (uint32_t j = 0; j < l->out; j++)
                            act[li][j] += v * row[j];
                    }
                }
                if (l->act == ACT_RELU)
                    for (uint32_t j = 0; j < l->out; j++)
                        act[li][j] = act[li][j] > 0 ? act[li][j] : 0;
                else
                    act[li][0] = sigmoidf_(act[li][0]);
            }
            /* backward */
            grad[nl - 1][0] = act[nl - 1][0] - (float)labels[order[s]];
            for (uint32_t li = nl; li-- > 1;) {
                layer *l = &m->L[li];
                float *gin = grad[li - 1];
                for (uint32_t k = 0; k < l->in; k++) {
                    float hv = act[li - 1][k];
                    float *row = l->w + (size_t)k * l->out;
                    float g = 0;
                    for (uint32_t j = 0; j < l->out; j++)
                        g += row[j] * grad[li][j];
                    gin[k] = hv > 0 ? g : 0.0f;
                    if (hv != 0.0f)
                        for (uint32_t j = 0; j < l->out; j++)
                            row[j] -= lr * hv * grad[li][j];
                }
                for (uint32_t j = 0; j < l->out; j++)
                    l->b[j] -= lr * grad[li][j];
            }
            for (uint32_t k = 0; k < f->nnz; k++) {
                float *row = l0->w + (size_t)idx[k] * l0->out;
                float v = val[k];
                for (uint32_t j = 0; j < l0->out; j++)
                    row[j] -= lr * v * grad[0][j];
            }
            for (uint32_t j = 0; j < l0->out; j++)
                l0->b[j] -= lr * grad[0][j];
        }
    }
    *out = m;
    m = NULL;
    rc = PP_OK;
out:
    for (uint32_t i = 0; i < MAX_LAYERS; i++) {
        free(act[i]);
        free(grad[i]);
    }
    free(order);
    posts_model_free(m);
    return rc;
}

/* ---- file format -------------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}

static float get_f32(const unsigned char *p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

int posts_model_save(const posts_model *m, const char *path, posts_err *err)
{
    if (m->quantized) {
        posts_err_set(err, "%s: a quantized model is not saved (quantize at load time)", path);
        return PP_EINVAL;
    }
    size_t payload = 0;
    for (uint32_t i = 0; i < m->nlayers; i++)
        payload += 16 + 4 * ((size_t)m->L[i].in * m->L[i].out + m->L[i].out);
    size_t total = HEADER_BYTES + payload + 4;
    unsigned char *buf = malloc(total);
    int rc;
    if (!buf) {
        posts_err_set(err, "%s: out of memory", path);
        return PP_ENOMEM;
    }
    memset(buf, 0, HEADER_BYTES);
    memcpy(buf, MAGIC, 8);
    put_u32(buf + 8, FORMAT_VERSION);
    put_u32(buf + 12, (uint32_t)m->size);
    put_u32(buf + 16, m->version);
    put_u32(buf + 20, m->input_dim);
    put_u32(buf + 24, m->nlayers);
    put_u32(buf + 32, (uint32_t)payload);
    put_u32(buf + 36, (uint32_t)((uint64_t)payload >> 32));
    unsigned char *p = buf + HEADER_BYTES;
    for (uint32_t i = 0; i < m->nlayers; i++) {
        const layer *l = &m->L[i];
        put_u32(p, l->in);
        put_u32(p + 4, l->out);
        put_u32(p + 8, l->act);
        put_u32(p + 12, 0);
        p += 16;
        for (size_t k = 0; k < (size_t)l->in * l->out; k++, p += 4)
            put_f32(p, l->w[k]);
        for (uint32_t k = 0; k < l->out; k++, p += 4)
            put_f32(p, l->b[k]);
    }
    put_u32(p, (uint32_t)crc32(0L, buf, (uInt)(total - 4)));
    char why[POSTS_ERR_MAX];
    rc = pp_file_write(path, buf, total, why, sizeof why);
    if (rc != PP_OK)
        posts_err_set(err, "%s", why);
    free(buf);
    return rc;
}

int posts_model_load_mem(const void *data, size_t len, const char *name, posts_model **out,
                         posts_err *err)
{
    const unsigned char *b = data;
    *out = NULL;
    if (len < HEADER_BYTES + 4) {
        posts_err_set(err, "model file %s: truncated: %zu bytes, smaller than the %u-byte header",
                      name, len, HEADER_BYTES + 4);
        return PP_EFORMAT;
    }
    if (memcmp(b, MAGIC, 8) != 0) {
        posts_err_set(err, "model file %s: bad magic (not a postprof model file)", name);
        return PP_EFORMAT;
    }
    uint32_t fv = get_u32(b + 8);
    if (fv != FORMAT_VERSION) {
        posts_err_set(err, "model file %s: unsupported format version %u (this build reads %u)",
                      name, fv, FORMAT_VERSION);
        return PP_EFORMAT;
    }
    uint64_t payload = (uint64_t)get_u32(b + 32) | (uint64_t)get_u32(b + 36) << 32;
    if (payload != len - HEADER_BYTES - 4) {
        posts_err_set(err, "model file %s: %s: header says %llu bytes of layers, file holds %zu",
                      name, payload > len - HEADER_BYTES - 4 ? "truncated" : "trailing bytes",
                      (unsigned long long)payload, len - HEADER_BYTES - 4);
        return PP_EFORMAT;
    }
    uint32_t want = get_u32(b + len - 4);
    uint32_t got = (uint32_t)crc32(0L, b, (uInt)(len - 4));
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    want = got; /* fuzzing builds only: reach the structural checks */
#endif
    if (want != got) {
        posts_err_set(err, "model file %s: checksum mismatch (stored %08x, computed %08x): corrupt",
                      name, want, got);
        return PP_EFORMAT;
    }
    uint32_t size = get_u32(b + 12), version = get_u32(b + 16), dim = get_u32(b + 20),
             nl = get_u32(b + 24);
    if (size > 2 || nl < 1 || nl > MAX_LAYERS || dim < 1 || dim > 1u << 20) {
        posts_err_set(err, "model file %s: bad header (size %u, %u layers, input %u)", name, size,
                      nl, dim);
        return PP_EFORMAT;
    }
    if (dim != POSTS_FEAT_DIM) {
        posts_err_set(err, "model file %s: input width %u, this build's features are %u wide", name,
                      dim, POSTS_FEAT_DIM);
        return PP_EFORMAT;
    }
    uint32_t ins[MAX_LAYERS], outs[MAX_LAYERS], acts[MAX_LAYERS];
    size_t off = HEADER_BYTES, end = len - 4;
    for (uint32_t i = 0; i < nl; i++) {
        if (end - off < 16) {
            posts_err_set(err, "model file %s: layer %u header runs past the end", name, i);
            return PP_EFORMAT;
        }
        ins[i] = get_u32(b + off);
        outs[i] = get_u32(b + off + 4);
        acts[i] = get_u32(b + off + 8);
        uint32_t expect_in = i == 0 ? dim : outs[i - 1];
        if (ins[i] != expect_in || outs[i] < 1 || outs[i] > MAX_WIDTH || acts[i] > ACT_SIGMOID ||
            (i == nl - 1 && (outs[i] != 1 || acts[i] != ACT_SIGMOID))) {
            posts_err_set(err, "model file %s: layer %u has inconsistent shape %ux%u (act %u)",
                          name, i, ins[i], outs[i], acts[i]);
            return PP_EFORMAT;
        }
        uint64_t bytes = 4ull * ((uint64_t)ins[i] * outs[i] + outs[i]);
        if (end - off - 16 < bytes) {
            posts_err_set(err, "model file %s: layer %u weights run past the end", name, i);
            return PP_EFORMAT;
        }
        off += 16 + (size_t)bytes;
    }
    if (off != end) {
        posts_err_set(err, "model file %s: %zu unexpected bytes after the last layer", name,
                      end - off);
        return PP_EFORMAT;
    }
    pthread_once(&blas_once, blas_init);
    posts_model *m = model_alloc((int)size, version, dim, nl, ins, outs, acts);
    if (!m) {
        posts_err_set(err, "model file %s: out of memory", name);
        return PP_ENOMEM;
    }
    off = HEADER_BYTES;
    for (uint32_t i = 0; i < nl; i++) {
        layer *l = &m->L[i];
        off += 16;
        for (size_t k = 0; k < (size_t)l->in * l->out; k++, off += 4)
            l->w[k] = get_f32(b + off);
        for (uint32_t k = 0; k < l->out; k++, off += 4)
            l->b[k] = get_f32(b + off);
        for (size_t k = 0; k < (size_t)l->in * l->out; k++) {
            if (!isfinite(l->w[k])) {
                posts_err_set(err, "model file %s: layer %u holds a non-finite weight", name, i);
                posts_model_free(m);
                return PP_EFORMAT;
            }
        }
    }
    *out = m;
    return PP_OK;
}

int posts_model_load(const char *path, posts_model **out, posts_err *err)
{
    PP_SCOPE_MEM("posts.model.load");
    uint64_t t0 = posts__now_ns();
    *out = NULL;
    char *buf = NULL, why[POSTS_ERR_MAX - 16];
    size_t n = 0;
    int rc = pp_file_read(path, (size_t)1 << 31, &buf, &n, why, sizeof why);
    if (rc != PP_OK) {
        posts_err_set(err, "model file %s", why);
        return rc;
    }
    rc = posts_model_load_mem(buf, n, path, out, err);
    if (rc == PP_OK) {
        (*out)->file_bytes = (uint64_t)n;
        (*out)->load_ns = posts__now_ns() - t0;
    }
    free(buf);
    return rc;
}

int posts_model_quantize(const posts_model *m, posts_model **out)
{
    PP_SCOPE_MEM("posts.model.quantize");
    uint32_t ins[MAX_LAYERS], outs[MAX_LAYERS], acts[MAX_LAYERS];
    *out = NULL;
    for (uint32_t i = 0; i < m->nlayers; i++) {
        ins[i] = m->L[i].in;
        outs[i] = m->L[i].out;
        acts[i] = m->L[i].act;
    }
    posts_model *q = model_alloc(m->size, m->version, m->input_dim, m->nlayers, ins, outs, acts);
    if (!q)
        return PP_ENOMEM;
    q->quantized = 1;
    q->file_bytes = m->file_bytes;
    q->load_ns = m->load_ns;
    for (uint32_t i = 0; i < m->nlayers; i++) {
        const layer *l = &m->L[i];
        layer *d = &q->L[i];
        free(d->w);
        d->w = NULL;
        d->q = malloc((size_t)l->in * l->out);
        d->scale = calloc(l->out, sizeof *d->scale);
        if (!d->q || !d->scale) {
            posts_model_free(q);
            return PP_ENOMEM;
        }
        memcpy(d->b, l->b, l->out * sizeof *l->b);
        for (uint32_t j = 0; j < l->out; j++) {
            float mx = 0;
            for (uint32_t k = 0; k < l->in; k++)
                mx = fmaxf(mx, fabsf(l->w[(size_t)k * l->out + j]));
            d->scale[j] = mx > 0 ? mx / 127.0f : 1.0f;
        }
        for (uint32_t k = 0; k < l->in; k++)
            for (uint32_t j = 0; j < l->out; j++) {
                float v = l->w[(size_t)k * l->out + j] / d->scale[j];
                long r = lroundf(v);
                d->q[(size_t)k * l->out + j] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
            }
    }
    *out = q;
    return PP_OK;
}

/* ---- inference ------------------------------------------------------------------ */

static int ensure_scratch(posts_model *m, size_t rows)
{
    if (rows <= m->scratch_rows)
        return PP_OK;
    size_t cap = m->scratch_rows ? m->scratch_rows : 1;
    while (cap < rows)
        cap *= 2;
    /* m->x is kept all-zero between calls (predict clears what it set) */
    float *x = calloc(cap * m->input_dim, sizeof *x);
    if (!x)
        return PP_ENOMEM;
    free(m->x);
    m->x = x;
    for (uint32_t i = 0; i < m->nlayers; i++) {
        float *h = realloc(m->h[i], cap * m->L[i].out * sizeof *h);
        if (!h)
            return PP_ENOMEM;
        m->h[i] = h;
    }
    m->scratch_rows = cap;
    return PP_OK;
}

/*
 * Rows are multiplied in tiles small enough that rows * out * in stays under
 * 10^6: there OpenBLAS (0.3.21, SMALL_MATRIX_OPT) runs its small-matrix
 * kernels, which skip packing the weight matrix; measured 1.3-1.5x faster
 * per row than one call for the whole batch (bench_pipeline).
 */
#define SMALL_GEMM_MNK 1000000u

static void layer_fp32(const layer *l, const float *x, size_t rows, float *y)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(y + r * l->out, l->b, l->out * sizeof *y);
    if (rows == 1) {
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)l->in, (int)l->out, 1.0f, l->w, (int)l->out, x,
                    1, 1.0f, y, 1);
        return;
    }
    size_t per_row = (size_t)l->in * l->out, tile = 8;
    if (rows * per_row <= SMALL_GEMM_MNK)
        tile = rows; /* small layer: one call */
    while (tile > 2 && tile * per_row > SMALL_GEMM_MNK)
        tile /= 2;
    for (size_t r = 0; r < rows; r += tile) {
        size_t m = rows - r < tile ? rows - r : tile;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)l->out, (int)l->in,
                    1.0f, x + r * l->in, (int)l->in, l->w, (int)l->out, 1.0f, y + r * l->out,
                    (int)l->out);
    }
}

static void layer_int8(const layer *l, const float *x, size_t rows, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * l->in;
        float *yr = y + r * l->out;
        memset(yr, 0, l->out * sizeof *yr);
        for (uint32_t k = 0; k < l->in; k++) {
            float v = xr[k];
            if (v == 0.0f)
                continue;
            const int8_t *q = l->q + (size_t)k * l->out;
            for (uint32_t j = 0; j < l->out; j++)
                yr[j] += v * (float)q[j];
        }
        for (uint32_t j = 0; j < l->out; j++)
            yr[j] = yr[j] * l->scale[j] + l->b[j];
    }
}

static void forward(posts_model *m, const float *x, size_t rows, float *out)
{
    const float *in = x;
    for (uint32_t i = 0; i < m->nlayers; i++) {
        const layer *l = &m->L[i];
        float *y = m->h[i];
        if (m->quantized)
            layer_int8(l, in, rows, y);
        else
            layer_fp32(l, in, rows, y);
        size_t n = rows * l->out;
        if (l->act == ACT_RELU)
            for (size_t k = 0; k < n; k++)
                y[k] = y[k] > 0 ? y[k] : 0;
        in = y;
    }
    for (size_t r = 0; r < rows; r++)
        out[r] = sigmoidf_(in[r]);
}

int posts_model_predict(posts_model *m, const posts_feature_batch *fb, size_t first, size_t count,
                        float *out)
{
    PP_SCOPE("posts.model.predict");
    if (!m || !fb || count == 0 || count > POSTS_MAX_BATCH || first + count > fb->n)
        return PP_EINVAL;
    if (ensure_scratch(m, count) != PP_OK)
        return PP_ENOMEM;
    /* scatter into the zeroed dense rows, run, then zero just those entries */
    for (size_t i = 0; i < count; i++) {
        const posts_features *f = &fb->f[first + i];
        float *row = m->x + i * m->input_dim;
        for (uint32_t k = 0; k < f->nnz; k++)
            if (fb->idx[f->off + k] < m->input_dim)
                row[fb->idx[f->off + k]] = fb->val[f->off + k];
    }
    forward(m, m->x, count, out);
    for (size_t i = 0; i < count; i++) {
        const posts_features *f = &fb->f[first + i];
        float *row = m->x + i * m->input_dim;
        for (uint32_t k = 0; k < f->nnz; k++)
            if (fb->idx[f->off + k] < m->input_dim)
                row[fb->idx[f->off + k]] = 0.0f;
    }
    return PP_OK;
}

int posts_model_predict_dense(posts_model *m, const float *x, size_t count, float *out)
{
    if (!m || !x || count == 0 || count > POSTS_MAX_BATCH)
        return PP_EINVAL;
    if (ensure_scratch(m, count) != PP_OK)
        return PP_ENOMEM;
    forward(m, x, count, out);
    return PP_OK;
}

void posts_model_info_get(const posts_model *m, posts_model_info *o)
{
    memset(o, 0, sizeof *o);
    o->size = m->size;
    o->quantized = m->quantized;
    o->version = m->version;
    o->input_dim = m->input_dim;
    o->layers = m->nlayers;
    for (uint32_t i = 0; i < m->nlayers; i++) {
        o->widths[i] = m->L[i].out;
        o->params += (uint64_t)m->L[i].in * m->L[i].out + m->L[i].out;
        o->flops_per_post += (uint64_t)m->L[i].in * m->L[i].out;
    }
    o->file_bytes = m->file_bytes;
    o->load_ns = m->load_ns;
}

/* ---- AUC ----------------------------------------------------------------------------- */

typedef struct scored {
    float s;
    uint8_t y;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

double posts_auc(const float *scores, const uint8_t *labels, size_t n)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].y = labels[i] ? 1 : 0;
        pos += v[i].y;
    }
    size_t neg = n - pos;
    if (!pos || !neg) {
        free(v);
        return 0.5;
    }
    qsort(v, n, sizeof *v, cmp_scored);
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s)
            j++;
        double avg = (double)(i + 1 + j) / 2.0; /* ranks i+1..j */
        for (size_t k = i; k < j; k++)
            if (v[k].y)
                rank_sum += avg;
        i = j;
    }
    free(v);
    return (rank_sum - (double)pos * (double)(pos + 1) / 2.0) / ((double)pos * (double)neg);
}
