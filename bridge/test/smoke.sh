#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of mpbs-bridge against a single local nats-server -js
# (a loopback port in 15000-15999, never 4222): --init, then two bridges
# through the harness, 10,000 messages, a SIGKILL of each bridge and one
# of the server in the middle. Usage: bridge/test/smoke.sh [art|sig] [N]
# from the top of the tree, after `make build/mpbs-bridge`.
set -euo pipefail
KIND=${1:-art}
N=${2:-10000}
WINDOW=${WINDOW:-32}
PORT=${PORT:-15422}
TOP=$(pwd)
BIN=${BIN:-$TOP/build/mpbs-bridge}
WORK=$(mktemp -d /tmp/mpbs-bridge-smoke.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -f "$WORK/server.pid" ] && kill "$(cat "$WORK/server.pid")" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

cc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -o "$WORK/harness" "$TOP/bridge/test/harness.c" \
	$(pkg-config --cflags --libs libseccomp)

. "$TOP/bridge/test/server_conf.sh"
write_server_conf $KIND smoke

start_server() {
	nats-server -c "$WORK/server.conf" -l "$WORK/server.log" &
	echo $! > "$WORK/server.pid"
}
start_server
SERVER_PID=$(cat "$WORK/server.pid")
sleep 1

"$BIN" --init --server "nats://127.0.0.1:$PORT" --user admin --password-file "$WORK/admin.pw" \
	--replicas 1 --max-bytes 67108864 --stream "$KIND:smoke"
echo "init again (idempotent):"
"$BIN" --init --server "nats://127.0.0.1:$PORT" --user admin --password-file "$WORK/admin.pw" \
	--replicas 1 --max-bytes 67108864 --stream "$KIND:smoke"

# the harness calls this in the middle: SIGKILL of the server, restart
cat > "$WORK/bounce.sh" <<BOUNCE
#!/bin/bash
kill -9 \$(cat "$WORK/server.pid")
sleep 1
nats-server -c "$WORK/server.conf" -l "$WORK/server.log" >/dev/null 2>&1 &
echo \$! > "$WORK/server.pid"
BOUNCE
chmod +x "$WORK/bounce.sh"
SERVER_PID=
mkdir -p "$WORK/logs"
rc=0
SERVER_BOUNCE=$([ -n "${NO_BOUNCE:-}" ] || echo "$WORK/bounce.sh") \
	${STRACE:+strace -f -o "$STRACE" -qq} "$WORK/harness" "$BIN" "$KIND" "$WINDOW" "$N" \
	"nats://127.0.0.1:$PORT" "$WORK/bridge.pw" "$WORK/logs" || rc=$?
for f in "$WORK"/logs/*.log; do echo "== $(basename "$f")"; cat "$f"; done
exit $rc
