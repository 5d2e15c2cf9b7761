/*
 * symbols.h - Address to function name, for whole-program sites (and anything
 * else in the process that holds code addresses). Not for signal handlers.
 */
#ifndef PP_SYMBOLS_H
#define PP_SYMBOLS_H

#include <stddef.h>

typedef struct pp__symbolizer pp__symbolizer;

/* Returns NULL on OOM; free with pp__symbolizer_free (NULL ok). */
pp__symbolizer *pp__symbolizer_new(void);
void pp__symbolizer_free(pp__symbolizer *s);

/*
 * pp__symbolize() - Name of the function containing addr in this process:
 * dladdr first, libdw's symbol tables (static functions) second, else
 * "module+0xoffset" or "0xaddr". Writes a NUL-terminated name into out.
 */
void pp__symbolize(pp__symbolizer *s, const void *addr, char *out, size_t cap);

#endif
