#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make check-install`: the install as a distribution does it, checked at the
# paths it will have. Installs with PREFIX=/usr into a scratch DESTDIR, then
# runs the INSTALLED binary (compiled for /usr/share/mpbs-run/policy) at its
# real paths: in a private mount namespace, the scratch tree's usr/ and etc/
# are laid over the host's /usr and /etc with a read-only overlayfs (the
# scratch tree on top, the host's libraries below), so /usr/bin/mpbs-run,
# /usr/share/mpbs-run and /etc/mpbs-run are the installed ones while nothing
# of the host is written. There: every installed topology passes -t, every
# installed seccomp policy prints from /usr/share/mpbs-run/policy, every
# installed man page renders without a warning, the installed unit passes
# `systemd-analyze verify`, and with the policy directory hidden
# --print-policy fails (the binary reads no other).
# Last, `make uninstall` must leave no file behind.
# As root, or as a user where unprivileged user namespaces are allowed.
set -euo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}

dest=$(mktemp -d "${TMPDIR:-/tmp}/mpbs-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

$MAKE --no-print-directory install PREFIX=/usr DESTDIR="$dest" >"$dest.log" 2>&1 ||
	{ cat "$dest.log"; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"
echo "check-install: installed into $dest:"
(cd "$dest" && find . -type f | sort | sed 's/^\./  /')

# The installed topologies must not point back into the source tree.
if grep -n '\.\./' "$dest"/etc/mpbs-run/*.conf | grep -v '^[^:]*:[0-9]*:[;#]'; then
	echo "check-install: an installed topology keeps a relative path out of its folder" >&2
	exit 1
fi

# Runs in the private mount namespace (the scratch tree is $1).
inside() {
	set -euo pipefail
	local dest=$1 conf policy name out
	mount -t overlay overlay -o "ro,lowerdir=$dest/usr:/usr" /usr
	mount -t overlay overlay -o "ro,lowerdir=$dest/etc:/etc" /etc
	local failed=0
	for conf in /etc/mpbs-run/*.conf; do
		if out=$(/usr/bin/mpbs-run -t "$conf" 2>&1); then
			echo "  ok   mpbs-run -t $conf"
		else
			echo "  FAIL mpbs-run -t $conf: $out"
			failed=1
		fi
	done
	for policy in /usr/share/mpbs-run/policy/*.policy; do
		name=$(basename "$policy" .policy)
		if out=$(/usr/bin/mpbs-run --print-policy "$name" 2>&1) &&
			head -n 1 <<<"$out" | grep -q "seccomp policy $policy,"; then
			echo "  ok   mpbs-run --print-policy $name ($(head -n 1 <<<"$out" | grep -o '[0-9]* rules'))"
		else
			echo "  FAIL mpbs-run --print-policy $name: $(head -n 3 <<<"$out")"
			failed=1
		fi
	done
	# The installed man pages render without a warning, and the installed
	# unit passes systemd-analyze with its real binary and pages in place.
	local page unit
	for page in /usr/share/man/man5/mpbs-*.5 /usr/share/man/man8/mpbs-*.8; do
		if out=$(LC_ALL=C MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) && [ -z "$out" ]; then
			echo "  ok   man --warnings -l $page"
		else
			echo "  FAIL man --warnings -l $page: $out"
			failed=1
		fi
	done
	# (where systemd's pkg-config puts it, /lib/systemd/system on Debian 12,
	# outside the overlaid /usr: read from the scratch tree)
	unit=$(find "$dest" -name 'mpbs-run@.service' -print -quit)
	if [ -z "$unit" ]; then
		echo "  FAIL no mpbs-run@.service installed"
		failed=1
	elif out=$(systemd-analyze verify "$unit" 2>&1) && [ -z "$out" ]; then
		echo "  ok   systemd-analyze verify ${unit#"$dest"}"
	else
		echo "  FAIL systemd-analyze verify ${unit#"$dest"}: $out"
		failed=1
	fi
	# The compiled-in directory is the only one it reads.
	mount -t tmpfs -o ro,size=4k none /usr/share/mpbs-run/policy
	if out=$(/usr/bin/mpbs-run --print-policy "$name" 2>&1); then
		echo "  FAIL with /usr/share/mpbs-run/policy empty, --print-policy $name still printed: $(head -n 1 <<<"$out")"
		failed=1
	else
		echo "  ok   with /usr/share/mpbs-run/policy empty, --print-policy $name fails: $(head -n 1 <<<"$out")"
	fi
	return $failed
}

if [ "$(id -u)" = 0 ]; then
	userns=()
else
	userns=(--user --map-root-user)
fi
echo "check-install: the installed binary at /usr/bin/mpbs-run, the scratch tree over /usr and /etc:"
unshare "${userns[@]}" --mount --propagation private \
	bash -c "$(declare -f inside); inside \"\$1\"" inside "$dest"

$MAKE --no-print-directory uninstall PREFIX=/usr DESTDIR="$dest" >/dev/null
left=$(cd "$dest" && find . -type f)
if [ -n "$left" ]; then
	echo "check-install: make uninstall left: $left" >&2
	exit 1
fi
echo "check-install: ok (make uninstall left no file)"
