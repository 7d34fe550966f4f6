#!/usr/bin/env bash
# Boot benchmark (issue 3, point 8): Debian's cloud kernel and the agent
# initramfs booted to the agent's /init, under ember (bzImage and PVH) and
# under QEMU -M microvm with KVM (same two kernels), alternating, RUNS
# rounds. Per boot: exec -> "init-started" on the console (wall time), the
# agent's own CLOCK_BOOTTIME at /init (guest time), and the VMM's peak RSS.
# For ember also RSS net of guest RAM touched and VM exits by reason.
# Prints one table of medians with the ember/QEMU ratio.
#
# Needs real KVM: run it through tests/integration/runner/run-in-kvm.sh
# (tests/bench/run.sh does). usage: linux_boot.sh BUILD [RUNS]
set -uo pipefail
build=${1:-build}
runs=${2:-5}
img=$build/debian
boot=$build/bench/boot
tmp=$(mktemp -d /tmp/ember-bench.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
mem=256
cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd ember.scenario=poweroff"
marker="init-started"

# Sets CMD to the command line of a config.
command_for() {
	local kernel=bzImage
	[[ $1 == *-pvh ]] && kernel=vmlinux
	case $1 in
	ember-*)
		CMD=("$build/ember" --kernel "$img/$kernel" --initrd "$img/initramfs.cpio" --mem "$mem"
			--vcpus 1 --print-exit-stats --cmdline "$cmdline") ;;
	# QEMU's fastest microvm set-up for a direct kernel boot: no option
	# ROMs, no default devices, in-kernel irqchip and PIT, RTC on (as
	# ember has).
	qemu-*)
		CMD=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel kvm -cpu host
			-m "$mem" -smp 1 -nodefaults -no-user-config -display none -no-reboot
			-serial stdio -kernel "$img/$kernel" -initrd "$img/initramfs.cpio" -append "$cmdline") ;;
	esac
}
configs=("ember-bzImage" "ember-pvh" "qemu-bzImage" "qemu-pvh")

for r in $(seq 1 "$runs"); do
	for c in "${configs[@]}"; do
		command_for "$c"
		BOOT_LOG=$tmp/$c.$r.log "$boot" "$c" "$marker" 120 "${CMD[@]}" >"$tmp/$c.$r.res"
		res=$(<"$tmp/$c.$r.res")
		log=$(tr -d '\r' <"$tmp/$c.$r.log")
		guest_s=$(sed -nE "s/^EMBER-AGENT ([0-9.]+) $marker.*/\1/p" <<<"$log" | head -1)
		exits=$(sed -nE 's/^ember: vm exits: (.*)/\1/p' <<<"$log" | tr ' ' ',')
		sed -nE 's/^ember: vm exits by site: (.*)/\1/p' <<<"$log" >"$tmp/$c.$r.sites"
		echo "$res guest_s=${guest_s:--1} exits=${exits:-none} round=$r" | tee -a "$tmp/all"
	done
done

# Medians per config of: ms, guest_s, maxrss_kib, maxrss-guest_kib.
awk '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{
	c = $2; cfg[c] = 1
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	if (v["ms"] < 0 || v["rc"] != 0) { bad[c]++; next }
	k = ++n[c]
	ms[c, k] = v["ms"]; gs[c, k] = v["guest_s"]; rss[c, k] = v["maxrss_kib"]
	net[c, k] = v["guest_kib"] >= 0 ? v["maxrss_kib"] - v["guest_kib"] : -1
}
END {
	printf "%-14s %5s %12s %12s %12s %14s\n", "config", "boots", "to-init ms", "guest s", "peak RSS KiB", "RSS-guest KiB"
	split("ember-bzImage ember-pvh qemu-bzImage qemu-pvh", order, " ")
	for (o = 1; o <= 4; o++) {
		c = order[o]; m = n[c]
		if (!m) { printf "%-14s %5d  (no successful boot, %d failed)\n", c, 0, bad[c]; continue }
		for (k = 1; k <= m; k++) { a1[k] = ms[c, k]; a2[k] = gs[c, k]; a3[k] = rss[c, k]; a4[k] = net[c, k] }
		med_ms[c] = median(a1, m); med_rss[c] = median(a3, m)
		printf "%-14s %5d %12.0f %12.3f %12.0f %14s\n", c, m, med_ms[c], median(a2, m), med_rss[c],
			c ~ /^ember/ ? sprintf("%.0f", median(a4, m)) : "n/a"
	}
	for (o = 1; o <= 2; o++) {
		e = order[o]; q = order[o + 2]
		if (med_ms[e] > 0 && med_ms[q] > 0)
			printf "ratio %s/%s: to-init %.2f, peak RSS %.2f\n", e, q, med_ms[e] / med_ms[q], med_rss[e] / med_rss[q]
	}
}' "$tmp/all"
echo "ember VM exits during one boot (the last round), by reason and by site:"
for c in ember-bzImage ember-pvh; do
	sed -nE "s/^boot $c .* exits=([^ ]*) round=$runs\$/\1/p" "$tmp/all" | sed "s/^/  $c: /; s/,/ /g"
	sed "s/^/  $c: /" "$tmp/$c.$runs.sites"
done
bad=$(grep -cv ' rc=0 ' "$tmp/all")
echo "boots: $(wc -l <"$tmp/all") total, $bad failed"
[ "$bad" = 0 ]
