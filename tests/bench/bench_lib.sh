# Shared by the in-guest benchmarks (blk_guest.sh, net_guest.sh,
# vsock_guest.sh): each appends one line "VMM value1 value2 ..." per
# successful round to a file, then prints the same summary.

# bench_medians FILE ROUNDS DIGITS PEER_LABEL "metric 1|metric 2|..." [NOTE]:
# per metric, the median of each VMM (ember, qemu) and ember/qemu.
bench_medians() {
	local file=$1 rounds=$2 digits=$3 peer=$4 names=$5 note=${6:-}
	echo "medians:"
	[[ -f $file ]] || { echo "  no successful run"; return 1; }
	awk -v names="$names" -v digits="$digits" -v peer="$peer" -v rounds="$rounds" -v note="$note" '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	function show(x) { return x < 0 ? "-" : sprintf("%." digits "f", x) }
	BEGIN {
		nm = split(names, name, "|")
		w = 6
		for (m = 1; m <= nm; m++) if (length(name[m]) > w) w = length(name[m])
		fmt = "  %-" w "s %12s %12s %14s\n"
	}
	{ k = ++n[$1]; for (m = 1; m <= nm; m++) v[$1, m, k] = $(m + 1) }
	END {
		printf fmt, "metric", "ember", peer, "ember/qemu"
		for (m = 1; m <= nm; m++) {
			for (i = 1; i <= 2; i++) {
				vm = i == 1 ? "ember" : "qemu"; med[vm] = -1
				if (!n[vm]) continue
				for (k = 1; k <= n[vm]; k++) a[k] = v[vm, m, k]
				med[vm] = median(a, n[vm])
			}
			# (parenthesised: a bare ">" in print arguments is a redirection)
			printf(fmt, name[m], show(med["ember"]), show(med["qemu"]),
				(med["ember"] > 0 && med["qemu"] > 0) ? sprintf("%.2f", med["ember"] / med["qemu"]) : "-")
		}
		printf "  (runs: ember %d, qemu %d of %d each%s)\n", n["ember"], n["qemu"], rounds, note
	}' "$file"
}

# bench_tail DIR ROUNDS NR_VMMS: ember's VM exits in its last round (from
# DIR/ember.ROUNDS.log), then the boot count; fails if a boot failed.
bench_tail() {
	local dir=$1 rounds=$2 nv=$3 last=$1/ember.$2.log bad
	if [[ -f $last ]]; then
		echo "ember VM exits during the last round:"
		sed -nE 's/^ember: (vm exits.*)/  \1/p' "$last"
	fi
	bad=$((nv * rounds - $(wc -l <"$dir/all" 2>/dev/null || echo 0)))
	echo "boots: $((nv * rounds)) total, $bad failed"
	[ "$bad" = 0 ]
}
