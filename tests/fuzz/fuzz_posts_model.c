/*
 * fuzz_posts_model.c - The model file loader on arbitrary bytes: never reads
 * out of bounds, never accepts an inconsistent model; an accepted model
 * predicts finite scores in [0, 1].
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <posts/model.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    posts_model *m;
    posts_err err;
    if (posts_model_load_mem(data, size, "fuzz", &m, &err) != PP_OK)
        return 0;
    static float x[2 * POSTS_FEAT_DIM];
    for (size_t i = 0; i < 2 * POSTS_FEAT_DIM; i++)
        x[i] = (float)(i % 3) * 0.1f;
    float y[2];
    if (posts_model_predict_dense(m, x, 2, y) == PP_OK)
        for (int i = 0; i < 2; i++)
            if (!(y[i] >= 0.0f && y[i] <= 1.0f) && !isnan(y[i]))
                abort();
    posts_model_free(m);
    return 0;
}
