#!/usr/bin/env bash
# Network benchmark: TCP throughput between the host and Debian's cloud
# kernel over virtio-net on a TAP, under ember (--net tap=NAME) and under
# QEMU -M microvm (virtio-net-device on the virtio-mmio transport, the same
# TAP, vhost=off), alternating, BENCH_ROUNDS rounds (3).
#
# The guest boots the test initramfs with build/debian/iperf3.cpio appended
# (Debian's iperf3 and its libraries) and runs the agent's net-iperf
# scenario (`iperf3 -s`); the host runs Debian's iperf3 as the client
# inside a network namespace the script creates, where the TAP and its
# address (10.210.0.1/24; the guest is 10.210.0.2 through ip= on its
# command line) live: nothing touches the machine's own network. Per boot:
# host -> guest (`iperf3 -c`) and guest -> host (`iperf3 -c -R`), one TCP
# stream, BENCH_NET_SECS seconds each (10; 5 s runs swung from 2 to 82 Mbit/s guest to host), the receiver's rate. 1 vCPU,
# 256 MiB. Prints one line per boot, medians per VMM and the ember/QEMU
# ratio (above 1: ember faster). Numbers, never pass/fail on speed.
# BENCH_NET_VMMS ("ember qemu") picks the VMMs (qemu alone checks the script).
#
# Needs real KVM and root: run it through tests/integration/runner/run-in-kvm.sh
# (tests/bench/run_net.sh does). usage: net_guest.sh BUILD
set -uo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=${1:-build}
rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_NET_SECS:-10}
vmms=${BENCH_NET_VMMS:-ember qemu}
img=$build/debian
PATH=$PATH:/usr/sbin:/sbin
ns=ember-netbench-$$
tap="tap-bench0"
host_ip=10.210.0.1 guest_ip=10.210.0.2 mac=52:54:00:aa:bb:01
tmp=$(mktemp -d /tmp/ember-netbench.XXXXXX) || exit 1
vm_pid=
cleanup() {
	[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null && wait "$vm_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

for f in "$img/bzImage" "$img/initramfs.cpio" "$img/iperf3.cpio"; do
	[ -f "$f" ] || { echo "net-bench: missing $f (make debian-image)"; exit 1; }
done
command -v iperf3 >/dev/null || { echo "net-bench: iperf3 missing on the host (tests/deps.sh iperf3)"; exit 1; }
# The help is read whole first: with pipefail, grep -q leaving early would
# fail the pipe on ember's SIGPIPE.
if [[ " $vmms " == *" ember "* ]] && [[ "$("$build/ember" --help 2>&1)" != *--net* ]]; then
	echo "net-bench: $build/ember has no --net option"; exit 1
fi
[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
[ -c /dev/net/tun ] || { echo "net-bench: /dev/net/tun missing"; exit 1; }
initrd=$tmp/initramfs-iperf3.cpio
cat "$img/initramfs.cpio" "$img/iperf3.cpio" >"$initrd" || exit 1

in_ns() { ip netns exec "$ns" "$@"; }
ip netns add "$ns" || exit 1
in_ns ip link set lo up
in_ns ip tuntap add dev $tap mode tap vnet_hdr || exit 1
in_ns ip addr add $host_ip/24 dev $tap || exit 1
in_ns ip link set $tap up || exit 1

cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
cmdline+=" ip=$guest_ip::$host_ip:255.255.255.0::eth0:off ember.scenario=net-iperf ember.net_timeout=600"

echo "net-bench: $rounds rounds, iperf3 $(iperf3 --version | head -1 | cut -d' ' -f2), 1 TCP stream, ${secs} s per direction, TAP in a netns, 1 vCPU, 256 MiB"
echo "net-bench: ember $("$build/ember" --version 2>&1 | head -1); $(qemu-system-x86_64 --version | head -1), virtio-net-device, vhost=off"

# Sets CMD to the command line of a VMM.
command_for() {
	case $1 in
	ember)
		CMD=("$build/ember" --kernel "$img/bzImage" --initrd "$initrd" --mem 256
			--vcpus 1 --print-exit-stats --cmdline "$cmdline" --net "tap=$tap,mac=$mac") ;;
	qemu)
		# shellcheck disable=SC2054 # QEMU's option values have commas
		CMD=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel kvm -cpu host
			-m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot
			-serial stdio -kernel "$img/bzImage" -initrd "$initrd" -append "$cmdline"
			-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
			-device "virtio-net-device,netdev=n0,mac=$mac") ;;
	esac
}

# wait_marker LOG EVENT SECONDS
wait_marker() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		tr -d '\r' <"$1" | grep -qE "^EMBER-AGENT [0-9.]+ $2( |$)" && return 0
		kill -0 "$vm_pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# iperf_mbps [-R]: the receiver's rate in Mbit/s (10^6 bit/s), or empty.
iperf_mbps() {
	in_ns timeout $((secs + 30)) iperf3 -c $guest_ip -t "$secs" -J "$@" 2>/dev/null |
		python3 -c 'import json, sys
try:
    print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    pass'
}

printf '%-5s %-6s %14s %14s\n' round vmm host-to-guest guest-to-host
printf '%-5s %-6s %14s %14s\n' "" "" "Mbit/s" "Mbit/s"
for r in $(seq 1 "$rounds"); do
	for v in $vmms; do
		command_for "$v"
		log=$tmp/$v.$r.log
		: >"$log"
		in_ns timeout -k 5 600 "${CMD[@]}" </dev/null >"$log" 2>&1 &
		vm_pid=$!
		up='' down='' rc=''
		if wait_marker "$log" iperf-ready 180; then
			up=$(iperf_mbps)
			down=$(iperf_mbps -R)
			in_ns timeout 5 bash -c ': >"/dev/tcp/$1/5003"' _ $guest_ip 2>/dev/null
		fi
		end=$((SECONDS + 60))
		while kill -0 "$vm_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
		kill "$vm_pid" 2>/dev/null
		wait "$vm_pid"
		rc=$?
		vm_pid=
		tr -d '\r' <"$log" >"$log.lf" && mv "$log.lf" "$log"
		ok=1
		[[ $rc == 0 && -n $up && -n $down ]] || ok=0
		printf '%-5s %-6s %14s %14s%s\n' "$r" $v "${up:--}" "${down:--}" "$( ((ok)) || echo "   FAILED (exit $rc)")"
		if ((ok)); then
			echo "$v $up $down" >>"$tmp/all"
		else
			grep -vE '^\s*$' "$log" | tail -15 | sed 's/^/    | /'
		fi
		cp "$log" "${EMBER_RUNNER_OUT:-$tmp}/netbench-$v-$r.console.log" 2>/dev/null
	done
done

bench_medians "$tmp/all" "$rounds" 1 qemu "host-to-guest Mbit/s|guest-to-host Mbit/s" || exit 1
bench_tail "$tmp" "$rounds" "$(wc -w <<<"$vmms")"
