/*
 * posts/model.h - The engagement models: small (logistic regression), medium
 * and large (MLPs) over POSTS_FEAT_DIM hashed features; deterministic SGD
 * training; the versioned, checksummed file format of docs/model-format.md;
 * batched fp32 inference through CBLAS and an int8 per-channel variant.
 */
#ifndef POSTS_MODEL_H
#define POSTS_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <posts/post.h>
#include <posts/preprocess.h>

typedef struct posts_model posts_model;

typedef struct posts_model_info {
    int size;                /* enum posts_model_size */
    int quantized;           /* 1 for the int8 variant */
    uint32_t version;        /* model version: part of every cache key */
    uint32_t input_dim;      /* POSTS_FEAT_DIM */
    uint32_t layers;         /* dense layers (1 for small) */
    uint32_t widths[4];      /* output width of each layer */
    uint64_t params;         /* weights + biases */
    uint64_t flops_per_post; /* multiply-adds per post, dense */
    uint64_t file_bytes;     /* size of the file it was loaded from (0 if trained in memory) */
    uint64_t load_ns;        /* time posts_model_load took */
} posts_model_info;

typedef struct posts_train_opts {
    int size;         /* enum posts_model_size */
    uint64_t seed;    /* initialization and shuffling */
    int epochs;       /* 0: the size's default */
    float lr;         /* 0: the size's default */
    uint32_t version; /* stored in the file; 0: derived from seed and size */
} posts_train_opts;

/* Largest batch posts_model_predict accepts in one call. */
#define POSTS_MAX_BATCH 4096u

/*
 * posts_model_train() - Train a model of opts->size on the first n posts of fb
 * with labels (0/1), by plain SGD in a fixed order: the same inputs give the
 * same weights, bit for bit. PP_OK and *out, PP_EINVAL, PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int posts_model_train(const posts_feature_batch *fb, const uint8_t *labels,
                                             size_t n, const posts_train_opts *opts,
                                             posts_model **out);

/*
 * posts_model_save() - Write m to path atomically (temp file + rename).
 * PP_OK, PP_EIO with err->msg naming the file, PP_EINVAL for a quantized model.
 */
PP_EXPORT PP_NODISCARD int posts_model_save(const posts_model *m, const char *path, posts_err *err);

/*
 * posts_model_load() - Read a model file. On a bad file returns PP_EFORMAT
 * (bad magic, unsupported version, inconsistent dimensions, checksum
 * mismatch, truncated) or PP_EIO / PP_ENOTFOUND, with err->msg naming the file
 * and what is wrong; *out = NULL on error.
 */
PP_EXPORT PP_NODISCARD int posts_model_load(const char *path, posts_model **out, posts_err *err);

/*
 * posts_model_load_mem() - As posts_model_load, from len bytes at data; name
 * is used in error messages. Never reads outside [data, data+len).
 */
PP_EXPORT PP_NODISCARD int posts_model_load_mem(const void *data, size_t len, const char *name,
                                                posts_model **out, posts_err *err);

/*
 * posts_model_quantize() - An int8 copy of m: each layer's weights scaled per
 * output channel (scale = max |w| / 127), activations kept in fp32.
 * PP_OK, PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int posts_model_quantize(const posts_model *m, posts_model **out);

/*
 * posts_model_predict() - Scores (probability of high engagement, 0..1) of
 * posts [first, first+count) of fb into out, count <= POSTS_MAX_BATCH, in one
 * batched pass (cblas_sgemm; sgemv for count 1). Uses scratch memory inside m:
 * one call at a time per model (use one model per thread). PP_OK, PP_EINVAL, PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int posts_model_predict(posts_model *m, const posts_feature_batch *fb,
                                               size_t first, size_t count, float *out);

/* posts_model_predict_dense() - As above from count dense rows of input_dim floats. */
PP_EXPORT PP_NODISCARD int posts_model_predict_dense(posts_model *m, const float *x, size_t count,
                                                     float *out);

/* posts_model_info_get() - Describe m. */
PP_EXPORT void posts_model_info_get(const posts_model *m, posts_model_info *out);

/* posts_model_free() - NULL is a no-op. */
PP_EXPORT void posts_model_free(posts_model *m);

/*
 * posts_auc() - Area under the ROC curve of scores against labels (ties count
 * half). Returns 0.5 when one class is empty; -1 on allocation failure.
 */
PP_EXPORT double posts_auc(const float *scores, const uint8_t *labels, size_t n);

/* posts_model_file() - "small.model" etc.: the file name datagen writes for a size. */
PP_EXPORT const char *posts_model_file(int size);

#endif
