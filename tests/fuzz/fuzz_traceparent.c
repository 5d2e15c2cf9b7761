/*
 * fuzz_traceparent.c - The W3C trace context parsers (traceparent,
 * tracestate) and the Retry-After parser on arbitrary bytes: no crash, no
 * read past the end; a traceparent that parses formats back to one that
 * parses to the same context, never with an all-zero id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/http_retry.h"
#include "telemetry/traceparent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp__trace_ctx c, again;
    if (pp__traceparent_parse((const char *)data, size, &c) == 0) {
        char text[64];
        if (pp__traceparent_format(&c, text, sizeof text) != 55)
            __builtin_trap(); /* a parsed context has nonzero ids */
        if (pp__traceparent_parse(text, strlen(text), &again) != 0 ||
            memcmp(&c, &again, sizeof c) != 0)
            __builtin_trap();
    }
    (void)pp__tracestate_valid((const char *)data, size);
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    uint64_t d;
    (void)pp__http_retry_after_parse(s, 1700000000, &d);
    free(s);
    return 0;
}
