/*
 * symbols.c - The one libdw symbolizer (see symbols.h): address spaces
 * described to elfutils libdw and lookups in them, plus the in-process
 * names of whole-program sites (dladdr first). Used after the fact
 * (snapshots, raw profiles, crash reports), never on a hot path.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <elfutils/libdwfl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols.h"

struct pp__dw {
    Dwfl *dwfl;
    pp__dw_image image; /* data NULL: none */
};

static char *debuginfo_path;
static const Dwfl_Callbacks by_path = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};
static const Dwfl_Callbacks by_build_id = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

/* files through libdwfl's own lookup; the in-memory image by its name */
static int find_elf_or_image(Dwfl_Module *mod, void **userdata, const char *modname,
                             Dwarf_Addr base, char **file_name, Elf **elfp)
{
    const pp__dw *dw = *userdata;
    if (dw && dw->image.data && strcmp(modname, dw->image.name) == 0) {
        *elfp = elf_memory((char *)dw->image.data, dw->image.size);
        return -1;
    }
    return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
}

static const Dwfl_Callbacks by_path_or_image = {
    .find_elf = find_elf_or_image,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

static pp__dw *dw_new(const Dwfl_Callbacks *cb)
{
    pp__dw *dw = calloc(1, sizeof *dw);
    if (dw && !(dw->dwfl = dwfl_begin(cb))) {
        free(dw);
        return NULL;
    }
    if (dw)
        dwfl_report_begin(dw->dwfl);
    return dw;
}

static pp__dw *dw_reported(pp__dw *dw, int ok)
{
    if (dw && (!ok || dwfl_report_end(dw->dwfl, NULL, NULL) != 0)) {
        pp__dw_close(dw);
        return NULL;
    }
    return dw;
}

pp__dw *pp__dw_open_self(void)
{
    pp__dw *dw = dw_new(&by_path);
    return dw_reported(dw, dw && dwfl_linux_proc_report(dw->dwfl, getpid()) == 0);
}

pp__dw *pp__dw_open_maps(const char *maps, size_t len, const pp__dw_image *image)
{
    pp__dw *dw = dw_new(&by_path_or_image);
    if (dw && len) {
        FILE *mf = fmemopen((void *)maps, len, "r");
        if (mf) {
            dwfl_linux_proc_maps_report(dw->dwfl, mf);
            fclose(mf);
        }
    }
    if (dw && image && image->data) {
        dw->image = *image;
        Dwfl_Module *mod =
            dwfl_report_module(dw->dwfl, image->name, image->addr, image->addr + image->size);
        void **ud = NULL;
        if (mod && dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL) && ud)
            *ud = dw;
    }
    return dw_reported(dw, 1);
}

pp__dw *pp__dw_open_files(const pp__dw_file *files, size_t n)
{
    pp__dw *dw = dw_new(&by_build_id);
    for (size_t i = 0; dw && i < n; i++)
        dwfl_report_elf(dw->dwfl, files[i].path, files[i].path, -1, files[i].bias, false);
    return dw_reported(dw, 1);
}

void pp__dw_close(pp__dw *dw)
{
    if (!dw)
        return;
    dwfl_end(dw->dwfl);
    free(dw);
}

Dwfl_Module *pp__dw_module(pp__dw *dw, uint64_t addr)
{
    return dw ? dwfl_addrmodule(dw->dwfl, (Dwarf_Addr)addr) : NULL;
}

int pp__dw_symbol(pp__dw *dw, uint64_t addr, pp__dw_sym *out)
{
    memset(out, 0, sizeof *out);
    Dwfl_Module *m = pp__dw_module(dw, addr);
    if (!m)
        return 0;
    out->function = dwfl_module_addrname(m, (Dwarf_Addr)addr);
    Dwfl_Line *dl = dwfl_module_getsrc(m, (Dwarf_Addr)addr);
    int line = 0;
    const char *file = dl ? dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL) : NULL;
    if (file) {
        out->file = file;
        out->line = line;
    }
    return 1;
}

struct pp__symbolizer {
    pp__dw *dw;
    int tried;
};

pp__symbolizer *pp__symbolizer_new(void)
{
    return calloc(1, sizeof(pp__symbolizer));
}

void pp__symbolizer_free(pp__symbolizer *s)
{
    if (!s)
        return;
    pp__dw_close(s->dw);
    free(s);
}

static pp__dw *get_dw(pp__symbolizer *s)
{
    if (!s->tried) {
        s->tried = 1;
        s->dw = pp__dw_open_self();
    }
    return s->dw;
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
    pp__dw_sym sym;
    if (s && pp__dw_symbol(get_dw(s), (uint64_t)(uintptr_t)addr, &sym) && sym.function) {
        snprintf(out, cap, "%s", sym.function);
        return;
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
