/* SPDX-License-Identifier: Apache-2.0 */
/* unit_role: role_release_startup_code (roles/role.c) drops only pages that
 * fault back unchanged: code and read-only data read the same afterwards,
 * and writable data (including what start-up wrote) keeps its values. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../roles/role.h"

static const char rodata_text[] = "read-only data, in a non-writable segment";
static const char *const relro_ptrs[] = { rodata_text, "relocated at start, then read-only (RELRO)" };
static int data_value = 1;
static char bss_buf[8192];

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

Test(unit_role, release_keeps_code_data_and_relocations_intact)
{
	data_value = 777;                     /* .data written at run time */
	memset(bss_buf, 0x5a, sizeof(bss_buf)); /* .bss written at run time */
	char before[128];
	snprintf(before, sizeof(before), "%s|%s", relro_ptrs[0], relro_ptrs[1]);

	long released = role_release_startup_code();
	cr_assert_gt(released, 0, "some code pages were released");

	cr_assert_eq(data_value, 777);
	for (size_t i = 0; i < sizeof(bss_buf); i++)
		cr_assert_eq((unsigned char)bss_buf[i], 0x5a);
	char after[128];
	snprintf(after, sizeof(after), "%s|%s", relro_ptrs[0], relro_ptrs[1]);
	cr_assert_str_eq(after, before, "RELRO pointers and the strings they point to");
	cr_assert_str_eq(rodata_text, "read-only data, in a non-writable segment");

	/* Library code faults back in: libc, and libsodium against a known
	 * vector (SHA-256 of "abc"). */
	int v[] = { 3, 1, 2 };
	qsort(v, 3, sizeof(int), cmp_int);
	cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);
	cr_assert_eq(sodium_init() < 0, false);
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];
	crypto_hash_sha256(h, (const unsigned char *)"abc", 3);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	/* And again: a second release is as harmless as the first. */
	cr_assert_gt(role_release_startup_code(), 0);
	cr_assert_eq(data_value, 777);
}

/* A cannot-start message longer than the supervisor buffers a record is cut
 * to fit, and says it was: one whole record of ROLE_STATUS_RECORD_MAX bytes
 * (a longer one would never be read whole, and its tail would be taken for
 * other records). */
Test(unit_role, a_long_cannot_start_message_is_cut_to_one_record)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	char why[2000];
	memset(why, 'x', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	cr_assert_eq(role_report_cannot_start(p[1], why), SPAWN_SETUP_FAILED);
	close(p[1]);
	unsigned char rec[4096];
	ssize_t n = read(p[0], rec, sizeof(rec));
	close(p[0]);
	cr_assert_eq(n, ROLE_STATUS_RECORD_MAX);
	cr_assert_eq(rec[0], STATUS_ERROR);
	size_t len = (size_t)rec[1] | (size_t)rec[2] << 8;
	cr_assert_eq(len, (size_t)ROLE_STATUS_RECORD_MAX - 3);
	cr_assert_eq(memcmp(rec + ROLE_STATUS_RECORD_MAX - 3, "...", 3), 0);
	cr_assert_eq(rec[3], 'x');
}
