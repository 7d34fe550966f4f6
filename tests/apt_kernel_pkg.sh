# Sourced by tests/integration/runner/run-in-kvm.sh and
# tests/guest/debian/build.sh: which Debian kernel package to unpack.
#
# apt_kernel_pkg META OVERRIDE CACHE prints "package version" for the
# linux-image package that metapackage META depends on (or for OVERRIDE when
# it is set). apt-cache takes about 1 s here (no pkgcache.bin), so the answer
# is remembered in CACHE for as long as apt's lists and sources do not
# change. When apt cannot answer, it calls the sourcing script's apt_update
# once and asks again. Returns 1 if it still cannot.
apt_kernel_pkg() {
	local meta=$1 override=$2 cache=$3 stamp c_stamp c_pkg c_ver pkg ver try
	stamp=$({
		echo "$override"
		stat -c '%n %Y %s' /var/lib/apt/lists/* /etc/apt/sources.list \
			/etc/apt/sources.list.d/* /etc/apt/preferences /etc/apt/preferences.d/* || true
	} 2>/dev/null | sha256sum | cut -c1-16)
	if [[ -f $cache ]] && read -r c_stamp c_pkg c_ver <"$cache" &&
		[[ $c_stamp == "$stamp" && -n $c_ver ]]; then
		echo "$c_pkg $c_ver"
		return 0
	fi
	for try in 1 2; do
		pkg=$override ver=
		if [[ -z $pkg ]]; then
			# "Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)"
			read -r pkg ver < <(apt-cache show --no-all-versions "$meta" 2>/dev/null |
				sed -n 's/^Depends:.*\(linux-image-[^ ,]*\) *(= *\([^) ]*\)).*/\1 \2/p' |
				head -n 1) || true
		fi
		[[ -n $pkg && -z $ver ]] && ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
			awk '$1 == "Version:" { print $2; exit }')
		if [[ -n $pkg && -n $ver ]]; then
			echo "$stamp $pkg $ver" >"$cache"
			echo "$pkg $ver"
			return 0
		fi
		((try == 1)) && apt_update
	done
	return 1
}

# apt_pkg_size PKG VERSION prints the .deb's download size ("71.2 MB"), or
# "size unknown", for the line that says a download starts.
apt_pkg_size() {
	apt-cache show "$1=$2" 2>/dev/null |
		awk '/^Size:/ { printf "%.1f MB", $2 / 1e6; found = 1; exit } END { if (!found) printf "size unknown" }'
}
