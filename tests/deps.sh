#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing.
# Usage: tests/deps.sh PKG...   (needs root and apt-get when something is missing)
set -euo pipefail
missing=()
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages ${missing[*]} and not root: install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/ember-deps.log 2>&1; then
	apt-get update >>/tmp/ember-deps.log 2>&1
	apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/ember-deps.log 2>&1 || {
		tail -20 /tmp/ember-deps.log >&2
		exit 1
	}
fi
