#!/usr/bin/env bash
# vsock benchmark: host-to-guest echo throughput and connection set-up
# latency over virtio-vsock, Debian's cloud kernel running the agent's
# vsock-echo scenario (an AF_VSOCK echo server on port 5000, a fork per
# connection), 1 vCPU, 256 MiB, BENCH_ROUNDS rounds (3) alternating VMMs:
#   ember   --vsock cid=3,uds=PATH: the host connects to the Unix socket
#           PATH and speaks Firecracker's protocol ("CONNECT 5000\n",
#           "OK <port>\n"), the device in the VMM carries the stream
#   qemu    QEMU -M microvm with vhost-vsock-device,guest-cid=3: the host
#           uses AF_VSOCK and the in-kernel vhost-vsock carries it (no
#           Unix-socket hop, no VMM thread in the data path), as a peer,
#           not the same design
# Per boot, one host process (Python, started once: it takes seconds to
# start in the emulated runner):
#   throughput  one connection, BENCH_VSOCK_MIB MiB (64) sent while the
#               echo is read back; MB/s = payload bytes (10^6) / seconds
#               from the first byte sent to the last byte echoed
#   set-up      BENCH_VSOCK_CONNS (50) connections one after another:
#               connect() to "OK" (ember; connect() returning under vhost),
#               and connect() to the first echoed byte of a 1-byte write;
#               the median of each
# Prints one line per boot, medians per VMM over the rounds and the
# ember/QEMU ratios. Numbers, never pass/fail on speed.
# BENCH_VSOCK_VMMS ("ember qemu") picks the VMMs.
#
# Needs real KVM: run it through tests/integration/runner/run-in-kvm.sh
# (tests/bench/run_vsock.sh does). usage: vsock_guest.sh BUILD
set -uo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=${1:-build}
rounds=${BENCH_ROUNDS:-3}
mib=${BENCH_VSOCK_MIB:-64}
conns=${BENCH_VSOCK_CONNS:-50}
vmms=${BENCH_VSOCK_VMMS:-ember qemu}
img=$build/debian
PATH=$PATH:/usr/sbin:/sbin
cid=3 port=5000
tmp=$(mktemp -d /tmp/ember-vsockbench.XXXXXX) || exit 1
uds=$tmp/v.sock
vm_pid=''
cleanup() {
	[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null && wait "$vm_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

for f in "$img/bzImage" "$img/initramfs.cpio"; do
	[ -f "$f" ] || { echo "vsock-bench: missing $f (make debian-image)"; exit 1; }
done
command -v python3 >/dev/null || { echo "vsock-bench: python3 missing"; exit 1; }
if [[ " $vmms " == *" ember "* ]] && [[ "$("$build/ember" --help 2>&1)" != *--vsock* ]]; then
	echo "vsock-bench: $build/ember has no --vsock option"; exit 1
fi
if [[ " $vmms " == *" qemu "* ]]; then
	[ -c /dev/vhost-vsock ] || modprobe vhost_vsock 2>/dev/null
	if [ ! -c /dev/vhost-vsock ]; then
		echo "vsock-bench: /dev/vhost-vsock missing (modprobe vhost_vsock failed): QEMU left out"
		vmms=${vmms//qemu/}
	fi
fi

cat >"$tmp/bench.py" <<'EOF'
import os, socket, statistics, sys, threading, time

mode, addr, port, mib, conns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def connect():
    """Returns (socket, seconds from connect() to the stream being usable)."""
    t0 = time.monotonic()
    if mode == "uds":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(addr)
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                raise ConnectionError("closed before OK (%r)" % line)
            line += b
        if not line.startswith(b"OK "):
            raise ConnectionError("bad answer %r" % line)
    else:
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect((int(addr), port))
    return s, time.monotonic() - t0

# set-up latency
ok_ms, first_ms = [], []
for i in range(conns):
    t0 = time.monotonic()
    s, ct = connect()
    s.sendall(b"x")
    if s.recv(1) != b"x":
        raise SystemExit("bad echo on connection %d" % i)
    first_ms.append((time.monotonic() - t0) * 1000)
    ok_ms.append(ct * 1000)
    s.close()

# throughput: one connection, the echo read while sending
s, _ = connect()
chunk = os.urandom(1 << 20)
total = mib << 20
def writer():
    for _ in range(mib):
        s.sendall(chunk)
buf = bytearray(1 << 18)
view = memoryview(buf)
t0 = time.monotonic()
w = threading.Thread(target=writer)
w.start()
got = 0
while got < total:
    n = s.recv_into(view, min(len(buf), total - got))
    if not n:
        break
    got += n
dt = time.monotonic() - t0
w.join(60)
s.close()
if got != total:
    raise SystemExit("echoed %d of %d bytes" % (got, total))
print("%.1f %.2f %.2f" % (total / dt / 1e6, statistics.median(ok_ms), statistics.median(first_ms)))
EOF

cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
cmdline+=" ember.scenario=vsock-echo ember.vsock_port=$port ember.vsock_timeout=900"

echo "vsock-bench: $rounds rounds, $mib MiB echoed on one connection, $conns sequential connections for set-up, 1 vCPU, 256 MiB, guest CID $cid"
[[ " $vmms " == *" ember "* ]] && echo "vsock-bench: ember $("$build/ember" --version 2>&1 | head -1), --vsock (Unix socket, Firecracker's protocol)"
[[ " $vmms " == *" qemu "* ]] && echo "vsock-bench: $(qemu-system-x86_64 --version | head -1), vhost-vsock-device (in-kernel vhost, AF_VSOCK on the host)"

# Sets CMD to the command line of a VMM.
command_for() {
	case $1 in
	ember)
		CMD=("$build/ember" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" --mem 256
			--vcpus 1 --print-exit-stats --cmdline "$cmdline" --vsock "cid=$cid,uds=$uds") ;;
	qemu)
		# shellcheck disable=SC2054 # QEMU's option values have commas
		CMD=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel kvm -cpu host
			-m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot
			-serial stdio -kernel "$img/bzImage" -initrd "$img/initramfs.cpio" -append "$cmdline"
			-device "vhost-vsock-device,guest-cid=$cid") ;;
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

# ends the agent through its control port (port + 1)
poke() {
	timeout 60 python3 - "$1" "$2" $((port + 1)) <<'EOF'
import socket, sys
if sys.argv[1] == "uds":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sys.argv[2])
    s.sendall(b"CONNECT %s\n" % sys.argv[3].encode())
    s.recv(64)
else:
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect((int(sys.argv[2]), int(sys.argv[3])))
s.close()
EOF
}

printf '%-5s %-6s %12s %14s %16s\n' round vmm echo set-up:OK set-up:1st-byte
printf '%-5s %-6s %12s %14s %16s\n' "" "" "MB/s" "ms" "ms"
for r in $(seq 1 "$rounds"); do
	for v in $vmms; do
		command_for "$v"
		if [ "$v" = ember ]; then mode=uds addr=$uds; else mode=vsock addr=$cid; fi
		rm -f "$uds"
		log=$tmp/$v.$r.log
		: >"$log"
		timeout -k 5 900 "${CMD[@]}" </dev/null >"$log" 2>&1 &
		vm_pid=$!
		res='' rc='' err=''
		if wait_marker "$log" vsock-listening 180; then
			res=$(timeout 600 python3 "$tmp/bench.py" "$mode" "$addr" $port "$mib" "$conns" 2>"$tmp/err") || res=''
			err=$(tail -2 "$tmp/err")
			poke "$mode" "$addr" >/dev/null 2>&1
		fi
		end=$((SECONDS + 60))
		while kill -0 "$vm_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
		kill "$vm_pid" 2>/dev/null
		wait "$vm_pid"
		rc=$?
		vm_pid=''
		tr -d '\r' <"$log" >"$log.lf" && mv "$log.lf" "$log"
		read -r mbps okms firstms <<<"$res"
		ok=1
		[[ $rc == 0 && -n ${firstms:-} ]] || ok=0
		printf '%-5s %-6s %12s %14s %16s%s\n' "$r" "$v" "${mbps:--}" "${okms:--}" "${firstms:--}" "$( ((ok)) || echo "   FAILED (exit $rc)")"
		if ((ok)); then
			echo "$v $mbps $okms $firstms" >>"$tmp/all"
		else
			[ -n "$err" ] && echo "    host: $err"
			grep -vE '^\s*$' "$log" | tail -15 | sed 's/^/    | /'
		fi
		cp "$log" "${EMBER_RUNNER_OUT:-$tmp}/vsockbench-$v-$r.console.log" 2>/dev/null
	done
done

bench_medians "$tmp/all" "$rounds" 2 qemu-vhost "echo-MB/s|set-up-to-OK-ms|set-up-to-1st-byte-ms" "; MB/s: above 1 is ember faster, ms: below 1 is" || exit 1
bench_tail "$tmp" "$rounds" "$(wc -w <<<"$vmms")"
