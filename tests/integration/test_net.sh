#!/usr/bin/env bash
# virtio-net over a TAP, seen from inside Debian's cloud kernel (bzImage,
# 1 vCPU, 256 MiB, the test agent of build/debian/initramfs.cpio with its
# `net` scenario). Everything happens in a network namespace the test
# creates (ember-net-<pid>), with TAP devices made there by `ip tuntap` and
# the host ends' addresses only inside it; the VMM runs in it too
# (`ip netns exec`), so nothing touches the machine's own network.
#
# Two boots, the same checks on each:
#   tap   --net tap=NAME,mac=MAC and ip=<guest>::<gw>:<netmask>::eth0:off
#         written on the command line by the test (10.200.0.0/24)
#   id    --net id=VMID,subnet=10.201.0.0/24: ember derives the TAP name
#         ("tap-" + 8 hex of FNV-1a-64(VMID)), the MAC and the guest IP and
#         appends ip= itself; the test computes the same values and checks
#         the guest got them (under QEMU the test passes them itself)
# Checks per boot:
#   ipconfig   the agent (/init) applied ip=: eth0, driver virtio_net,
#              carrier up, the expected address, netmask, gateway and MAC
#   guest-ping the guest pings the host end (the gateway): 3 of 3 replies
#   host-ping  the host pings the guest: 3 of 3 replies
#   tcp-in     NET_MIB MiB (64) of random bytes host -> guest (port 5001):
#              byte count and sha256 equal on both ends
#   tcp-out    NET_MIB MiB guest -> host (port 5002): same
#   shutdown   the guest powers off, the VMM exits 0
# Prints "net: N passed, N failed".
#
# usage: test_net.sh BUILD     (needs real KVM and root: run it through the runner)
# Env:   NET_VMM=ember|qemu    the VMM under test (ember); qemu boots the same
#                              guest under QEMU -M microvm with
#                              virtio-net-device on the same TAP, to check the
#                              guest side and this script
#        NET_QEMU_ACCEL=kvm    QEMU's accelerator (tcg works, slowly)
#        NET_MIB=64            size of each TCP transfer
#        NET_TESTS="tap id"    which boots
#        EMBER_NET_TIMEOUT=240 seconds per boot
set -u
build=${1:-build}
img=$build/debian
vmm=${NET_VMM:-ember}
mib=${NET_MIB:-64}
timeout_s=${EMBER_NET_TIMEOUT:-240}
PATH=$PATH:/usr/sbin:/sbin
passed=0 failed=0
base="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
ns=ember-net-$$
tmp=$(mktemp -d /tmp/ember-net.XXXXXX) || exit 1
vm_pid=
cleanup() {
	[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null && wait "$vm_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

bail() { echo "net: $1"; echo "net: 0 passed, 1 failed"; exit 1; }
for f in "$img/bzImage" "$img/initramfs.cpio"; do
	[ -f "$f" ] || bail "missing $f (make debian-image)"
done
[ "$(id -u)" = 0 ] || bail "needs root (network namespaces and TAP devices)"
command -v ip >/dev/null || bail "ip missing (iproute2)"
command -v python3 >/dev/null || bail "python3 missing (FNV-1a-64 of the VM id)"
case $vmm in
ember)
	"$build/ember" --help 2>&1 | grep -q -- '--net' || bail "$build/ember has no --net option yet" ;;
qemu) command -v qemu-system-x86_64 >/dev/null || bail "qemu-system-x86_64 missing" ;;
*) echo "net: NET_VMM must be ember or qemu"; exit 2 ;;
esac
# busybox's ping: Debian's iputils-ping is not always installed.
PING=(ping)
command -v ping >/dev/null || PING=(busybox ping)
[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
[ -c /dev/net/tun ] || bail "/dev/net/tun missing (tun module)"

fail() {
	echo "  FAIL $1: $2"
	if [ -f "$tmp/out" ]; then
		tr -d '\r' <"$tmp/out" | grep -vE '^\s*$' | tail -20 | sed 's/^/    | /'
	fi
	failed=$((failed + 1))
}
pass() {
	echo "  PASS $1${2:+ ($2)}"
	passed=$((passed + 1))
}
# The detail of the agent's marker line "EMBER-AGENT <t> EVENT DETAIL".
agent() { tr -d '\r' <"$tmp/out" | sed -nE "s/^EMBER-AGENT [0-9.]+ $1 ?//p" | head -1; }
# field KEY DETAIL: the value of KEY=VALUE in a marker's detail.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }
# wait_marker EVENT SECONDS: until the agent prints EVENT, the VMM ends or
# time runs out.
wait_marker() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		tr -d '\r' <"$tmp/out" | grep -qE "^EMBER-AGENT [0-9.]+ $1( |$)" && return 0
		kill -0 "$vm_pid" 2>/dev/null || { tr -d '\r' <"$tmp/out" | grep -qE "^EMBER-AGENT [0-9.]+ $1( |$)"; return; }
		sleep 0.2
	done
	return 1
}
in_ns() { ip netns exec "$ns" "$@"; }

# What ember's net_alloc derives from a VM id (vmm/net_alloc.c): the TAP
# name, the MAC and the guest address in a subnet. Prints "TAP MAC IP GW MASK".
derive() { # VMID CIDR
	python3 - "$1" "$2" <<'EOF'
import ipaddress, sys
h = 0xcbf29ce484222325
for b in sys.argv[1].encode():
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
net = ipaddress.ip_network(sys.argv[2])
mac = [(h >> (56 - 8 * i)) & 0xff for i in range(6)]
mac[0] = (mac[0] | 0x02) & ~0x01 & 0xff
hosts = net.num_addresses - 3
guest = ipaddress.ip_address(int(net.network_address) + 2 + h % hosts)
gw = ipaddress.ip_address(int(net.network_address) + 1)
print("tap-%08x" % (h >> 32), ":".join("%02x" % b for b in mac), guest, gw, net.netmask)
EOF
}

ip netns add "$ns" || bail "ip netns add $ns failed"
in_ns ip link set lo up

# add_tap NAME GW/PREFIX: a TAP in the namespace with the host end's address.
add_tap() {
	in_ns ip tuntap add dev "$1" mode tap vnet_hdr || return 1
	in_ns ip addr add "$2" dev "$1" || return 1
	in_ns ip link set "$1" up
}

# start_vm TAP MAC CMDLINE_EXTRA [ember --net value]: the VMM in the
# namespace, in the background; the console goes to $tmp/out.
start_vm() {
	local tap=$1 mac=$2 extra=$3 netarg=${4:-} cmd
	local cmdline="$base$extra"
	if [ "$vmm" = ember ]; then
		cmd=("$build/ember" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" --mem 256
			--vcpus 1 --log-level Info --cmdline "$cmdline" --net "${netarg:-tap=$tap,mac=$mac}")
	else
		# shellcheck disable=SC2054 # QEMU's option values have commas
		cmd=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel "${NET_QEMU_ACCEL:-kvm}"
			-cpu "$([ "${NET_QEMU_ACCEL:-kvm}" = kvm ] && echo host || echo max)"
			-m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot -serial stdio
			-kernel "$img/bzImage" -initrd "$img/initramfs.cpio" -append "$cmdline"
			-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
			-device "virtio-net-device,netdev=n0,mac=$mac")
	fi
	: >"$tmp/out"
	echo "$cmdline" >"$tmp/cmdline"
	in_ns timeout -k 5 "$timeout_s" "${cmd[@]}" </dev/null >"$tmp/out" 2>&1 &
	vm_pid=$!
}

# run_boot LABEL TAP MAC GUEST GW MASK EXTRA [NETARG]: one boot and its checks.
run_boot() {
	local label=$1 tap=$2 mac=$3 guest=$4 gw=$5 mask=$6 extra=$7 netarg=${8:-}
	local got want n rc sha bytes t0 t1
	start_vm "$tap" "$mac" " ember.scenario=net ember.net_mib=$mib$extra" "$netarg"

	# ipconfig
	if ! wait_marker 'ip-config(-failed|-skipped)?' 120; then
		fail "$label/ipconfig" "no ip-config marker (boot failed or too slow)"
		finish_vm "$label"; return
	fi
	got=$(agent ip-config)
	want="dev=eth0 addr=$guest netmask=$mask gw=$gw mac=$mac driver=virtio_net carrier=1"
	if [ "$got" = "$want" ]; then
		pass "$label/ipconfig" "$got"
	else
		fail "$label/ipconfig" "got [$got$(agent ip-config-failed)$(agent ip-config-skipped)], want [$want]"
	fi

	# guest-ping (the agent pings the gateway before it listens)
	if ! wait_marker net-ready 60; then
		fail "$label/guest-ping" "the agent never got to net-ready"
		finish_vm "$label"; return
	fi
	got=$(agent net-ping)
	if [ "$(field target "$got") $(field sent "$got") $(field received "$got")" = "$gw 3 3" ]; then
		pass "$label/guest-ping" "$got"
	else
		fail "$label/guest-ping" "got [$got$(agent net-ping-failed)], want target=$gw sent=3 received=3"
	fi

	# host-ping
	got=$(in_ns "${PING[@]}" -c 3 -W 2 "$guest" 2>&1)
	n=$(sed -nE 's/.* ([0-9]+) (packets )?received.*/\1/p' <<<"$got")
	if [ "$n" = 3 ]; then
		pass "$label/host-ping" "$(grep -E 'min/avg/max' <<<"$got" | sed 's/^ *//')"
	else
		fail "$label/host-ping" "$(tail -3 <<<"$got" | tr '\n' ' ')"
	fi

	# tcp-in: host -> guest
	head -c $((mib << 20)) /dev/urandom >"$tmp/send.bin"
	sha=$(sha256sum <"$tmp/send.bin" | cut -d' ' -f1)
	t0=$(date +%s.%N)
	if ! in_ns timeout 120 bash -c 'cat "$1" >"/dev/tcp/$2/5001"' _ "$tmp/send.bin" "$guest"; then
		fail "$label/tcp-in" "sending to $guest:5001 failed"
	elif ! wait_marker 'net-recv(-failed)?' 60; then
		fail "$label/tcp-in" "no net-recv marker from the guest"
	else
		t1=$(date +%s.%N)
		got=$(agent net-recv)
		bytes=$(field bytes "$got")
		if [ "$bytes $(field sha256 "$got")" = "$((mib << 20)) $sha" ]; then
			pass "$label/tcp-in" "$mib MiB, sha256 ${sha:0:16}..., $(awk -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f MB/s", b / (z - a) / 1e6 }')"
		else
			fail "$label/tcp-in" "guest got [$got$(agent net-recv-failed)], sent $((mib << 20)) bytes sha256 $sha"
		fi
	fi
	rm -f "$tmp/send.bin"

	# tcp-out: guest -> host
	t0=$(date +%s.%N)
	if ! in_ns timeout 120 bash -c 'cat <"/dev/tcp/$1/5002" >"$2"' _ "$guest" "$tmp/recv.bin"; then
		fail "$label/tcp-out" "reading from $guest:5002 failed"
	elif ! wait_marker 'net-sent(-failed)?' 60; then
		fail "$label/tcp-out" "no net-sent marker from the guest"
	else
		t1=$(date +%s.%N)
		got=$(agent net-sent)
		bytes=$(stat -c %s "$tmp/recv.bin")
		sha=$(sha256sum <"$tmp/recv.bin" | cut -d' ' -f1)
		if [ "$(field bytes "$got") $(field sha256 "$got")" = "$bytes $sha" ] && [ "$bytes" = $((mib << 20)) ]; then
			pass "$label/tcp-out" "$mib MiB, sha256 ${sha:0:16}..., $(awk -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f MB/s", b / (z - a) / 1e6 }')"
		else
			fail "$label/tcp-out" "guest sent [$got$(agent net-sent-failed)], host got $bytes bytes sha256 $sha"
		fi
	fi
	rm -f "$tmp/recv.bin"
	finish_vm "$label"
}

# finish_vm LABEL: the guest powers off by itself after both transfers (or
# gets the control connection), and the VMM must exit 0.
finish_vm() {
	local rc end=$((SECONDS + 60))
	if ! wait_marker net-done 30; then
		local g
		g=$(agent ip-config | sed -nE 's/.* addr=([0-9.]+) .*/\1/p')
		[ -n "$g" ] && in_ns timeout 5 bash -c ': >"/dev/tcp/$1/5003"' _ "$g" 2>/dev/null
	fi
	while kill -0 "$vm_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
	kill "$vm_pid" 2>/dev/null
	wait "$vm_pid"
	rc=$?
	vm_pid=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "$1/shutdown" "timed out after ${timeout_s}s"
	elif [ "$rc" != 0 ]; then
		fail "$1/shutdown" "exit $rc, want 0"
	elif ! tr -d '\r' <"$tmp/out" | grep -q "EMBER-AGENT .* net-done"; then
		fail "$1/shutdown" "exit 0 but the agent never printed net-done"
	elif [ "$vmm" = ember ] && ! grep -q "VM stopped: guest shutdown" "$tmp/out"; then
		fail "$1/shutdown" "want 'VM stopped: guest shutdown'"
	elif ! tr -d '\r' <"$tmp/out" | grep -q "EMBER-AGENT .* modules-loaded n=[0-9]* failed=0"; then
		fail "$1/shutdown" "the agent failed to load a module"
	else
		pass "$1/shutdown" "net-done, poweroff, exit 0"
	fi
	cp "$tmp/out" "${EMBER_RUNNER_OUT:-$tmp}/net-$vmm-$1.console.log" 2>/dev/null
}

echo "net ($vmm, Debian $(cut -d' ' -f3 "$img/kernel-version" 2>/dev/null), bzImage, 1 vCPU, 256 MiB, netns $ns, $mib MiB transfers):"

# (a) --net tap=NAME,mac=MAC, ip= on the command line by the test
t_tap() {
	local tap=tap-emb0 mac=52:54:00:12:34:56
	add_tap $tap 10.200.0.1/24 || { fail tap/setup "cannot create $tap in $ns"; return; }
	run_boot tap $tap $mac 10.200.0.2 10.200.0.1 255.255.255.0 \
		" ip=10.200.0.2::10.200.0.1:255.255.255.0::eth0:off"
	in_ns ip link del $tap 2>/dev/null
}

# (b) --net id=VMID,subnet=CIDR: ember derives the TAP, MAC and ip=
t_id() {
	local vmid=ember-net-test subnet=10.201.0.0/24 tap mac guest gw mask extra=
	read -r tap mac guest gw mask < <(derive $vmid $subnet)
	[ -n "$mask" ] || { fail id/setup "cannot derive the TAP name for $vmid"; return; }
	echo "  (id=$vmid subnet=$subnet: TAP $tap, MAC $mac, guest $guest, gateway $gw)"
	if [ "$vmm" = ember ]; then
		# The README's host set-up recipe: ember --print-net names what it
		# will derive, as shell assignments; they must be what we derived.
		local p_tap= p_mac= p_guest= p_gateway= p_prefix= line
		line=$("$build/ember" --net "id=$vmid,subnet=$subnet" --print-net) || { fail id/print-net "exit $?"; return; }
		eval "$(sed -E 's/(^| )([a-z]+)=/\1p_\2=/g' <<<"$line")"
		if [ "$p_tap $p_mac $p_guest $p_gateway $p_prefix" != "$tap $mac $guest $gw 24" ]; then
			fail id/print-net "--print-net said '$line', expected $tap $mac $guest $gw /24"; return
		fi
		pass id/print-net "$line"
		add_tap "$p_tap" "$p_gateway/$p_prefix" || { fail id/setup "cannot create $tap in $ns"; return; }
	else
		add_tap "$tap" "$gw/24" || { fail id/setup "cannot create $tap in $ns"; return; }
	fi
	# ember writes ip= itself; QEMU (checking this script) is given it.
	[ "$vmm" = qemu ] && extra=" ip=$guest::$gw:$mask::eth0:off"
	run_boot id "$tap" "$mac" "$guest" "$gw" "$mask" "$extra" "id=$vmid,subnet=$subnet"
	in_ns ip link del "$tap" 2>/dev/null
}

for t in ${NET_TESTS:-tap id}; do
	"t_$t"
done
echo "net: $passed passed, $failed failed"
[ $failed = 0 ]
