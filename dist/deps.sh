#!/bin/sh
# Installs the Debian 12 packages dmarcwatch needs to build and test,
# skipping what is already there. Used by dist/quickstart.sh and .ci/run.
set -eu
PKGS="meson ninja-build pkg-config gcc libc6-dev python3 sqlite3 time
libxml2-dev libxml2-utils zlib1g-dev libarchive-dev libetpan-dev
libsqlite3-dev libgnutls28-dev libjansson-dev libinih-dev
clang libclang-rt-14-dev
dovecot-imapd openssl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo"
	echo "installing:$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
