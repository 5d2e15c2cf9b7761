/*
 * elf_note.h - The GNU build id of a loaded object, read from its PT_NOTE
 * segments in memory (dl_iterate_phdr). Header-only and async-signal-safe
 * (no allocation, no library call but memcmp), so that both the crash
 * handler (libpostprof) and the preload library, which links nothing of
 * libpostprof, use the same walk.
 */
#ifndef PP_COMMON_ELF_NOTE_H
#define PP_COMMON_ELF_NOTE_H

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <string.h>
#include <sys/auxv.h>

/* Writes the build id as lower-case hex into hex (NUL-terminated, cut to
 * fit cap) and returns its length; 0 when the object has none. */
static inline size_t pp__elf_build_id_hex(const struct dl_phdr_info *info, char *hex, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *nh;
            const unsigned char *desc = (const unsigned char *)(name + ((nh->n_namesz + 3u) & ~3u));
            if ((const char *)desc + nh->n_descsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                size_t k = 0;
                for (unsigned j = 0; j < nh->n_descsz && k + 2 < cap; j++) {
                    hex[k++] = digits[desc[j] >> 4];
                    hex[k++] = digits[desc[j] & 15];
                }
                if (cap)
                    hex[k] = '\0';
                return k;
            }
            p = (const char *)desc + ((nh->n_descsz + 3u) & ~3u);
        }
    }
    return 0;
}

/* The vDSO the kernel mapped into this process (AT_SYSINFO_EHDR) as a
 * dl_phdr_info, with the size of its image; 0 when there is none. The image
 * is the same in every process on one kernel (its build id says which), so
 * a profile reader can symbolize a target's vDSO frames from its own. */
static inline int pp__elf_vdso(struct dl_phdr_info *info, size_t *size)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
    if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return 0;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    ElfW(Addr) bias = 0;
    size_t extent = 0;
    int have_load = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (!have_load)
            bias = (ElfW(Addr))eh - (ph[i].p_vaddr - ph[i].p_offset);
        have_load = 1;
        if (ph[i].p_offset + ph[i].p_filesz > extent)
            extent = ph[i].p_offset + ph[i].p_filesz;
    }
    if (eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize > extent)
        extent = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
    if (!have_load || extent == 0)
        return 0;
    memset(info, 0, sizeof *info);
    info->dlpi_addr = bias;
    info->dlpi_name = "[vdso]";
    info->dlpi_phdr = ph;
    info->dlpi_phnum = eh->e_phnum;
    *size = extent;
    return 1;
}

#endif
