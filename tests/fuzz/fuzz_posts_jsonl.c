/*
 * fuzz_posts_jsonl.c - The JSONL post parser and the streaming reader's line
 * splitting (bounded lines, per-line errors) on arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <postprof/log.h>
#include <posts/posts.h>

#include "fuzz/fuzz_tmpfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_log_set_level(PP_LOG_OFF);
    posts_post p;
    posts_err err;
    if (posts_post_from_json((const char *)data, size, &p, &err) == PP_OK) {
        char *js;
        size_t len;
        if (posts_post_to_json(&p, &js, &len) == PP_OK)
            free(js);
        posts_post_release(&p);
    }
    /* the same bytes as a file, through the streaming reader with a small line limit */
    char path[32];
    if (pp_fuzz_tmpfile(data, size, path) != 0)
        return 0;
    posts_source *src;
    if (posts_source_open_jsonl(path, 256, &src, &err) == PP_OK) {
        posts_batch b = {0};
        while (posts_source_next(src, &b, 7, &err) > 0)
            posts_batch_clear(&b);
        posts_batch_release(&b);
        posts_source_close(src);
    }
    unlink(path);
    return 0;
}
