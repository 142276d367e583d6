/* SPDX-License-Identifier: Apache-2.0 */
/* Parser, printer and OCI export of the seccomp policies (no filter is
 * installed here; see tests/isolation/test_seccomp_apply.c). */
#define _GNU_SOURCE
#include "../../runner/seccomp.h"
#include "../../runner/bridge_exec.h"
#include "../../bridge/fd_floor.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const shipped_policies[] = {
	"intermediary.policy",
	"provider.policy",
	"provider-exec.policy",
	"association.policy",
};

/* Never allowed to any role (docs/ARCHITECTURE.md §4 and claim 8). */
static const char *const denied_everywhere[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "ptrace", "mount",
	"umount2", "pivot_root", "unshare", "setns", "keyctl", "add_key", "request_key",
	"perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "reboot", "swapon", "swapoff", "settimeofday",
	"clock_settime", "sethostname", "setdomainname", "setuid", "setgid", "setreuid",
	"setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups", "fsopen",
	"fsmount", "fsconfig", "fspick", "open_tree", "move_mount", "mount_setattr",
	"process_vm_readv", "process_vm_writev", "pidfd_getfd", "name_to_handle_at",
	"open_by_handle_at", "execveat", "chroot", "acct", "iopl", "ioperm", "quotactl",
};

static void policy_path(char *buf, size_t len, const char *name)
{
	const char *src = getenv("MPBS_SRCDIR");
	int n = snprintf(buf, len, "%s/policy/%s", src && *src ? src : ".", name);
	cr_assert(n > 0 && (size_t)n < len, "policy path too long");
}

static struct seccomp_policy *load_shipped(const char *name)
{
	char path[PATH_MAX], err[512] = "";
	struct seccomp_policy *p = NULL;
	policy_path(path, sizeof(path), name);
	cr_assert_eq(seccomp_policy_load(path, &p, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_assert_not_null(p);
	return p;
}

/* ---- scratch policy files ---- */

#define SCRATCH_TEMPLATE "/tmp/mpbs-seccomp-unit-XXXXXX"
static char scratch_dir[sizeof(SCRATCH_TEMPLATE)];

static void scratch_setup(void)
{
	memcpy(scratch_dir, SCRATCH_TEMPLATE, sizeof(SCRATCH_TEMPLATE));
	cr_assert_not_null(mkdtemp(scratch_dir), "mkdtemp: %s", strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void scratch_teardown(void)
{
	nftw(scratch_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void scratch_file(const char *name, const char *content)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "create %s: %s", path, strerror(errno));
	cr_assert(fputs(content, f) >= 0 && fclose(f) == 0, "write %s", path);
}

/* every test gets a fresh scratch directory for its policy files */
TestSuite(unit_seccomp, .init = scratch_setup, .fini = scratch_teardown);

static int scratch_load(const char *name, struct seccomp_policy **p, char *err, size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	return seccomp_policy_load(path, p, err, errlen);
}

/* Loads CONTENT as t.policy and expects an error that starts with
 * "<dir>/t.policy:<line>: " and contains MESSAGE. */
static void expect_error(const char *content, unsigned line, const char *message)
{
	char err[512] = "", where[PATH_MAX + 32];
	struct seccomp_policy *p = NULL;
	scratch_file("t.policy", content);
	cr_assert_eq(scratch_load("t.policy", &p, err, sizeof(err)), -1, "accepted: %s", content);
	cr_assert_null(p);
	int n = snprintf(where, sizeof(where), "%s/t.policy:%u: ", scratch_dir, line);
	cr_assert(strncmp(err, where, (size_t)n) == 0, "error '%s' does not start with '%s'", err, where);
	cr_assert(strstr(err + n, message), "error '%s' lacks '%s'", err, message);
}

static char *print_to_string(const struct seccomp_policy *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	cr_assert_eq(seccomp_policy_print(p, f), 0);
	cr_assert_eq(fclose(f), 0);
	return text;
}

static void assert_prints(const char *text, const char *line)
{
	cr_assert(strstr(text, line), "print output lacks '%s':\n%s", line, text);
}

/* ---- the shipped policies ---- */

Test(unit_seccomp, shipped_policies_load_and_allow_the_basics)
{
	for (size_t i = 0; i < sizeof(shipped_policies) / sizeof(shipped_policies[0]); i++) {
		struct seccomp_policy *p = load_shipped(shipped_policies[i]);
		/* write carries status records and log lines; rt_sigreturn ends any handler */
		cr_assert(seccomp_policy_allows(p, "write"), "%s lacks write", shipped_policies[i]);
		cr_assert(seccomp_policy_allows(p, "read"), "%s lacks read", shipped_policies[i]);
		cr_assert(seccomp_policy_allows(p, "rt_sigreturn"), "%s lacks rt_sigreturn", shipped_policies[i]);
		cr_assert(seccomp_policy_allows(p, "exit_group"), "%s lacks exit_group", shipped_policies[i]);
		seccomp_policy_free(p);
	}
}

Test(unit_seccomp, shipped_policies_never_allow_the_denied_everywhere_calls)
{
	for (size_t i = 0; i < sizeof(shipped_policies) / sizeof(shipped_policies[0]); i++) {
		struct seccomp_policy *p = load_shipped(shipped_policies[i]);
		for (size_t k = 0; k < sizeof(denied_everywhere) / sizeof(denied_everywhere[0]); k++) {
			const char *name = denied_everywhere[k];
			/* a misspelt name here would make the check vacuous */
			cr_assert_geq(seccomp_syscall_resolve_name(name), 0, "test lists unknown syscall %s", name);
			cr_assert_not(seccomp_policy_allows(p, name), "%s allows %s", shipped_policies[i], name);
		}
		seccomp_policy_free(p);
	}
}

Test(unit_seccomp, intermediary_cannot_open_connect_or_exec)
{
	static const char *const absent[] = { "socket", "connect", "bind", "listen", "open",
					      "openat", "openat2", "execve", "fork", "clone" };
	struct seccomp_policy *p = load_shipped("intermediary.policy");
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		cr_assert_not(seccomp_policy_allows(p, absent[i]), "intermediary allows %s", absent[i]);
	cr_assert(seccomp_policy_allows(p, "accept4"));
	seccomp_policy_free(p);
}

Test(unit_seccomp, provider_has_no_exec_and_provider_exec_has)
{
	struct seccomp_policy *p = load_shipped("provider.policy");
	struct seccomp_policy *x = load_shipped("provider-exec.policy");
	cr_assert_not(seccomp_policy_allows(p, "execve"));
	cr_assert_not(seccomp_policy_allows(p, "connect"));
	cr_assert_not(seccomp_policy_allows(p, "openat"));
	cr_assert(seccomp_policy_allows(x, "execve"));
	cr_assert(seccomp_policy_allows(x, "wait4"));
	/* clone3 is answered with ENOSYS, never allowed */
	cr_assert_not(seccomp_policy_allows(x, "clone3"));
	/* everything of provider.policy comes along through the include */
	cr_assert(seccomp_policy_allows(x, "getrandom"));
	seccomp_policy_free(p);
	seccomp_policy_free(x);
}

Test(unit_seccomp, association_has_no_network_exec_or_rewrite)
{
	static const char *const absent[] = { "socket", "connect", "accept4", "execve",
					      "openat", "pwrite64", "ftruncate", "unlink" };
	struct seccomp_policy *p = load_shipped("association.policy");
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		cr_assert_not(seccomp_policy_allows(p, absent[i]), "association allows %s", absent[i]);
	cr_assert(seccomp_policy_allows(p, "fdatasync"));
	seccomp_policy_free(p);
}

/* bridge.policy writes the lanes' fd range as numbers: they must be the
 * supervisor's layout (bridge/fd_floor.h), each range one masked compare. */
Test(unit_seccomp, bridge_policy_fd_ranges_are_the_supervisors_layout)
{
	_Static_assert((BRIDGE_FD_CHANNELS & (BRIDGE_FD_CHANNELS - 1)) == 0, "a power of two");
	_Static_assert((BRIDGE_LANES_MAX & (BRIDGE_LANES_MAX - 1)) == 0, "a power of two");
	_Static_assert(BRIDGE_FD_CHANNELS % BRIDGE_LANES_MAX == 0, "aligned");
	char line[160];
	struct seccomp_policy *p = load_shipped("bridge.policy");
	char *text = print_to_string(p);
	unsigned below = ~(unsigned)(BRIDGE_FD_CHANNELS - 1), lanes = ~(unsigned)(BRIDGE_LANES_MAX - 1);
	/* shutdown on 5..511 only: never fds 0-4 (4 is the control channel),
	 * never a lane; each rule one masked compare of arg0 */
	for (unsigned fd = 0; fd < BRIDGE_FD_CHANNELS + BRIDGE_LANES_MAX; fd++) {
		bool allowed = false;
		for (const char *at = text; (at = strstr(at, "\nshutdown ")) != NULL; at++) {
			unsigned mask, value;
			cr_assert_eq(sscanf(at, "\nshutdown %*d allow if arg0 & 0x%x == 0x%x  # ", &mask, &value), 2,
				     "%.80s", at + 1);
			allowed = allowed || (fd & mask) == value;
		}
		cr_assert_eq(allowed, fd >= 5 && fd < BRIDGE_FD_CHANNELS, "shutdown of fd %u", fd);
	}
	/* the TCP options on its own fds only */
	static const int tcp_opts[][2] = { { IPPROTO_TCP, TCP_NODELAY }, { SOL_SOCKET, SO_LINGER }, { SOL_SOCKET, SO_REUSEADDR } };
	for (size_t i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "\nsetsockopt %d allow if arg0 & 0x%x == 0x0 && arg1 == 0x%x && arg2 == 0x%x  # ",
			 __NR_setsockopt, below, tcp_opts[i][0], tcp_opts[i][1]);
		assert_prints(text, line);
	}
	snprintf(line, sizeof(line), "\nioctl %d allow if arg0 & 0x%x == 0x%x && arg1 == 0x%x  # ", __NR_ioctl, lanes,
		 BRIDGE_FD_CHANNELS, FIONREAD);
	assert_prints(text, line);
	/* no setsockopt rule without an fd range */
	for (const char *at = text; (at = strstr(at, "\nsetsockopt ")) != NULL; at++)
		cr_assert(strncmp(strstr(at, " allow if "), " allow if arg0 & ", 17) == 0, "%.100s", at + 1);
	snprintf(line, sizeof(line), "\nrecvmmsg %d allow if arg0 & 0x%x == 0x%x  # ", __NR_recvmmsg, lanes,
		 BRIDGE_FD_CHANNELS);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nsetsockopt %d allow if arg0 & 0x%x == 0x%x && arg1 == 0x%x && arg2 == 0x%x  # ",
		 __NR_setsockopt, lanes, BRIDGE_FD_CHANNELS, SOL_SOCKET, SO_PEEK_OFF);
	assert_prints(text, line);
	/* one rule each: nothing wider beside them */
	const char *first = strstr(text, "\nrecvmmsg ");
	cr_assert(first && !strstr(first + 1, "\nrecvmmsg "), "recvmmsg: more than one rule");
	free(text);
	seccomp_policy_free(p);
}

Test(unit_seccomp, print_shows_resolved_rules_of_provider_policy)
{
	char line[128];
	struct seccomp_policy *p = load_shipped("provider.policy");
	char *text = print_to_string(p);
	cr_assert(strncmp(text, "# seccomp policy ", 17) == 0, "header: %.80s", text);
	snprintf(line, sizeof(line), "\ntgkill %d allow if arg2 == 0x%x  # ", __NR_tgkill, SIGABRT);
	assert_prints(text, line);
	cr_assert_null(strstr(text, "\nsocket "), "provider.policy prints socket");
	snprintf(line, sizeof(line), "\nmmap %d allow if arg2 & 0x%x == 0x0 && arg3 & 0x%x == 0x%x  # ", __NR_mmap,
		 PROT_EXEC, MAP_SHARED | MAP_PRIVATE, MAP_PRIVATE);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nread %d allow  # ", __NR_read);
	assert_prints(text, line);
	cr_assert_null(strstr(text, "\nexecve "), "provider.policy prints execve");
	free(text);
	seccomp_policy_free(p);
}

/* ---- OCI export ---- */

static json_t *export_to_json(const struct seccomp_policy *p)
{
	char *text = NULL;
	size_t len = 0;
	json_error_t jerr;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	cr_assert_eq(seccomp_policy_export_oci(p, f), 0);
	cr_assert_eq(fclose(f), 0);
	json_t *root = json_loads(text, 0, &jerr);
	cr_assert_not_null(root, "invalid JSON: %s at line %d", jerr.text, jerr.line);
	free(text);
	return root;
}

static bool names_contain(json_t *entry, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(entry, "names"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

static json_t *find_entry(json_t *syscalls, const char *name, const char *action)
{
	size_t i;
	json_t *entry;
	json_array_foreach(syscalls, i, entry)
		if (names_contain(entry, name) &&
		    strcmp(json_string_value(json_object_get(entry, "action")), action) == 0)
			return entry;
	return NULL;
}

static long long arg_field(json_t *entry, const char *field)
{
	json_t *arg = json_array_get(json_object_get(entry, "args"), 0);
	cr_assert(json_is_integer(json_object_get(arg, field)), "args[0].%s missing", field);
	return json_integer_value(json_object_get(arg, field));
}

Test(unit_seccomp, oci_export_is_valid_runtime_spec_json)
{
	struct seccomp_policy *p = load_shipped("provider-exec.policy");
	json_t *root = export_to_json(p);
	cr_assert_str_eq(json_string_value(json_object_get(root, "defaultAction")), "SCMP_ACT_KILL_PROCESS");
#ifdef __x86_64__
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(root, "architectures"), 0)),
			 "SCMP_ARCH_X86_64");
#endif
	json_t *syscalls = json_object_get(root, "syscalls");
	cr_assert(json_is_array(syscalls));
	cr_assert_not_null(find_entry(syscalls, "read", "SCMP_ACT_ALLOW"));
	cr_assert_null(find_entry(syscalls, "ptrace", "SCMP_ACT_ALLOW"));

	json_t *sock = find_entry(syscalls, "socket", "SCMP_ACT_ALLOW");
	cr_assert_not_null(sock);
	cr_assert_eq(arg_field(sock, "index"), 0);
	cr_assert_eq(arg_field(sock, "value"), AF_UNIX);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(sock, "args"), 0), "op")),
			 "SCMP_CMP_EQ");

	json_t *clone3 = find_entry(syscalls, "clone3", "SCMP_ACT_ERRNO");
	cr_assert_not_null(clone3);
	cr_assert_eq(json_integer_value(json_object_get(clone3, "errnoRet")), ENOSYS);
	json_decref(root);
	seccomp_policy_free(p);
}

Test(unit_seccomp, oci_export_masked_rule_carries_mask_and_value)
{
	struct seccomp_policy *p = load_shipped("intermediary.policy");
	json_t *root = export_to_json(p);
	json_t *mmap_rule = find_entry(json_object_get(root, "syscalls"), "mmap", "SCMP_ACT_ALLOW");
	cr_assert_not_null(mmap_rule);
	cr_assert_eq(arg_field(mmap_rule, "index"), 2);
	cr_assert_eq(arg_field(mmap_rule, "value"), PROT_EXEC);
	cr_assert_eq(arg_field(mmap_rule, "valueTwo"), 0);
	json_decref(root);
	seccomp_policy_free(p);
}

/* ---- the format ---- */

Test(unit_seccomp, comments_blank_lines_constants_and_numbers)
{
	char err[512] = "", line[160];
	struct seccomp_policy *p = NULL;
	scratch_file("t.policy",
		     "# a comment\n"
		     "\n"
		     "   read   # trailing comment\r\n"
		     "socket: arg0 == AF_UNIX && arg1 == SOCK_SEQPACKET|SOCK_CLOEXEC\n"
		     "mmap: arg2 & (PROT_WRITE|PROT_EXEC) == 0\n"
		     "fcntl: arg1 == 0x4 && arg2 != 2048\n"
		     "clone3: return ENOSYS\n"
		     "ioctl: return 25\n");
	cr_assert_eq(scratch_load("t.policy", &p, err, sizeof(err)), 0, "%s", err);
	char *text = print_to_string(p);
	snprintf(line, sizeof(line), "\nread %d allow  # %s/t.policy:3\n", __NR_read, scratch_dir);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nsocket %d allow if arg0 == 0x%x && arg1 == 0x%x  # ", __NR_socket,
		 AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nmmap %d allow if arg2 & 0x%x == 0x0  # ", __NR_mmap,
		 PROT_WRITE | PROT_EXEC);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nfcntl %d allow if arg1 == 0x4 && arg2 != 0x800  # ", __NR_fcntl);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nclone3 %d errno ENOSYS (%d)  # ", __NR_clone3, ENOSYS);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nioctl %d errno ENOTTY (%d)  # ", __NR_ioctl, ENOTTY);
	assert_prints(text, line);
	free(text);
	seccomp_policy_free(p);
}

Test(unit_seccomp, conditions_are_sorted_so_equal_rules_are_duplicates)
{
	expect_error("socket: arg1 == 5 && arg0 == 1\nsocket: arg0 == 1 && arg1 == 5\n", 2,
		     "duplicate rule for 'socket' (first at ");
}

Test(unit_seccomp, same_syscall_on_several_lines_is_an_or)
{
	char err[512] = "";
	struct seccomp_policy *p = NULL;
	scratch_file("t.policy", "socket: arg0 == AF_UNIX\nsocket: arg0 == AF_INET\n");
	cr_assert_eq(scratch_load("t.policy", &p, err, sizeof(err)), 0, "%s", err);
	char *text = print_to_string(p);
	/* header plus two rules */
	size_t lines = 0;
	for (const char *s = text; *s; s++)
		lines += *s == '\n';
	cr_assert_eq(lines, 3, "%s", text);
	free(text);
	seccomp_policy_free(p);
}

Test(unit_seccomp, deny_everywhere_names_are_still_valid_data)
{
	char err[512] = "";
	struct seccomp_policy *p = NULL;
	scratch_file("t.policy", "io_uring_setup\nptrace\n");
	cr_assert_eq(scratch_load("t.policy", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert(seccomp_policy_allows(p, "io_uring_setup"));
	cr_assert_not(seccomp_policy_allows(p, "bpf"));
	seccomp_policy_free(p);
}

Test(unit_seccomp, include_reads_a_file_of_the_same_directory)
{
	char err[512] = "", line[PATH_MAX + 64];
	struct seccomp_policy *p = NULL;
	scratch_file("base.policy", "read\nwrite\n");
	scratch_file("top.policy", "# top\n@include base.policy\nexecve\n");
	cr_assert_eq(scratch_load("top.policy", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert(seccomp_policy_allows(p, "read"));
	cr_assert(seccomp_policy_allows(p, "execve"));
	char *text = print_to_string(p);
	snprintf(line, sizeof(line), "\nwrite %d allow  # %s/base.policy:2\n", __NR_write, scratch_dir);
	assert_prints(text, line);
	snprintf(line, sizeof(line), "\nexecve %d allow  # %s/top.policy:3\n", __NR_execve, scratch_dir);
	assert_prints(text, line);
	free(text);
	seccomp_policy_free(p);
}

/* ---- every error class, with file and line ---- */

Test(unit_seccomp, unknown_syscall)
{
	expect_error("read\n\n# x\nfoo\n", 4, "unknown syscall 'foo'");
}

Test(unit_seccomp, syscall_of_another_architecture)
{
	/* socketcall exists on i386, not x86_64 */
	expect_error("socketcall\n", 1, "syscall 'socketcall' does not exist on this architecture");
}

Test(unit_seccomp, unknown_constant)
{
	expect_error("read\nsocket: arg0 == AF_BOGUS\n", 2, "unknown constant 'AF_BOGUS'");
}

Test(unit_seccomp, unknown_errno)
{
	expect_error("clone3: return EBOGUS\n", 1, "unknown errno 'EBOGUS'");
	expect_error("clone3: return 0\n", 1, "errno 0 out of range");
}

Test(unit_seccomp, bad_syntax)
{
	static const struct {
		const char *line, *message;
	} cases[] = {
		{ "socket: arg6 == 1\n", "expected arg0..arg5 at 'arg6 == 1'" },
		{ "socket: a0 == 1\n", "expected arg0..arg5" },
		{ "socket: arg0 = 1\n", "expected '==' or '!=' at '= 1'" },
		{ "socket: arg0 ==\n", "expected a number or constant at 'end of line'" },
		{ "socket: arg0 == 1 2\n", "unexpected '2'" },
		{ "socket: arg0 == 1 &&\n", "expected arg0..arg5 at 'end of line'" },
		{ "socket:\n", "expected a condition or 'return ERRNO' after ':'" },
		{ "socket arg0 == 1\n", "unexpected 'arg0 == 1'" },
		{ "mmap: arg2 & PROT_EXEC != 0\n", "a mask can only be compared with '=='" },
		{ "mmap: arg2 & (PROT_EXEC == 0\n", "missing ')'" },
		{ "socket: arg0 == 0x\n", "bad number '0x'" },
		{ "socket: arg0 == 12ab\n", "bad number '12ab'" },
		{ "socket: arg0 == 010\n", "number '010' has a leading zero" },
		{ "socket: arg0 == 99999999999999999999\n", "number '99999999999999999999' does not fit in 64 bits" },
		{ "socket: arg0 == 1 && arg0 == 2\n", "arg0 is tested twice in one rule" },
		{ "mmap: arg2 & PROT_EXEC == PROT_READ\n", "has bits outside the mask" },
		{ "clone3: return\n", "expected an errno after 'return'" },
		{ ": arg0 == 1\n", "expected a syscall name" },
		{ "@import x.policy\n", "unknown directive '@import" },
		{ "@include\n", "expected a file name after @include" },
		{ "@include ../etc/passwd\n", "@include takes a file name of the same directory" },
		{ "@include a.policy b.policy\n", "unexpected 'b.policy'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].line, 1, cases[i].message);
}

Test(unit_seccomp, two_actions_for_one_syscall)
{
	expect_error("clone3: return ENOSYS\nread\nclone3\n", 3, "'clone3' already has another action at ");
}

Test(unit_seccomp, duplicate_line)
{
	expect_error("read\nwrite\nread\n", 3, "duplicate rule for 'read' (first at ");
}

Test(unit_seccomp, line_too_long)
{
	char content[1200];
	memset(content, 'a', sizeof(content) - 2);
	content[sizeof(content) - 2] = '\n';
	content[sizeof(content) - 1] = '\0';
	expect_error(content, 1, "line longer than");
}

Test(unit_seccomp, missing_include_names_the_including_line)
{
	char expected[PATH_MAX + 64];
	snprintf(expected, sizeof(expected), "open %s/gone.policy: No such file or directory", scratch_dir);
	expect_error("read\n@include gone.policy\n", 2, expected);
}

/* Opened O_NONBLOCK, checked before it is read: a FIFO is refused at once,
 * with the message a directory in its place gets. */
Test(unit_seccomp, fifo_is_refused_without_waiting_for_a_writer, .timeout = 10)
{
	char fifo[PATH_MAX], expected[PATH_MAX + 64];
	snprintf(fifo, sizeof(fifo), "%s/pipe.policy", scratch_dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
	snprintf(expected, sizeof(expected), "%s is not a regular file", fifo);
	expect_error("read\n@include pipe.policy\n", 2, expected);
	char err[512] = "";
	struct seccomp_policy *p = NULL;
	cr_assert_eq(seccomp_policy_load(fifo, &p, err, sizeof(err)), -1);
	cr_assert_str_eq(err, expected, "the top file: no place in front");
}

Test(unit_seccomp, include_loop)
{
	char err[512] = "", expected[PATH_MAX + 64];
	struct seccomp_policy *p = NULL;
	scratch_file("a.policy", "read\n@include b.policy\n");
	scratch_file("b.policy", "write\n\n@include a.policy\n");
	cr_assert_eq(scratch_load("a.policy", &p, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s/b.policy:3: include loop: %s/a.policy is already being read",
		 scratch_dir, scratch_dir);
	cr_assert(strstr(err, expected), "error '%s' lacks '%s'", err, expected);
	expect_error("@include t.policy\n", 1, "include loop");
}

Test(unit_seccomp, include_depth_limit)
{
	char err[512] = "", name[32], content[64], expected[PATH_MAX + 64];
	struct seccomp_policy *p = NULL;
	/* d0 includes d1 ... d5: d5 would sit at depth 5 */
	for (int i = 0; i <= 5; i++) {
		snprintf(name, sizeof(name), "d%d.policy", i);
		if (i < 5)
			snprintf(content, sizeof(content), "@include d%d.policy\n", i + 1);
		else
			snprintf(content, sizeof(content), "read\n");
		scratch_file(name, content);
	}
	cr_assert_eq(scratch_load("d1.policy", &p, err, sizeof(err)), 0, "depth 4 refused: %s", err);
	seccomp_policy_free(p);
	p = NULL;
	cr_assert_eq(scratch_load("d0.policy", &p, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s/d4.policy:1: includes nested deeper than %d", scratch_dir,
		 SECCOMP_POLICY_MAX_INCLUDE_DEPTH);
	cr_assert(strstr(err, expected), "error '%s' lacks '%s'", err, expected);
}

Test(unit_seccomp, missing_top_file)
{
	char err[512] = "";
	struct seccomp_policy *p = NULL;
	cr_assert_eq(scratch_load("nope.policy", &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "nope.policy: No such file or directory"), "%s", err);
	cr_assert_null(p);
}

Test(unit_seccomp, error_in_an_included_file_names_that_file)
{
	char err[512] = "", expected[PATH_MAX + 64];
	struct seccomp_policy *p = NULL;
	scratch_file("inc.policy", "read\nbogus_call\n");
	scratch_file("top.policy", "@include inc.policy\n");
	cr_assert_eq(scratch_load("top.policy", &p, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s/inc.policy:2: unknown syscall 'bogus_call'", scratch_dir);
	cr_assert(strstr(err, expected), "error '%s' lacks '%s'", err, expected);
}

/* ---- syscall names for the supervisor's report ---- */

Test(unit_seccomp, syscall_names_resolve_on_the_native_arch)
{
	char buf[40];
	cr_assert_str_eq(seccomp_syscall_name(__NR_read), "read");
	cr_assert_str_eq(seccomp_syscall_name(__NR_socket), "socket");
	cr_assert_str_eq(seccomp_syscall_name(99999), "unknown");
	cr_assert_str_eq(seccomp_syscall_name(-1), "unknown");
	cr_assert_str_eq(seccomp_syscall_name_r(__NR_execve, buf, sizeof(buf)), "execve");
	cr_assert_eq(seccomp_syscall_name_r(__NR_execve, buf, sizeof(buf)), buf);
}

/* ---- range conditions on int arguments ---- */

static size_t count_lines_with(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *at = text; (at = strstr(at, needle)); at++)
		n++;
	return n;
}

Test(unit_seccomp, a_floor_on_an_fd_becomes_masked_blocks_of_the_low_32_bits)
{
	char err[512] = "";
	struct seccomp_policy *p = NULL;
	scratch_file("t.policy", "shutdown: arg0 >= 4 && arg1 == SHUT_RDWR\n");
	cr_assert_eq(scratch_load("t.policy", &p, err, sizeof(err)), 0, "%s", err);
	char *text = print_to_string(p);
	/* [4, 8), [8, 16), ..., [2^30, 2^31): 29 blocks */
	cr_assert_eq(count_lines_with(text, "\nshutdown 48 allow if arg0 & "), 29, "%s", text);
	assert_prints(text, "shutdown 48 allow if arg0 & 0xfffffffc == 0x4 && arg1 == 0x2");
	assert_prints(text, "shutdown 48 allow if arg0 & 0xc0000000 == 0x40000000 && arg1 == 0x2");
	free(text);
	seccomp_policy_free(p);
}

Test(unit_seccomp, a_closed_range_covers_exactly_its_values)
{
	char err[512] = "";
	struct seccomp_policy *p = NULL;
	scratch_file("t.policy", "rt_sigaction: arg0 in 1..30\n");
	cr_assert_eq(scratch_load("t.policy", &p, err, sizeof(err)), 0, "%s", err);
	char *text = print_to_string(p);
	/* [1,2) [2,4) [4,8) [8,16) [16,24) [24,28) [28,30) [30,31) */
	cr_assert_eq(count_lines_with(text, "\nrt_sigaction 13 allow if arg0 & "), 8, "%s", text);
	assert_prints(text, "rt_sigaction 13 allow if arg0 & 0xffffffff == 0x1 ");
	assert_prints(text, "rt_sigaction 13 allow if arg0 & 0xfffffff8 == 0x10 ");
	assert_prints(text, "rt_sigaction 13 allow if arg0 & 0xfffffffe == 0x1c ");
	assert_prints(text, "rt_sigaction 13 allow if arg0 & 0xffffffff == 0x1e ");
	cr_assert_null(strstr(text, "== 0x1f "), "SIGSYS (31) is covered:\n%s", text);
	free(text);
	seccomp_policy_free(p);
}

Test(unit_seccomp, range_errors_name_file_and_line)
{
	expect_error("read\nrt_sigaction: arg0 in 5..4\n", 2, "a range must lie within 0..0x7fffffff");
	expect_error("rt_sigaction: arg0 in 1..0x80000000\n", 1, "a range must lie within 0..0x7fffffff");
	expect_error("shutdown: arg0 >= 0x80000000\n", 1, "a range must lie within 0..0x7fffffff");
	expect_error("rt_sigaction: arg0 in 3\n", 1, "expected 'LO..HI' after 'in'");
	expect_error("shutdown: arg0 & 3 >= 1\n", 1, "expected '==' or '!='");
	expect_error("shutdown: arg0 >= 4 && arg0 == 5\n", 1, "arg0 is tested twice in one rule");
}
