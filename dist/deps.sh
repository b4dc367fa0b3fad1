#!/bin/sh
# Installs the Debian 12 packages dmarcwatch needs to build and test,
# skipping what is already there. Used by dist/quickstart.sh and .ci/run.
set -eu
PKGS="meson ninja-build pkg-config gcc libc6-dev python3 sqlite3 time
libxml2-dev libxml2-utils zlib1g-dev libarchive-dev libetpan-dev
libsqlite3-dev libgnutls28-dev libjansson-dev libinih-dev
clang libclang-rt-14-dev
dovecot-imapd openssl
mandoc groff-base man-db systemd"
# The HTML pages are checked in headless Chromium (tests/html): skip these
# with DW_NO_BROWSER=1 (that test then reports itself skipped).
[ "${DW_NO_BROWSER:-0}" = 1 ] || PKGS="$PKGS chromium nodejs npm"
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
# puppeteer-core for the browser test, exactly as locked in
# tests/html/package-lock.json (node_modules is not committed).
if [ "${DW_NO_BROWSER:-0}" != 1 ] && command -v npm >/dev/null 2>&1; then
	HERE=$(cd "$(dirname "$0")/.." && pwd)
	[ -d "$HERE/tests/html/node_modules/puppeteer-core" ] ||
		npm ci --prefix "$HERE/tests/html" --no-audit --no-fund ||
		echo "npm ci failed: the browser test will be skipped"
fi
