/*
 * rawprof.c - Loads the raw profile libpostprof_preload.so writes (one line
 * per record: header, counters, the target's file mappings and build ids,
 * stacks of addresses) and symbolizes it after the run with libdw: function,
 * file:line, inlined frames; unknown frames as module+offset. Frames of the
 * preload library itself are dropped. Input is bounded and checked line by line.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/file.h>
#include <postprof/raw_format.h>

#include "aggregate/profile_impl.h"
#include "aggregate/symbols.h"
#include "common/elf_note.h"

#define RAW_MAX_BYTES (512u * 1024 * 1024)
#define PRELOAD_NAME "libpostprof_preload.so"

typedef struct {
    uint64_t addr;
    int64_t loc; /* -1 empty, -2 skip (profiler frame), else location index */
} addr_slot;

typedef struct {
    pp_profile *p;
    pp__dw *dw;
    addr_slot *cache;
    size_t cache_cap, cache_n;
    uint32_t offcpu_loc;
    int have_offcpu;
    char buildids[64][2][512]; /* recorded: hex, path */
    size_t nbuildids;
    char *vdso_image; /* a copy of our own vDSO when it is the target's */
    size_t vdso_size;
} symctx;

#define VDSO_NAME "[vdso]"

/* "vdso ADDR SIZE BUILDID": the target's vDSO, which is no file; usable from
 * a copy of our own vDSO when it is the same image. BUILDID "-" (record -p,
 * which reads a live target's maps on this kernel): SIZE is the mapping's,
 * ours must fit in it. 1 and *out when usable. */
static int vdso_image(symctx *c, const char *s, const char *le, pp__dw_image *out)
{
    char line[256], hex[129];
    if (le - s >= (long)sizeof line)
        return 0;
    memcpy(line, s, (size_t)(le - s));
    line[le - s] = 0;
    unsigned long long addr, size;
    char want[129];
    struct dl_phdr_info own;
    size_t own_size;
    if (sscanf(line, "%llx %llu %128s", &addr, &size, want) != 3 ||
        !pp__elf_vdso(&own, &own_size) || pp__elf_build_id_hex(&own, hex, sizeof hex) == 0)
        return 0;
    if (strcmp(want, "-") == 0 ? own_size > size : own_size != size || strcmp(hex, want) != 0)
        return 0;
    free(c->vdso_image);
    c->vdso_image = malloc(own_size);
    if (!c->vdso_image)
        return 0;
    memcpy(c->vdso_image, (const void *)getauxval(AT_SYSINFO_EHDR), own_size);
    c->vdso_size = own_size;
    *out = (pp__dw_image){VDSO_NAME, addr, own_size, c->vdso_image};
    return 1;
}

static void set_msg(char *msg, size_t cap, const char *path, size_t line, const char *why)
{
    if (msg && cap)
        snprintf(msg, cap, "%s:%zu: %s", path, line, why);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int mapping_for(symctx *c, Dwfl_Module *mod, uint32_t *out)
{
    Dwarf_Addr start = 0, end = 0;
    const char *mainfile = NULL;
    const char *name = dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, &mainfile, NULL);
    pp_profile *p = c->p;
    for (size_t i = 0; i < p->nmaps; i++)
        if (p->maps[i].start == start) {
            *out = (uint32_t)i + 1;
            return PP_OK;
        }
    uint32_t file, bid = 0;
    int rc = pp__profile_cstr(p, name ? name : "", &file);
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int nbits = dwfl_module_build_id(mod, &bits, &vaddr);
    if (rc == PP_OK && nbits > 0) {
        char hex[2 * 64 + 1];
        int n = nbits > 64 ? 64 : nbits;
        for (int i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", bits[i]);
        rc = pp__profile_cstr(p, hex, &bid);
        for (size_t i = 0; rc == PP_OK && name && i < c->nbuildids; i++)
            if (strcmp(c->buildids[i][1], name) == 0 && strcmp(c->buildids[i][0], hex) != 0)
                rc = pp__profile_add_stat(p, "build_id_mismatch", 1);
    }
    if (rc == PP_OK)
        rc = pp__profile_grow((void **)&p->maps, &p->capmaps, p->nmaps, sizeof *p->maps);
    if (rc)
        return rc;
    p->maps[p->nmaps] = (pp__pmap){start, end, 0, file, bid};
    *out = (uint32_t)++p->nmaps;
    return PP_OK;
}

static int add_line(pp_profile *p, pp__pline *lines, size_t *n, const char *fn, const char *file,
                    int64_t decl_line, int64_t line)
{
    if (*n >= 32)
        return PP_OK;
    uint32_t f;
    int rc = pp__profile_func(p, fn, file ? file : "", decl_line, &f);
    if (rc)
        return rc;
    lines[(*n)++] = (pp__pline){f, line};
    return PP_OK;
}

/* the frames (innermost first) an address stands for */
static int describe(symctx *c, uint64_t addr, uint32_t *out, int *skip)
{
    pp_profile *p = c->p;
    pp__pline lines[32];
    size_t n = 0;
    uint32_t mapping = 0;
    int rc = PP_OK;
    Dwfl_Module *mod = pp__dw_module(c->dw, addr);
    if (!mod) {
        char name[64];
        snprintf(name, sizeof name, "[unknown]+0x%" PRIx64, addr);
        rc = add_line(p, lines, &n, name, "", 0, 0);
        goto done;
    }
    Dwarf_Addr start = 0;
    const char *modname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
    if (modname && ends_with(modname, PRELOAD_NAME)) {
        *skip = 1;
        return PP_OK;
    }
    if ((rc = mapping_for(c, mod, &mapping)) != PP_OK)
        return rc;
    pp__dw_sym at; /* the symbol and the innermost line */
    pp__dw_symbol(c->dw, addr, &at);
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
    if (cu) {
        int64_t cur_line = at.line;
        const char *cur_file = at.file;
        Dwarf_Die *scopes = NULL;
        int ns = dwarf_getscopes(cu, addr - bias, &scopes);
        /* past an inlined DIE, getscopes continues in the abstract origin; the
         * lexical parents of the innermost DIE give the real callers */
        if (ns > 0) {
            Dwarf_Die inner = scopes[0];
            free(scopes);
            scopes = NULL;
            ns = dwarf_getscopes_die(&inner, &scopes);
        }
        for (int i = 0; i < ns && rc == PP_OK; i++) {
            int tag = dwarf_tag(&scopes[i]);
            if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
                continue;
            const char *fn = dwarf_diename(&scopes[i]);
            if (!fn)
                fn = at.function;
            int decl_line = 0;
            dwarf_decl_line(&scopes[i], &decl_line);
            const char *decl_file = dwarf_decl_file(&scopes[i]);
            rc = add_line(p, lines, &n, fn ? fn : "??", decl_file ? decl_file : cur_file, decl_line,
                          cur_line);
            if (tag == DW_TAG_subprogram)
                break;
            Dwarf_Attribute attr;
            Dwarf_Word v;
            if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &v) == 0)
                cur_line = (int64_t)v;
            Dwarf_Files *files;
            size_t nfiles;
            if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &v) == 0 &&
                dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
                cur_file = dwarf_filesrc(files, v, NULL, NULL);
        }
        free(scopes);
    }
    if (n == 0 && rc == PP_OK) {
        const char *sym = at.function;
        char name[512];
        if (!sym) {
            snprintf(name, sizeof name, "%s+0x%" PRIx64, modname ? base_name(modname) : "?",
                     addr - start);
            sym = name;
        }
        rc = add_line(p, lines, &n, sym, "", 0, 0);
    }
done:
    if (rc)
        return rc;
    return pp__profile_loc(p, addr, mapping, lines, n, out);
}

static int cache_grow(symctx *c)
{
    size_t cap = c->cache_cap ? c->cache_cap * 2 : 1024;
    addr_slot *t = malloc(cap * sizeof *t);
    if (!t)
        return PP_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        t[i].loc = -1;
    for (size_t i = 0; i < c->cache_cap; i++) {
        if (c->cache[i].loc == -1)
            continue;
        size_t h = (c->cache[i].addr * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
        while (t[h].loc != -1)
            h = (h + 1) & (cap - 1);
        t[h] = c->cache[i];
    }
    free(c->cache);
    c->cache = t;
    c->cache_cap = cap;
    return PP_OK;
}

static int lookup(symctx *c, uint64_t addr, int64_t *out)
{
    if ((c->cache_n + 1) * 2 >= c->cache_cap) {
        int rc = cache_grow(c);
        if (rc)
            return rc;
    }
    size_t h = (addr * 0x9E3779B97F4A7C15ull >> 17) & (c->cache_cap - 1);
    while (c->cache[h].loc != -1) {
        if (c->cache[h].addr == addr) {
            *out = c->cache[h].loc;
            return PP_OK;
        }
        h = (h + 1) & (c->cache_cap - 1);
    }
    uint32_t loc = 0;
    int skip = 0;
    int rc = describe(c, addr, &loc, &skip);
    if (rc)
        return rc;
    c->cache[h].addr = addr;
    c->cache[h].loc = skip ? -2 : (int64_t)loc;
    c->cache_n++;
    *out = c->cache[h].loc;
    return PP_OK;
}

static int offcpu_loc(symctx *c, uint32_t *out)
{
    if (!c->have_offcpu) {
        pp__pline l;
        int rc = pp__profile_func(c->p, "[off-cpu]", "", 0, &l.func);
        l.line = 0;
        if (rc == PP_OK)
            rc = pp__profile_loc(c->p, 0, 0, &l, 1, &c->offcpu_loc);
        if (rc)
            return rc;
        c->have_offcpu = 1;
    }
    *out = c->offcpu_loc;
    return PP_OK;
}

/* "N a b c": parse the count and up to PP_RAW_MAX_DEPTH hex addresses */
static int parse_stack(const char *s, const char *end, uint64_t *pcs, size_t *n)
{
    char *e;
    errno = 0;
    unsigned long long cnt = strtoull(s, &e, 10);
    if (e == s || errno || cnt > PP_RAW_MAX_DEPTH)
        return -1;
    s = e;
    for (size_t i = 0; i < cnt; i++) {
        if (s >= end || *s != ' ')
            return -1;
        pcs[i] = strtoull(s + 1, &e, 16);
        if (e == s + 1 || e > end)
            return -1;
        s = e;
    }
    *n = (size_t)cnt;
    return s == end ? 0 : -1;
}

static int parse_i64s(const char **s, int64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *e;
        errno = 0;
        long long x = strtoll(*s, &e, 10);
        if (e == *s || errno || *e != ' ')
            return -1;
        v[i] = x;
        *s = e + 1;
    }
    return 0;
}

static int add_stack(symctx *c, const uint64_t *pcs, size_t n, int first_exact, int offcpu,
                     uint32_t tid, const int64_t *v)
{
    uint32_t locs[PP_RAW_MAX_DEPTH + 1];
    size_t k = 0;
    int rc;
    if (offcpu && (rc = offcpu_loc(c, &locs[k++])) != PP_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        int64_t loc;
        uint64_t addr = (i == 0 && first_exact) ? pcs[i] : pcs[i] - 1;
        if ((rc = lookup(c, addr, &loc)) != PP_OK)
            return rc;
        if (loc >= 0)
            locs[k++] = (uint32_t)loc;
    }
    return pp__profile_sample(c->p, locs, k, tid, v);
}

static int kind_of_mode(const char *m, size_t n, pp_profile_kind *out)
{
    if (n == 3 && memcmp(m, "cpu", 3) == 0)
        *out = PP_PROFILE_CPU;
    else if (n == 4 && memcmp(m, "wall", 4) == 0)
        *out = PP_PROFILE_WALL;
    else if (n == 3 && memcmp(m, "mem", 3) == 0)
        *out = PP_PROFILE_MEM;
    else
        return -1;
    return 0;
}

int pp_profile_load_raw(const char *path, pp_profile **io, char *msg, size_t msg_cap)
{
    char *text = NULL, *maps = NULL;
    const char *vdso = NULL, *vdso_end = NULL;
    size_t len = 0, maps_len = 0, lineno = 0;
    symctx c;
    memset(&c, 0, sizeof c);
    pp_profile *p = NULL;
    char why[512] = "";
    int rc = pp_file_read(path, RAW_MAX_BYTES, &text, &len, why, sizeof why);
    int complete = 0;
    if (rc) {
        if (msg && msg_cap)
            snprintf(msg, msg_cap, "%s", why);
        goto out;
    }
    maps = malloc(len + 1);
    if (!maps) {
        rc = PP_ENOMEM;
        goto out;
    }
    /* pass 1: header and the module list */
    pp_profile_kind kind = PP_PROFILE_CPU;
    int64_t period = 0, duration = 0, mem_rate = -1, start_unix = 0, start_mono = 0;
    const char *s = text, *end = text + len;
    if (len < sizeof PP_RAW_HEADER - 1 || memcmp(text, PP_RAW_HEADER, sizeof PP_RAW_HEADER - 1)) {
        rc = PP_EFORMAT;
        set_msg(msg, msg_cap, path, 1,
                "not a postprof raw profile of this version (first line is not '" PP_RAW_MAGIC
                " " PP__RAW_XSTR(PP_RAW_VERSION) "')");
        goto out;
    }
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        lineno++;
        if (le - s > 5 && memcmp(s, "mode ", 5) == 0) {
            if (kind_of_mode(s + 5, (size_t)(le - s - 5), &kind) != 0) {
                rc = PP_EFORMAT;
                set_msg(msg, msg_cap, path, lineno, "unknown mode");
                goto out;
            }
        } else if (le - s > 9 && memcmp(s, "mem_rate ", 9) == 0) {
            mem_rate = strtoll(s + 9, NULL, 10);
        } else if (le - s > 10 && memcmp(s, "period_ns ", 10) == 0) {
            period = strtoll(s + 10, NULL, 10);
        } else if (le - s > 14 && memcmp(s, "start_unix_ns ", 14) == 0) {
            start_unix = strtoll(s + 14, NULL, 10);
        } else if (le - s > 14 && memcmp(s, "start_mono_ns ", 14) == 0) {
            start_mono = strtoll(s + 14, NULL, 10);
        } else if (le - s > 12 && memcmp(s, "duration_ns ", 12) == 0) {
            duration = strtoll(s + 12, NULL, 10);
        } else if (le - s > 4 && memcmp(s, "map ", 4) == 0) {
            memcpy(maps + maps_len, s + 4, (size_t)(le - s - 4));
            maps_len += (size_t)(le - s - 4);
            maps[maps_len++] = '\n';
        } else if (le - s > 5 && memcmp(s, "vdso ", 5) == 0) {
            vdso = s + 5;
            vdso_end = le;
        } else if (le - s > 2 && memcmp(s, "b ", 2) == 0 && c.nbuildids < 64) {
            const char *sp = memchr(s + 2, ' ', (size_t)(le - s - 2));
            if (sp && sp - s - 2 < 512 && le - sp - 1 < 512) {
                memcpy(c.buildids[c.nbuildids][0], s + 2, (size_t)(sp - s - 2));
                c.buildids[c.nbuildids][0][sp - s - 2] = 0;
                memcpy(c.buildids[c.nbuildids][1], sp + 1, (size_t)(le - sp - 1));
                c.buildids[c.nbuildids][1][le - sp - 1] = 0;
                c.nbuildids++;
            }
        } else if (le - s == 3 && memcmp(s, "end", 3) == 0) {
            complete = 1;
        }
        s = nl ? nl + 1 : end;
    }
    if (*io && (*io)->kind != kind) {
        rc = PP_EFORMAT;
        set_msg(msg, msg_cap, path, 0, "profile kind differs from the one it is merged into");
        goto out;
    }
    p = *io ? *io : pp__profile_new(kind);
    if (!p) {
        rc = PP_ENOMEM;
        goto out;
    }
    c.p = p;
    if (period > 0)
        p->period = kind == PP_PROFILE_MEM ? p->period : period;
    p->duration_ns += duration;
    if (start_mono > 0 && (p->start_mono_ns == 0 || start_mono < p->start_mono_ns))
        p->start_mono_ns = start_mono;
    if (p->time_ns == 0 || (start_unix > 0 && start_unix < p->time_ns))
        p->time_ns = start_unix;
    if (kind == PP_PROFILE_MEM && mem_rate >= 0 &&
        (rc = pp__profile_set_stat(p, "mem_rate", mem_rate)) != PP_OK)
        goto out;
    pp__dw_image vdso_img;
    c.dw = pp__dw_open_maps(maps, maps_len,
                            vdso && vdso_image(&c, vdso, vdso_end, &vdso_img) ? &vdso_img : NULL);
    /* pass 2: records */
    s = text;
    lineno = 0;
    uint64_t pcs[PP_RAW_MAX_DEPTH];
    while (s < end && rc == PP_OK) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        lineno++;
        const char *q = s + 2;
        if (le - s > 2 && s[0] == 's' && s[1] == ' ') {
            int64_t h[4], v[PP__PMAXV] = {0};
            size_t n;
            if (parse_i64s(&q, h, 4) != 0 || parse_stack(q, le, pcs, &n) != 0) {
                rc = PP_EFORMAT;
                set_msg(msg, msg_cap, path, lineno, "bad stack record");
                break;
            }
            v[0] = h[3];
            v[1] = h[3] * (p->period > 0 ? p->period : 1);
            rc = add_stack(&c, pcs, n, 1, h[1] & 1, (uint32_t)h[0], v);
        } else if (le - s > 2 && s[0] == 'm' && s[1] == ' ') {
            int64_t v[PP__PMAXV];
            size_t n;
            if (parse_i64s(&q, v, 6) != 0 || parse_stack(q, le, pcs, &n) != 0) {
                rc = PP_EFORMAT;
                set_msg(msg, msg_cap, path, lineno, "bad allocation record");
                break;
            }
            rc = add_stack(&c, pcs, n, 0, 0, 0, v);
        } else if (le - s > 2 && s[0] == 'x' && s[1] == ' ') {
            const char *sp = memchr(q, ' ', (size_t)(le - q));
            char key[64];
            if (sp && sp - q < (long)sizeof key) {
                memcpy(key, q, (size_t)(sp - q));
                key[sp - q] = 0;
                rc = pp__profile_add_stat(p, key, strtoll(sp + 1, NULL, 10));
            }
        } else if (le - s > 2 && s[0] == 't' && s[1] == ' ') {
            char *e;
            unsigned long tid = strtoul(q, &e, 10);
            if (e < le && *e == ' ') {
                uint32_t name;
                rc = pp__profile_str(p, e + 1, (size_t)(le - e - 1), &name);
                if (rc == PP_OK)
                    rc = pp__profile_grow((void **)&p->threads, &p->capthreads, p->nthreads,
                                          sizeof *p->threads);
                if (rc == PP_OK)
                    p->threads[p->nthreads++] = (pp__pthread){(uint32_t)tid, name};
            }
        } else if (le - s > 2 && s[0] == 'c' && s[1] == ' ') {
            int64_t v[3];
            char *e;
            v[0] = strtoll(q, &e, 10);
            v[1] = strtoll(e, &e, 10);
            v[2] = strtoll(e, &e, 10);
            rc =
                pp__profile_grow((void **)&p->series, &p->capseries, p->nseries, sizeof *p->series);
            if (rc == PP_OK)
                p->series[p->nseries++] = (pp__ppoint){(uint64_t)v[0], v[1], v[2]};
        } else if (le - s > 7 && memcmp(s, "reason ", 7) == 0) {
            if (le - s > 14 && memcmp(s + 7, "signal:", 7) == 0)
                rc = pp__profile_set_stat(p, "exit_signal", strtoll(s + 14, NULL, 10));
            else if (le - s == 13 && memcmp(s + 7, "_exit", 5) == 0)
                rc = pp__profile_add_stat(p, "exit_via__exit", 1);
            else if (le - s == 11 && memcmp(s + 7, "exec", 4) == 0)
                rc = pp__profile_add_stat(p, "exec_images", 1);
        }
        s = nl ? nl + 1 : end;
    }
    if (rc == PP_OK && !complete)
        rc = pp__profile_add_stat(p, "truncated", 1);
out:
    if (rc && p && p != *io)
        pp_profile_free(p);
    else if (rc == PP_OK)
        *io = p;
    pp__dw_close(c.dw);
    free(c.vdso_image);
    free(c.cache);
    free(maps);
    free(text);
    return rc;
}
