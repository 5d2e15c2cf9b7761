/*
 * symbols.h - The one libdw symbolizer: an address space described to libdw
 * (this process, a recorded memory map, or ELF files at their load bias),
 * and address lookups in it: the containing module, function, file:line.
 * Used after the fact (snapshots, raw profiles, crash reports), never on a
 * hot path and never in a signal handler.
 */
#ifndef PP_SYMBOLS_H
#define PP_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct Dwfl_Module;

/* An address space libdw knows. */
typedef struct pp__dw pp__dw;

/* One ELF file mapped at bias (its start minus its file offset). */
typedef struct pp__dw_file {
    const char *path;
    uint64_t bias;
} pp__dw_file;

/* pp__dw_open_self() - This process as it is mapped now. NULL on failure. */
pp__dw *pp__dw_open_self(void);

/* An ELF image in memory mapped at [addr, addr + size) under name (the
 * target's vDSO, which is no file); data must outlive the session. */
typedef struct pp__dw_image {
    const char *name;
    uint64_t addr, size;
    const void *data;
} pp__dw_image;

/* pp__dw_open_maps() - The file-backed lines of a /proc/PID/maps text
 * (maps[0..len)), files found by path, and image (may be NULL). NULL on
 * failure. */
pp__dw *pp__dw_open_maps(const char *maps, size_t len, const pp__dw_image *image);

/* pp__dw_open_files() - files[0..n), each found by build id (debuginfod
 * paths included) or path. NULL on failure. */
pp__dw *pp__dw_open_files(const pp__dw_file *files, size_t n);

/* pp__dw_close() - Free. NULL is a no-op. */
void pp__dw_close(pp__dw *dw);

/* pp__dw_module() - The module holding addr, or NULL. */
struct Dwfl_Module *pp__dw_module(pp__dw *dw, uint64_t addr);

/* What one address is; strings owned by the session. */
typedef struct pp__dw_sym {
    const char *function; /* the symbol containing addr, NULL when unknown */
    const char *file;     /* source file of the line, NULL when no line info */
    int line;
} pp__dw_sym;

/* pp__dw_symbol() - Look addr up. Returns 1 when a module holds addr (out
 * filled as far as known), 0 when none does (out zeroed). dw may be NULL. */
int pp__dw_symbol(pp__dw *dw, uint64_t addr, pp__dw_sym *out);

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
