/*
 * test_posts_model.c - Engagement models: held-out AUC thresholds, a golden
 * prediction from a hand-built model file (checked against a reference
 * computation here), int8 vs fp32 agreement, batch sizes agree, and every
 * kind of corrupt or truncated model file is named and explained.
 */
#include <math.h>
#include <zlib.h>

#include "pp_test.h"
#include "posts_test_util.h"

static char dir[64];
static posts_datagen_result gen;

PT_DATA_FIXTURE(dir, 3000, 42, 1, &gen)

static posts_model *load(int size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, posts_model_file(size));
    posts_model *m = NULL;
    posts_err err;
    int rc = posts_model_load(path, &m, &err);
    if (rc != PP_OK)
        fail_msg("%s", err.msg);
    return m;
}

/* Features and labels of the held-out posts (the last fifth). */
static void held_out(posts_feature_batch *fb, uint8_t **labels, size_t *first)
{
    posts_preprocessor *pp;
    assert_int_equal(posts_preprocessor_new(1, 1, &pp), PP_OK);
    posts_batch b = {0};
    *labels = malloc(3000);
    for (int64_t id = 1; id <= 3000; id++) {
        posts_post p;
        assert_int_equal(posts_datagen_post(42, id, &p), PP_OK);
        (*labels)[id - 1] = (uint8_t)posts_post_label(&p);
        assert_int_equal(posts_batch_push(&b, &p), PP_OK);
        posts_post_release(&p);
    }
    assert_int_equal(posts_preprocess_batch(pp, &b, fb, NULL), PP_OK);
    posts_batch_release(&b);
    posts_preprocessor_free(pp);
    *first = 2400;
}

static void auc_thresholds(void **state)
{
    (void)state;
    assert_int_equal(gen.train_posts, 2400);
    assert_true(gen.auc[0] >= 0.70);
    assert_true(gen.auc[1] >= 0.75);
    assert_true(gen.auc[2] >= 0.75);
    /* recompute from the saved files: same figure */
    posts_feature_batch fb = {0};
    uint8_t *labels;
    size_t first;
    held_out(&fb, &labels, &first);
    float scores[600];
    for (int size = 0; size < 3; size++) {
        posts_model *m = load(size);
        assert_int_equal(posts_model_predict(m, &fb, first, 600, scores), PP_OK);
        double auc = posts_auc(scores, labels + first, 600);
        assert_true(fabs(auc - gen.auc[size]) < 1e-9);
        posts_model_info info;
        posts_model_info_get(m, &info);
        assert_int_equal(info.input_dim, POSTS_FEAT_DIM);
        assert_true(info.load_ns > 0);
        posts_model_free(m);
    }
    posts_feature_batch_release(&fb);
    free(labels);
}

static void cost_ratio(void **state)
{
    (void)state;
    posts_model_info s, l;
    posts_model *a = load(POSTS_MODEL_SMALL), *b = load(POSTS_MODEL_LARGE);
    posts_model_info_get(a, &s);
    posts_model_info_get(b, &l);
    assert_true(l.flops_per_post >= 10 * s.flops_per_post);
    posts_model_free(a);
    posts_model_free(b);
}

/* ---- a hand-built model file ---- */

typedef struct mbuf {
    unsigned char b[1 << 20];
    size_t n;
} mbuf;

static void u32(mbuf *m, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        m->b[m->n++] = (unsigned char)(v >> (8 * i));
}

static void f32(mbuf *m, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    u32(m, v);
}

static float wfn(uint32_t layer, size_t k)
{
    return (float)(sin((double)(k * 7 + layer * 13)) * 0.05);
}

static const uint32_t shape[3][2] = {{POSTS_FEAT_DIM, 8}, {8, 4}, {4, 1}};

static void build(mbuf *m)
{
    m->n = 0;
    memcpy(m->b, "PPMODEL", 8);
    m->n = 8;
    u32(m, 1);  /* format version */
    u32(m, 1);  /* medium */
    u32(m, 77); /* model version */
    u32(m, POSTS_FEAT_DIM);
    u32(m, 3); /* layers */
    u32(m, 0);
    size_t payload = 0;
    for (int l = 0; l < 3; l++)
        payload += 16 + 4 * ((size_t)shape[l][0] * shape[l][1] + shape[l][1]);
    u32(m, (uint32_t)payload);
    u32(m, 0);
    for (uint32_t l = 0; l < 3; l++) {
        u32(m, shape[l][0]);
        u32(m, shape[l][1]);
        u32(m, l == 2 ? 2 : 1);
        u32(m, 0);
        for (size_t k = 0; k < (size_t)shape[l][0] * shape[l][1]; k++)
            f32(m, wfn(l, k));
        for (uint32_t k = 0; k < shape[l][1]; k++)
            f32(m, 0.01f * (float)k - 0.02f);
    }
    u32(m, (uint32_t)crc32(0L, m->b, (uInt)m->n));
}

static double reference(const float *x)
{
    double in[POSTS_FEAT_DIM], out[8];
    for (size_t i = 0; i < POSTS_FEAT_DIM; i++)
        in[i] = x[i];
    size_t n = POSTS_FEAT_DIM;
    for (uint32_t l = 0; l < 3; l++) {
        for (uint32_t j = 0; j < shape[l][1]; j++) {
            double acc = 0.01 * j - 0.02;
            for (size_t k = 0; k < n; k++)
                acc += in[k] * (double)wfn(l, k * shape[l][1] + j);
            out[j] = l < 2 ? (acc > 0 ? acc : 0) : 1.0 / (1.0 + exp(-acc));
        }
        n = shape[l][1];
        for (size_t j = 0; j < n; j++)
            in[j] = out[j];
    }
    return in[0];
}

static void golden_prediction(void **state)
{
    (void)state;
    static mbuf m;
    build(&m);
    posts_model *mod;
    posts_err err;
    assert_int_equal(posts_model_load_mem(m.b, m.n, "golden", &mod, &err), PP_OK);
    static float x[3 * POSTS_FEAT_DIM];
    for (size_t i = 0; i < 3 * POSTS_FEAT_DIM; i++)
        x[i] = (float)((i * 37) % 11) * 0.05f - 0.2f;
    float y[3], y1;
    assert_int_equal(posts_model_predict_dense(mod, x, 3, y), PP_OK);
    for (int r = 0; r < 3; r++) {
        double want = reference(x + r * POSTS_FEAT_DIM);
        if (fabs(y[r] - want) > 1e-5)
            fail_msg("row %d: got %.7f want %.7f", r, y[r], want);
        assert_int_equal(posts_model_predict_dense(mod, x + r * POSTS_FEAT_DIM, 1, &y1), PP_OK);
        assert_true(fabs(y1 - y[r]) < 1e-6);
    }
    posts_model_info info;
    posts_model_info_get(mod, &info);
    assert_int_equal(info.version, 77);
    posts_model_free(mod);
    /* and a pinned score of the trained small model for datagen post 1 (seed 42) */
    posts_model *small = load(POSTS_MODEL_SMALL);
    posts_preprocessor *pp;
    assert_int_equal(posts_preprocessor_new(1, 1, &pp), PP_OK);
    posts_batch b = {0};
    posts_post p;
    assert_int_equal(posts_datagen_post(42, 1, &p), PP_OK);
    assert_int_equal(posts_batch_push(&b, &p), PP_OK);
    posts_post_release(&p);
    posts_feature_batch fb = {0};
    assert_int_equal(posts_preprocess_batch(pp, &b, &fb, NULL), PP_OK);
    float s;
    assert_int_equal(posts_model_predict(small, &fb, 0, 1, &s), PP_OK);
    if (fabsf(s - 0.855889f) > 1e-4f)
        fail_msg("small model, post 1: %.6f", s);
    posts_feature_batch_release(&fb);
    posts_batch_release(&b);
    posts_preprocessor_free(pp);
    posts_model_free(small);
}

static void int8_agreement(void **state)
{
    (void)state;
    posts_feature_batch fb = {0};
    uint8_t *labels;
    size_t first;
    held_out(&fb, &labels, &first);
    float a[600], q[600];
    for (int size = 0; size < 3; size++) {
        posts_model *m = load(size), *mq;
        assert_int_equal(posts_model_quantize(m, &mq), PP_OK);
        assert_int_equal(posts_model_predict(m, &fb, first, 600, a), PP_OK);
        assert_int_equal(posts_model_predict(mq, &fb, first, 600, q), PP_OK);
        double da = posts_auc(a, labels + first, 600), dq = posts_auc(q, labels + first, 600);
        if (fabs(da - dq) > 0.01)
            fail_msg("%s: fp32 AUC %.4f, int8 AUC %.4f", posts_model_name(size), da, dq);
        float worst = 0;
        for (int i = 0; i < 600; i++)
            worst = fmaxf(worst, fabsf(a[i] - q[i]));
        assert_true(worst < 0.05f);
        posts_model_info info;
        posts_model_info_get(mq, &info);
        assert_int_equal(info.quantized, 1);
        posts_err err;
        assert_int_equal(posts_model_save(mq, "/tmp/x.model", &err), PP_EINVAL);
        posts_model_free(m);
        posts_model_free(mq);
    }
    posts_feature_batch_release(&fb);
    free(labels);
}

static void batch_sizes_agree(void **state)
{
    (void)state;
    posts_feature_batch fb = {0};
    uint8_t *labels;
    size_t first;
    held_out(&fb, &labels, &first);
    posts_model *m = load(POSTS_MODEL_MEDIUM);
    static float ref[256], y[256];
    assert_int_equal(posts_model_predict(m, &fb, 0, 256, ref), PP_OK);
    size_t sizes[] = {1, 8, 32, 128};
    for (size_t s = 0; s < 4; s++) {
        for (size_t i = 0; i < 256; i += sizes[s])
            assert_int_equal(posts_model_predict(m, &fb, i, sizes[s], y + i), PP_OK);
        for (size_t i = 0; i < 256; i++)
            assert_true(fabsf(y[i] - ref[i]) < 1e-5f);
    }
    assert_int_equal(posts_model_predict(m, &fb, 0, 0, y), PP_EINVAL);
    assert_int_equal(posts_model_predict(m, &fb, fb.n - 1, 2, y), PP_EINVAL);
    posts_model_free(m);
    posts_feature_batch_release(&fb);
    free(labels);
}

static void expect_bad(const char *path, const void *data, size_t len, const char *why)
{
    assert_int_equal(pt_write_file(path, data, len), 0);
    posts_model *m = (posts_model *)1;
    posts_err err = {{0}};
    int rc = posts_model_load(path, &m, &err);
    assert_int_equal(rc, PP_EFORMAT);
    assert_null(m);
    if (!strstr(err.msg, path) || !strstr(err.msg, why))
        fail_msg("error '%s' should name %s and say '%s'", err.msg, path, why);
}

static void corrupt_models(void **state)
{
    (void)state;
    char path[256], bad[300];
    snprintf(path, sizeof path, "%s/medium.model", dir);
    snprintf(bad, sizeof bad, "%s/bad.model", dir);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(pt_read_file(path, &buf, &len), 0);
    expect_bad(bad, buf, len / 2, "truncated");
    expect_bad(bad, buf, 20, "truncated");
    char *copy = malloc(len + 8);
    memcpy(copy, buf, len);
    copy[len / 2] ^= 0x40;
    expect_bad(bad, copy, len, "checksum mismatch");
    memcpy(copy, buf, len);
    copy[0] = 'X';
    expect_bad(bad, copy, len, "bad magic");
    memcpy(copy, buf, len);
    copy[8] = 9;
    expect_bad(bad, copy, len, "unsupported format version 9");
    memcpy(copy, buf, len);
    memcpy(copy + len, "junkjunk", 8);
    expect_bad(bad, copy, len + 8, "trailing bytes");
    /* a consistent checksum over an inconsistent shape */
    static mbuf m;
    build(&m);
    /* the last layer's activation: ReLU instead of the required sigmoid */
    size_t act = 40 + 16 + 4 * ((size_t)POSTS_FEAT_DIM * 8 + 8) + 16 + 4 * (8 * 4 + 4) + 8;
    m.b[act] = 1;
    m.n -= 4;
    u32(&m, (uint32_t)crc32(0L, m.b, (uInt)m.n));
    expect_bad(bad, m.b, m.n, "inconsistent shape");
    posts_model *mm;
    posts_err err;
    snprintf(bad, sizeof bad, "%s/missing.model", dir);
    assert_int_equal(posts_model_load(bad, &mm, &err), PP_ENOTFOUND);
    assert_non_null(strstr(err.msg, bad));
    free(copy);
    free(buf);
}

static void auc_function(void **state)
{
    (void)state;
    float s[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    uint8_t y[6] = {0, 0, 0, 1, 1, 1}, z[6] = {1, 1, 1, 0, 0, 0}, t[6] = {0, 1, 0, 1, 0, 1};
    assert_true(fabs(posts_auc(s, y, 6) - 1.0) < 1e-12);
    assert_true(fabs(posts_auc(s, z, 6) - 0.0) < 1e-12);
    assert_true(fabs(posts_auc(s, t, 6) - 6.0 / 9.0) < 1e-12);
    float tie[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    assert_true(fabs(posts_auc(tie, y, 4) - 0.5) < 1e-12);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(auc_thresholds),    cmocka_unit_test(cost_ratio),
    cmocka_unit_test(golden_prediction), cmocka_unit_test(int8_agreement),
    cmocka_unit_test(batch_sizes_agree), cmocka_unit_test(corrupt_models),
    cmocka_unit_test(auc_function),
};

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
