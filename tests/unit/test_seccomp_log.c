/* SPDX-License-Identifier: Apache-2.0 */
/* The parser of the kernel's AUDIT_SECCOMP records (runner/seccomp_log.c):
 * the fields the supervisor names a seccomp kill by. */
#include "../../runner/seccomp_log.h"

#include <criterion/criterion.h>
#include <string.h>

static int parse(const char *text, struct seccomp_kill *k)
{
	return seccomp_log_parse(text, strlen(text), k);
}

Test(unit_seccomp_log, a_native_kill_names_pid_uid_and_syscall)
{
	struct seccomp_kill k;
	cr_assert_eq(parse("audit(1796006999.224:3455): auid=4294967295 uid=300002 gid=300002 ses=4294967295 "
			   "pid=17593 comm=\"mpbs-p-A\" exe=\"/usr/bin/mpbs-run\" sig=31 arch=c000003e syscall=41 "
			   "compat=0 ip=0x7f645de2fdc7 code=0x80000000",
			   &k),
		     0);
	cr_assert_eq(k.pid, 17593);
	cr_assert_eq(k.uid, 300002u, "auid must not be read as uid");
	cr_assert_eq(k.nr, 41);
#if defined(__x86_64__)
	cr_assert(k.native);
#endif
}

Test(unit_seccomp_log, another_architecture_is_not_native)
{
	struct seccomp_kill k;
	cr_assert_eq(parse("audit(1:2): auid=1 uid=0 gid=0 ses=1 pid=9 comm=\"t\" exe=\"/t\" sig=31 arch=40000003 "
			   "syscall=20 compat=1 ip=0x1 code=0x80000000",
			   &k),
		     0);
	cr_assert_not(k.native);
	cr_assert_eq(parse("audit(1:2): auid=1 uid=0 gid=0 ses=1 pid=9 comm=\"t\" exe=\"/t\" sig=31 arch=c000003e "
			   "syscall=1073741863 compat=0 ip=0x1 code=0x80000000",
			   &k),
		     0);
	cr_assert_not(k.native, "an x32 number (bit 30) is not a native call");
}

/* comm and exe are the process's own words: the kernel hex-encodes them
 * when they hold a space or a quote, so no " pid=" can hide inside. */
Test(unit_seccomp_log, a_hex_encoded_comm_cannot_forge_fields)
{
	struct seccomp_kill k;
	cr_assert_eq(parse("audit(1:2): auid=1 uid=5 gid=5 ses=1 pid=77 comm=207069643D312073797363616C6C3D30 "
			   "exe=\"/t\" sig=31 arch=c000003e syscall=101 compat=0 ip=0x1 code=0x80000000",
			   &k),
		     0);
	cr_assert_eq(k.pid, 77);
	cr_assert_eq(k.nr, 101);
}

Test(unit_seccomp_log, a_record_without_a_field_is_refused)
{
	struct seccomp_kill k;
	cr_assert_eq(parse("audit(1:2): auid=1 uid=0 gid=0 ses=1 pid=9 sig=31 arch=c000003e compat=0", &k), -1);
	cr_assert_eq(parse("audit(1:2): auid=1 uid=0 gid=0 ses=1 sig=31 arch=c000003e syscall=1", &k), -1);
	cr_assert_eq(parse("audit(1:2): auid=1 uid=0 gid=0 ses=1 pid=x sig=31 arch=c000003e syscall=1", &k), -1);
	cr_assert_eq(parse("", &k), -1);
}
