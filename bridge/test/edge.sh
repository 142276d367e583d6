#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Edge cases of mpbs-bridge's lanes against a single local nats-server -js
# (port 15423 unless PORT says, never 4222): an oversize channel message,
# a stream message deleted from the middle, a gap longer than the
# consumer's max ack pending, filled from the stream (bridge/test/edge.c
# says how). Usage, from the
# top of the tree after `make build/mpbs-bridge`: bridge/test/edge.sh
set -euo pipefail
PORT=${PORT:-15423}
TOP=$(pwd)
BIN=${BIN:-$TOP/build/mpbs-bridge}
WORK=$(mktemp -d /tmp/mpbs-bridge-edge.XXXXXX)
SERVER_PID=
cleanup() {
	# the server ends by this SIGTERM: its status is not the script's
	if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

cc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -o "$WORK/edge" "$TOP/bridge/test/edge.c" \
	$(pkg-config --cflags --libs libseccomp libnats)

. "$TOP/bridge/test/server_conf.sh"
write_server_conf art edge
nats-server -c "$WORK/server.conf" -l "$WORK/server.log" &
SERVER_PID=$!
sleep 1
"$BIN" --init --server "nats://127.0.0.1:$PORT" --user admin --password-file "$WORK/admin.pw" \
	--replicas 1 --max-bytes 67108864 --stream art:edge

mkdir -p "$WORK/logs"
rc=0
"$WORK/edge" "$BIN" "nats://127.0.0.1:$PORT" "$WORK/bridge.pw" adminpw "$WORK/logs" || rc=$?
for f in "$WORK"/logs/*.log; do echo "== $(basename "$f")"; cat "$f"; done
# each case leaves its line: two drops, one run of missing messages, and
# the long gap's 1,099 messages read from the stream
count() { grep -c -- "$2" "$WORK/logs/$1.log" || true; }
[ "$(count bridge-out 'larger than --batch-bytes 4096 allows (4092); dropped')" = 2 ] || { echo "FAIL: drops"; rc=1; }
[ "$(count bridge-in 'are missing (deleted from the middle')" = 1 ] || { echo "FAIL: missing"; rc=1; }
[ "$(count bridge-in ' 1099 filled from the stream')" = 1 ] || { echo "FAIL: long gap"; rc=1; }
[ $rc = 0 ] && echo "edge cases: all as expected"
exit $rc
