/* SPDX-License-Identifier: Apache-2.0 */
/* The program interpreter an executable names (its PT_INTERP program
 * header): the dynamic loader the kernel opens when it execs the program,
 * and on which Landlock checks the execute right as on the program itself.
 * The bridge's sandbox grants execute to those two files alone
 * (runner/plan_bridge.c). */
#ifndef MPBS_ELF_INTERP_H
#define MPBS_ELF_INTERP_H

#include <stddef.h>

/* Reads path's ELF header and program headers: a 64-bit ELF of this
 * host's byte order, as the runner's own programs are. Returns 1 with out
 * holding the interpreter's path (absolute, NUL-terminated); 0 with out ""
 * when the program has none (linked statically); -1 with err naming path
 * and what is wrong (not ELF, another class, truncated, a bad PT_INTERP,
 * one longer than len - 1). */
int elf_interp(const char *path, char *out, size_t len, char *err, size_t errlen);

#endif
