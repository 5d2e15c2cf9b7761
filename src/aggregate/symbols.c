/*
 * symbols.c - In-process symbolization with dladdr and elfutils libdw.
 * Used after the fact (snapshots, reports), never on a hot path.
 */
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols.h"

struct pp__symbolizer {
    Dwfl *dwfl;
    int tried;
};

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

pp__symbolizer *pp__symbolizer_new(void)
{
    return calloc(1, sizeof(pp__symbolizer));
}

void pp__symbolizer_free(pp__symbolizer *s)
{
    if (!s)
        return;
    if (s->dwfl)
        dwfl_end(s->dwfl);
    free(s);
}

static Dwfl *get_dwfl(pp__symbolizer *s)
{
    if (!s->tried) {
        s->tried = 1;
        s->dwfl = dwfl_begin(&callbacks);
        if (s->dwfl) {
            if (dwfl_linux_proc_report(s->dwfl, getpid()) != 0 ||
                dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
                dwfl_end(s->dwfl);
                s->dwfl = NULL;
            }
        }
    }
    return s->dwfl;
}

void pp__symbolize(pp__symbolizer *s, const void *addr, char *out, size_t cap)
{
    Dl_info info;
    memset(&info, 0, sizeof info);
    int have = dladdr(addr, &info);
    if (have && info.dli_sname && info.dli_saddr == addr) {
        snprintf(out, cap, "%s", info.dli_sname);
        return;
    }
    Dwfl *d = s ? get_dwfl(s) : NULL;
    if (d) {
        Dwarf_Addr a = (Dwarf_Addr)(uintptr_t)addr;
        Dwfl_Module *m = dwfl_addrmodule(d, a);
        const char *name = m ? dwfl_module_addrname(m, a) : NULL;
        if (name) {
            snprintf(out, cap, "%s", name);
            return;
        }
    }
    if (have && info.dli_sname) {
        snprintf(out, cap, "%s", info.dli_sname);
        return;
    }
    if (have && info.dli_fname) {
        const char *base = strrchr(info.dli_fname, '/');
        snprintf(out, cap, "%s+0x%lx", base ? base + 1 : info.dli_fname,
                 (unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_fbase));
        return;
    }
    snprintf(out, cap, "0x%lx", (unsigned long)(uintptr_t)addr);
}
