#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what mpbs-run needs to build and test, from Debian's packages.
# Idempotent: packages already present are left as they are. With
# arguments, installs those packages instead (contrib/bench/deps.sh).
# As root it runs apt-get itself (a fresh Debian may have no sudo); as
# another user, through sudo.
set -eu
PKGS="${*:-build-essential pkg-config libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev
libsodium-dev nettle-dev libinih-dev libhttp-parser-dev libjansson-dev libsystemd-dev libcriterion-dev
scdoc man-db systemd curl iproute2 clang valgrind python3 python3-cryptography
libnats-dev nats-server libcrypt-dev
debhelper lintian dpkg-dev}"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps.sh: all packages present"
	exit 0
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps.sh: missing:$missing; run this as root (there is no sudo to ask)" >&2
		exit 1
	fi
	SUDO=sudo
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
