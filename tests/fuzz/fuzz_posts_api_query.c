/*
 * fuzz_posts_api_query.c - The API server's parameter validation: the input
 * is split at the first two NUL bytes into cursor, limit and id strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <posts/api_server.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *cursor = buf;
    const char *limit = cursor + strlen(cursor) + 1;
    const char *id = limit <= buf + size ? limit + strlen(limit) + 1 : buf + size + 2;
    if (id > buf + size + 2)
        id = buf + size + 2;
    int64_t c, i;
    int l;
    posts_err err;
    if (posts_api_parse_query(cursor, limit, &c, &l, &err) == PP_OK) {
        if (c < 0 || l < 1 || l > POSTS_API_MAX_LIMIT)
            abort();
    }
    if (posts_api_parse_query(NULL, *limit ? limit : NULL, &c, &l, &err) == PP_OK && l < 1)
        abort();
    if (posts_api_parse_id(id, &i, &err) == PP_OK && i < 1)
        abort();
    free(buf);
    return 0;
}
