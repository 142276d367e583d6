#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what `make bench` needs, from Debian's packages: nginx (the
# `return 204` ceiling), wrk (the load generator, with LuaJIT scripting) and
# gnuplot (the scaling plot), through the project's own idempotent
# installer. The nginx service Debian would start is not used: the bench
# runs its own nginx from a temporary config on its own port.
set -eu
exec sh "$(dirname "$0")/../deps.sh" nginx-light wrk gnuplot-nox e2fsprogs python3
