/* SPDX-License-Identifier: Apache-2.0 */
/* Small checks of text that several parsers make, written once. */
#ifndef MPBS_TEXT_H
#define MPBS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* How many of s's first len bytes, from the start, are lowercase hex
 * digits (0-9 a-f). */
size_t text_lower_hex_prefix(const char *s, size_t len);

/* Whether all len bytes of s are lowercase hex digits: the one spelling of
 * a digest, key or MAC in a ledger, key file or token. */
bool text_is_lower_hex(const char *s, size_t len);

/* Whether word stands in list as a whole item, items separated by sep
 * (cgroup.controllers: ' '; mount options: ','). */
bool text_has_word(const char *list, const char *word, char sep);

#endif
