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
# The HTML pages are checked in headless Chromium (tests/html), driven by
# node: skip these with DW_NO_BROWSER=1 (that test then reports itself
# skipped). A node/npm already on the PATH (e.g. from nodesource) is used
# as it is: Debian's npm conflicts with it.
BROWSER_PKGS=""
if [ "${DW_NO_BROWSER:-0}" != 1 ]; then
	BROWSER_PKGS="chromium"
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
		BROWSER_PKGS="$BROWSER_PKGS nodejs npm"
fi
missing_of() {
	m=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "ok installed" || m="$m $p"
	done
	echo "$m"
}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
# shellcheck disable=SC2086
missing=$(missing_of $PKGS)
# shellcheck disable=SC2086
browser_missing=$(missing_of $BROWSER_PKGS)
if [ -n "$missing$browser_missing" ]; then
	$SUDO apt-get update -qq || true
fi
if [ -n "$missing" ]; then
	echo "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
# Best effort: without a browser only the browser test skips (it says so).
if [ -n "$browser_missing" ]; then
	echo "installing:$browser_missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	    $browser_missing || echo "could not install$browser_missing:" \
	    "the browser test will be skipped"
fi
# The hints tests check the Postfix export with Postfix's own postmap and
# postconf. Installing Postfix would start an MTA (and ask debconf
# questions); its package is only downloaded into .cache/deb instead, and
# the test runs the binaries from it (dpkg -x into a temporary
# directory). Best effort: without it the test tries apt-get download
# itself, and says so when it cannot.
HERE_PF=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v postmap >/dev/null 2>&1 && [ ! -x /usr/sbin/postmap ] &&
    ! ls "$HERE_PF"/.cache/deb/postfix_*.deb >/dev/null 2>&1; then
	mkdir -p "$HERE_PF/.cache/deb"
	(cd "$HERE_PF/.cache/deb" && apt-get download -qq postfix) ||
		echo "could not download the postfix package: the Postfix" \
		    "checks of the hints test will try again or skip"
fi
# puppeteer-core for the browser test, exactly as locked in
# tests/html/package-lock.json (node_modules is not committed).
if [ "${DW_NO_BROWSER:-0}" != 1 ] && command -v npm >/dev/null 2>&1; then
	HERE=$(cd "$(dirname "$0")/.." && pwd)
	[ -d "$HERE/tests/html/node_modules/puppeteer-core" ] ||
		npm ci --prefix "$HERE/tests/html" --no-audit --no-fund ||
		echo "npm ci failed: the browser test will be skipped"
fi
