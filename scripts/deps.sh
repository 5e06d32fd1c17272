#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages Facet needs to build and test, when missing.
# Run by `make`; `scripts/deps.sh bench` adds the reference emulators and
# `scripts/deps.sh fuzz` the fuzzing toolchain.
set -e
need="libzydis-dev clang" # clang: the guests are also built with it (guest/guest.mk)
case "$1" in
bench) need="$need qemu-system-x86 bochs bochsbios vgabios bochs-term" ;;
fuzz) need="$need clang libclang-rt-14-dev" ;;
esac
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps.sh: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends $missing >/dev/null; then
	$SUDO apt-get update >/dev/null
	$SUDO apt-get install -y --no-install-recommends $missing >/dev/null
fi
