#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing, and
# says what it fetches (how many packages, how many MB) and when each step
# is done, so a first build is never silent.
# Usage: tests/deps.sh PKG...   (needs root and apt-get when something is missing)
set -euo pipefail
missing=()
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages ${missing[*]} and not root: install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=/tmp/ember-deps.log
start=$SECONDS
# What apt would fetch, with dependencies: one "'URI' FILE SIZE HASH" line each.
plan() { apt-get install -qq --print-uris -y --no-install-recommends "${missing[@]}" 2>>"$log"; }
uris=$(plan) || { apt-get update >>"$log" 2>&1 || true; uris=$(plan) || uris=; }
# (apt lists only what its archive cache lacks)
size=$(awk '/^'"'"'/ { n++; b += $3 }
	END { if (n) printf "downloading %d package%s, %.1f MB", n, n == 1 ? "" : "s", b / 1e6;
	      else printf "nothing to download" }' <<<"$uris")
echo "deps: installing ${missing[*]}: $size (log $log)" >&2
install() { apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }
if ! install; then
	echo "deps: apt-get install failed; apt-get update and once more" >&2
	apt-get update >>"$log" 2>&1 || true
	install || {
		tail -20 "$log" >&2
		exit 1
	}
fi
echo "deps: installed ${missing[*]} in $((SECONDS - start)) s" >&2
