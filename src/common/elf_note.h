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

#endif
