/* SPDX-License-Identifier: Apache-2.0 */
#include "text.h"

#include <string.h>

size_t text_lower_hex_prefix(const char *s, size_t len)
{
	size_t n = 0;
	while (n < len && ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
		n++;
	return n;
}

bool text_is_lower_hex(const char *s, size_t len)
{
	return text_lower_hex_prefix(s, len) == len;
}

bool text_has_word(const char *list, const char *word, char sep)
{
	size_t n = strlen(word);
	if (n == 0)
		return false;
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == sep) && (p[n] == sep || p[n] == '\0'))
			return true;
	return false;
}
