#!/bin/sh
# Installs what `make bench` needs, from Debian's packages: nginx (the
# `return 204` ceiling), wrk (the load generator, with LuaJIT scripting) and
# gnuplot (the scaling plot). Idempotent: packages already present are left
# as they are. The nginx service Debian would start is not used: the bench
# runs its own nginx from a temporary config on its own port.
set -eu
PKGS="nginx-light wrk gnuplot-nox e2fsprogs python3"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "bench/deps.sh: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "bench/deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
