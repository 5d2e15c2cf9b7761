/*
 * writer.h - A buffered writer over a file descriptor built from write(2)
 * alone, so the raw profile can be written from a crash handler. No stdio,
 * no malloc; errors are remembered and the caller checks w->err at the end.
 */
#ifndef PP_PRELOAD_WRITER_H
#define PP_PRELOAD_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct pp_pl_writer {
    int fd;
    int err;
    size_t n;
    char buf[16384];
} pp_pl_writer;

void pp__pl_w_flush(pp_pl_writer *w);
void pp__pl_w_str(pp_pl_writer *w, const char *s);
void pp__pl_w_mem(pp_pl_writer *w, const char *s, size_t n);
void pp__pl_w_u64(pp_pl_writer *w, uint64_t v);
void pp__pl_w_i64(pp_pl_writer *w, int64_t v);
void pp__pl_w_hex(pp_pl_writer *w, uint64_t v);

#endif
