/*
 * fuzz_flame_folded.c - The folded-stacks reader of the HTML report on
 * arbitrary bytes: no crash, no read past the end, output bounded, and any
 * accepted input yields JSON without a raw '<' (safe inside <script>).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "export/report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp__strbuf b;
    char err[256];
    pp__strbuf_init(&b, 1 << 20);
    int rc =
        pp__flame_folded_json((const char *)data, size, "fuzz", NULL, 1000, &b, err, sizeof err);
    if (rc == PP_OK && b.data && memchr(b.data, '<', b.len))
        abort();
    if (rc != PP_OK && err[0] == '\0')
        abort();
    pp__strbuf_release(&b);
    return 0;
}
