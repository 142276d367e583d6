/* SPDX-License-Identifier: Apache-2.0 */
/* `lo` up inside a role's network namespace, and listing the links of
 * another process's namespace, both through libnl-route-3. */
#define _GNU_SOURCE
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

static struct nl_sock *route_socket(const char *step, char *err, size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk) {
		snprintf(err, errlen, "%s: nl_socket_alloc: %s", step, strerror(ENOMEM));
		return NULL;
	}
	int rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		snprintf(err, errlen, "%s: nl_connect NETLINK_ROUTE: %s", step, nl_geterror(rc));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static int set_lo_up(struct nl_sock *sk, char *err, size_t errlen)
{
	struct rtnl_link *lo = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, "lo", &lo);
	if (rc < 0) {
		snprintf(err, errlen, "lo_up: rtnl_link_get_kernel lo: %s", nl_geterror(rc));
		return -1;
	}
	struct rtnl_link *change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(lo);
		snprintf(err, errlen, "lo_up: rtnl_link_alloc: %s", strerror(ENOMEM));
		return -1;
	}
	rtnl_link_set_flags(change, IFF_UP);
	rc = rtnl_link_change(sk, lo, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(lo);
	if (rc < 0) {
		snprintf(err, errlen, "lo_up: rtnl_link_change lo: %s", nl_geterror(rc));
		return -1;
	}
	return 0;
}

/* Reads lo back: a role must not start believing it has a loopback it lacks. */
static int check_lo_up(struct nl_sock *sk, char *err, size_t errlen)
{
	struct rtnl_link *lo = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, "lo", &lo);
	if (rc < 0) {
		snprintf(err, errlen, "lo_up: rtnl_link_get_kernel lo: %s", nl_geterror(rc));
		return -1;
	}
	unsigned flags = rtnl_link_get_flags(lo);
	rtnl_link_put(lo);
	if (!(flags & IFF_UP)) {
		snprintf(err, errlen, "lo_up: lo is still down after rtnl_link_change");
		return -1;
	}
	return 0;
}

int netns_lo_up(char *err, size_t errlen)
{
	struct nl_sock *sk = route_socket("lo_up", err, errlen);
	if (!sk)
		return -1;
	int rc = set_lo_up(sk, err, errlen);
	if (rc == 0)
		rc = check_lo_up(sk, err, errlen);
	nl_socket_free(sk);
	return rc;
}

/* One record from the helper child; smaller than PIPE_BUF, so each write
 * arrives whole. */
enum link_msg_kind { MSG_LINK = 1, MSG_DONE = 2, MSG_ERROR = 3 };
struct link_msg {
	int kind;
	struct netns_link link;
	char text[200];
};

static int send_msg(int fd, const struct link_msg *m)
{
	ssize_t n;
	do
		n = write(fd, m, sizeof *m);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof *m ? 0 : -1;
}

static void send_error(int fd, const char *text)
{
	struct link_msg m = { .kind = MSG_ERROR };
	snprintf(m.text, sizeof m.text, "%s", text);
	(void)send_msg(fd, &m);
}

struct send_ctx {
	int fd;
	int failed;
};

static void send_one_link(struct nl_object *obj, void *arg)
{
	struct send_ctx *ctx = arg;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	struct link_msg m = { .kind = MSG_LINK };
	const char *name = rtnl_link_get_name(link);
	snprintf(m.link.name, sizeof m.link.name, "%s", name ? name : "");
	m.link.flags = rtnl_link_get_flags(link);
	if (send_msg(ctx->fd, &m) < 0)
		ctx->failed = 1;
}

/* Helper child: the netlink socket must be created after setns, because a
 * socket belongs to the namespace it was created in. */
static void list_links_child(int nsfd, int wfd)
{
	char text[200];
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		snprintf(text, sizeof text, "links: setns CLONE_NEWNET: %s", strerror(errno));
		send_error(wfd, text);
		_exit(1);
	}
	struct nl_sock *sk = route_socket("links", text, sizeof text);
	if (!sk) {
		send_error(wfd, text);
		_exit(1);
	}
	struct nl_cache *cache = NULL;
	int rc = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (rc < 0) {
		snprintf(text, sizeof text, "links: rtnl_link_alloc_cache: %s", nl_geterror(rc));
		send_error(wfd, text);
		_exit(1);
	}
	struct send_ctx ctx = { wfd, 0 };
	nl_cache_foreach(cache, send_one_link, &ctx);
	struct link_msg done = { .kind = MSG_DONE };
	_exit(ctx.failed || send_msg(wfd, &done) < 0 ? 1 : 0);
}

static int read_msg(int fd, struct link_msg *m)
{
	size_t got = 0;
	while (got < sizeof *m) {
		ssize_t n = read(fd, (char *)m + got, sizeof *m - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Parent side: collects records until DONE, ERROR or EOF. */
static int collect_links(int rfd, struct netns_link *out, size_t max, size_t *n, char *err,
			 size_t errlen)
{
	struct link_msg m;
	size_t count = 0;
	while (read_msg(rfd, &m) == 0) {
		if (m.kind == MSG_DONE) {
			if (count > max) {
				snprintf(err, errlen, "links: %zu links, more than the %zu asked for", count, max);
				return -1;
			}
			*n = count;
			return 0;
		}
		if (m.kind == MSG_ERROR) {
			m.text[sizeof m.text - 1] = '\0';
			snprintf(err, errlen, "%s", m.text);
			return -1;
		}
		if (count < max)
			out[count] = m.link;
		count++;
	}
	snprintf(err, errlen, "links: helper child ended without a complete list");
	return -1;
}

static int fork_lister(int nsfd, struct netns_link *out, size_t max, size_t *n, char *err,
		       size_t errlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "links: pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "links: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		list_links_child(nsfd, p[1]);
	}
	close(p[1]);
	int rc = collect_links(p[0], out, max, n, err, errlen);
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

int netns_links_of_pid(pid_t pid, struct netns_link *out, size_t max, size_t *n, char *err,
		       size_t errlen)
{
	char path[64];
	*n = 0;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		snprintf(err, errlen, "links: open %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = fork_lister(nsfd, out, max, n, err, errlen);
	close(nsfd);
	return rc;
}
