#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Test handler (tests/e2e/test_authority.c), run inside a provider's sandbox.
# The body's first word says what to do:
#   probe OTHER_KEY HOST_DIR  record what this sandbox lets the handler see
#                             into /state/out-$MPBS_OPERATION_ID
#   size                      record the body's length (in bytes)
#   secrets                   record whether it can read its provider's keys,
#                             policy and memory into /state/out-$MPBS_OPERATION_ID
#   sleep SECONDS             outlive action_timeout
#   net PORT                  try a TCP connection to 127.0.0.1:PORT
body=$(cat)
set -- $body
case $1 in
probe)
	out=/state/out-$MPBS_OPERATION_ID
	{
		printf 'body: %s\n' "$body"
		printf 'uid: %s\n' "$(id -u 2>&1)"
		# shell builtins only: no tool of its own may fail in its place
		if ifaces=$( (while IFS=: read -r name rest; do
			case $rest in *[0-9]*) printf '%s ' $name ;; esac
		done </proc/net/dev) 2>/dev/null); then
			printf 'ifaces: %s\n' "$ifaces"
		else
			echo 'ifaces: unreadable'
		fi
		if cat "$2" >/dev/null 2>&1; then echo 'other key: read'; else echo 'other key: refused'; fi
		if cat /etc/passwd >/dev/null 2>&1; then echo 'passwd: read'; else echo 'passwd: refused'; fi
		if (: >"$3/escaped") 2>/dev/null; then echo 'host write: done'; else echo 'host write: refused'; fi
		echo 'end'
	} >"$out"
	;;
size)
	printf 'length: %s\n' "${#body}" >/state/out-$MPBS_OPERATION_ID
	;;
secrets)
	# what its provider holds: its keys, its policy, its memory
	out=/state/out-$MPBS_OPERATION_ID
	{
		for f in /keys/signal.key /keys/token.key; do
			if cat "$f" >/dev/null 2>&1; then echo "${f#/keys/}: read"; else echo "${f#/keys/}: refused"; fi
		done
		# a glob lists the directory with the shell's own getdents64
		listed=$(for f in /keys/*; do [ -e "$f" ] && printf '%s ' "$f"; done)
		if [ -n "$listed" ]; then echo 'keys dir: read'; else echo 'keys dir: refused'; fi
		if cat "/policy/$MPBS_PROVIDER.policy" >/dev/null 2>&1; then echo 'policy: read'; else echo 'policy: refused'; fi
		if cat /proc/1/mem >/dev/null 2>&1; then echo 'provider mem: read'; else echo 'provider mem: refused'; fi
		if cat /etc/ld.so.cache >/dev/null 2>&1; then echo 'ld.so.cache: read'; else echo 'ld.so.cache: refused'; fi
		echo 'end'
	} >"$out"
	;;
sleep)
	sleep "$2"
	;;
net)
	exec /usr/bin/python3 -c '
import socket, sys
print("connecting", flush=True)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
' "$2"
	;;
*)
	exit 3
	;;
esac
