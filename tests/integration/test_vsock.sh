#!/usr/bin/env bash
# virtio-vsock seen from inside Debian's cloud kernel (bzImage, 1 vCPU,
# 256 MiB, the test agent of build/debian/initramfs.cpio with its
# vsock-echo scenario: an AF_VSOCK echo server on port 5000, a control
# port 5001 that ends it, and guest-initiated connections to the host).
#
# The host side is Firecracker's: ember listens on the Unix socket
# uds_path; a host program connects there, writes "CONNECT <port>\n" and
# reads "OK <host_port>\n" once the guest accepts, then the socket carries
# the stream. A guest connection to CID 2 port P arrives at the Unix socket
# "<uds_path>_P", where the test listens.
#
# Boots (VSOCK_TESTS, default "cli config"):
#   cli     --vsock cid=3,uds=PATH
#     listening   the agent listens on 5000 and its local CID is 3
#     to-host     the guest opens VSOCK_CONNECTS (4) connections at once to
#                 host port 5100, each sending VSOCK_SEND_MIB MiB (4) after a
#                 "SEND <n>\n" line; the test's listener on PATH_5100 reads
#                 them and answers "OK <n> <sha256>\n"; byte counts and
#                 sha256 equal on both ends for every connection
#     echo-16m    one host connection (CONNECT 5000), 16 MiB of random
#                 bytes echoed back and compared by sha256
#     echo-many   VSOCK_MANY (32) connections at once, 64 KiB each, every
#                 echo compared
#     refused     CONNECT to a port nobody listens on (5999): the socket is
#                 closed without an "OK" (vhost: connect() is refused)
#     bad-connect "CONNECT nonsense\n": closed without an "OK" (ember only)
#     shutdown    a connection to the control port: the agent reports no
#                 echo errors and powers off, the VMM exits 0, and (ember)
#                 the Unix socket is gone
#   config  --config-file --no-api with {"vsock": {"guest_cid": 3,
#           "uds_path": PATH}} (ember only; under QEMU the same boot with
#           its vhost device)
#     echo-open   a host connection echoes 1 MiB and stays open
#     sigterm     SIGTERM with that connection (and the UDS listener) still
#                 open: the VMM exits 0, the Unix socket is gone, the host
#                 end sees EOF
# Prints "vsock: N passed, N failed".
#
# usage: test_vsock.sh BUILD     (needs real KVM: run it through the runner)
# Env:   VSOCK_VMM=ember|qemu    the VMM under test (ember); qemu boots the
#                                same guest under QEMU -M microvm with
#                                vhost-vsock-device,guest-cid=3 (the host side
#                                is then AF_VSOCK itself, not the Unix-socket
#                                protocol; needs /dev/vhost-vsock, modprobe
#                                vhost_vsock) to check the guest side and
#                                this script
#        VSOCK_QEMU_ACCEL=kvm    QEMU's accelerator
#        VSOCK_TESTS="cli config"
#        VSOCK_CONNECTS=4 VSOCK_SEND_MIB=4 VSOCK_ECHO_MIB=16 VSOCK_MANY=32
#        EMBER_VSOCK_TIMEOUT=240 seconds per boot
set -u
build=${1:-build}
img=$build/debian
vmm=${VSOCK_VMM:-ember}
timeout_s=${EMBER_VSOCK_TIMEOUT:-240}
nconn=${VSOCK_CONNECTS:-4}
send_mib=${VSOCK_SEND_MIB:-4}
echo_mib=${VSOCK_ECHO_MIB:-16}
many=${VSOCK_MANY:-32}
cid=3 port=5000 host_port=5100
PATH=$PATH:/usr/sbin:/sbin
passed=0 failed=0
base="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
tmp=$(mktemp -d /tmp/ember-vsock.XXXXXX) || exit 1
uds=$tmp/v.sock
vm_pid='' lis_pid='' hold_pid=''
cleanup() {
	for p in $hold_pid $lis_pid $vm_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

bail() { echo "vsock: $1"; echo "vsock: 0 passed, 1 failed"; exit 1; }
for f in "$img/bzImage" "$img/initramfs.cpio"; do
	[ -f "$f" ] || bail "missing $f (make debian-image)"
done
command -v python3 >/dev/null || bail "python3 missing (the host side of the tests)"
case $vmm in
ember)
	"$build/ember" --help 2>&1 | grep -q -- '--vsock' || bail "$build/ember has no --vsock option yet" ;;
qemu)
	command -v qemu-system-x86_64 >/dev/null || bail "qemu-system-x86_64 missing"
	[ -c /dev/vhost-vsock ] || modprobe vhost_vsock 2>/dev/null
	[ -c /dev/vhost-vsock ] || bail "/dev/vhost-vsock missing (modprobe vhost_vsock failed)" ;;
*) echo "vsock: VSOCK_VMM must be ember or qemu"; exit 2 ;;
esac
# The host side speaks Firecracker's Unix-socket protocol to ember, AF_VSOCK
# to QEMU's vhost device; everything above the connection is shared.
if [ "$vmm" = ember ]; then mode=uds addr=$uds; else mode=vsock addr=$cid; fi

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
agent_all() { tr -d '\r' <"$tmp/out" | sed -nE "s/^EMBER-AGENT [0-9.]+ $1 ?//p"; }
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

# The host side: one Python program, subcommands below. MODE is uds
# (ADDR = ember's uds_path, Firecracker's protocol) or vsock (ADDR = the
# guest CID, AF_VSOCK through the host kernel's vhost-vsock).
cat >"$tmp/vs.py" <<'EOF'
import hashlib, os, socket, statistics, sys, threading, time

def connect(mode, addr, port, timeout=60):
    """A stream to guest port `port`; returns (socket, connect seconds)."""
    t0 = time.monotonic()
    if mode == "uds":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                s.close()
                raise ConnectionError("closed before OK (got %r)" % line)
            line += b
            if len(line) > 64:
                raise ConnectionError("no newline in %r" % line)
        f = line.split()
        if len(f) != 2 or f[0] != b"OK" or not f[1].isdigit():
            raise ConnectionError("bad answer %r" % line)
    else:
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((int(addr), port))
    return s, time.monotonic() - t0

def echo_one(mode, addr, port, size, res, i):
    try:
        s, ct = connect(mode, addr, port)
        data = os.urandom(size)
        want = hashlib.sha256(data).hexdigest()
        err = []
        def writer():
            try:
                s.sendall(data)
            except Exception as e:
                err.append("send: %r" % e)
        t0 = time.monotonic()
        w = threading.Thread(target=writer)
        w.start()
        h = hashlib.sha256()
        got = 0
        while got < size:
            b = s.recv(min(1 << 18, size - got))
            if not b:
                break
            h.update(b)
            got += len(b)
        dt = time.monotonic() - t0
        w.join(60)
        s.close()
        if got != size or h.hexdigest() != want or err:
            res[i] = ("fail", "conn %d: echoed %d of %d bytes, sha256 %s want %s %s"
                      % (i, got, size, h.hexdigest()[:16], want[:16], " ".join(err)))
        else:
            res[i] = ("ok", ct, dt, want)
    except Exception as e:
        res[i] = ("fail", "conn %d: %r" % (i, e))

def cmd_echo(mode, addr, port, size, n):
    """n connections at once, `size` random bytes each, echoed back."""
    size, n = int(size), int(n)
    res = [None] * n
    t0 = time.monotonic()
    ts = [threading.Thread(target=echo_one, args=(mode, addr, int(port), size, res, i)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(300)
    dt = time.monotonic() - t0
    ok = [r for r in res if r and r[0] == "ok"]
    for r in res:
        if not r or r[0] != "ok":
            print("  " + (r[1] if r else "timed out"), file=sys.stderr)
    ct = statistics.median(r[1] for r in ok) * 1000 if ok else 0
    print("ok=%d failed=%d bytes=%d secs=%.3f MBps=%.1f connect-ms=%.1f sha256=%s"
          % (len(ok), n - len(ok), size * len(ok), dt, size * len(ok) / dt / 1e6, ct,
             ok[0][3][:16] if len(ok) == 1 else "-"))
    return 0 if len(ok) == n else 1

def cmd_listen(mode, addr, port, n, outfile, readyfile):
    """Listens for n guest connections to host port `port`: each sends
    "SEND <bytes>\n" and the bytes; answers "OK <bytes> <sha256>\n"."""
    port, n = int(port), int(n)
    if mode == "uds":
        path = "%s_%d" % (addr, port)
        l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        l.bind(path)
    else:
        l = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        l.bind((socket.VMADDR_CID_ANY, port))
    l.listen(64)
    open(readyfile, "w").close()
    out = open(outfile, "a", buffering=1)
    lock = threading.Lock()
    def serve(c, i):
        try:
            c.settimeout(120)
            line = b""
            while not line.endswith(b"\n") and len(line) < 64:
                b = c.recv(1)
                if not b:
                    break
                line += b
            f = line.split()
            if len(f) != 2 or f[0] != b"SEND":
                raise ValueError("bad header %r" % line)
            want = int(f[1])
            h = hashlib.sha256()
            got = 0
            while got < want:
                b = c.recv(min(1 << 18, want - got))
                if not b:
                    break
                h.update(b)
                got += len(b)
            c.sendall(b"OK %d %s\n" % (got, h.hexdigest().encode()))
            with lock:
                out.write("conn bytes=%d want=%d sha256=%s\n" % (got, want, h.hexdigest()))
            c.settimeout(10)
            try:
                c.recv(1)  # the guest closes once it has the answer
            except OSError:
                pass
        except Exception as e:
            with lock:
                out.write("error %r\n" % e)
        finally:
            c.close()
    ts = []
    for i in range(n):
        c, _ = l.accept()
        t = threading.Thread(target=serve, args=(c, i))
        t.start()
        ts.append(t)
    for t in ts:
        t.join(300)
    out.write("done\n")
    return 0

def cmd_refused(mode, addr, port, line=None):
    """A connection the guest must refuse (nobody listens on `port`), or a
    malformed CONNECT line: closed without OK within 20 s."""
    t0 = time.monotonic()
    try:
        if line is None:
            s, _ = connect(mode, addr, int(port), timeout=20)
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(20)
            s.connect(addr)
            s.sendall(line.encode() + b"\n")
            b = s.recv(64)
            if b:
                print("answered %r" % b)
                return 1
            raise ConnectionError("closed")
        print("connected (want refused)")
        return 1
    except socket.timeout:
        print("no answer in 20 s")
        return 1
    except (ConnectionError, OSError) as e:
        what = type(e).__name__
        if type(e) is ConnectionError and e.args:
            what = str(e.args[0]).split(" (")[0]
        print("%s after %.0f ms" % (what, (time.monotonic() - t0) * 1000))
        return 0

def cmd_poke(mode, addr, port):
    """Opens and closes a connection (the agent's control port)."""
    s, _ = connect(mode, addr, int(port), timeout=20)
    s.close()
    return 0

def cmd_hold(mode, addr, port, size, readyfile):
    """Echoes `size` bytes, then keeps the connection open until the peer
    ends it; prints what ended it."""
    s, _ = connect(mode, addr, int(port))
    data = os.urandom(int(size))
    w = threading.Thread(target=s.sendall, args=(data,))
    w.start()  # the echo comes back while we send: read at the same time
    got = b""
    while len(got) < len(data):
        b = s.recv(1 << 18)
        if not b:
            break
        got += b
    w.join(60)
    print("echoed=%s" % ("ok" if got == data else "bad(%d)" % len(got)), flush=True)
    open(readyfile, "w").close()
    s.settimeout(None)
    try:
        b = s.recv(1)
        print("end=%s" % ("eof" if not b else "data"), flush=True)
    except OSError as e:
        print("end=%s" % type(e).__name__, flush=True)
    return 0

sys.exit(globals()["cmd_" + sys.argv[1]](*sys.argv[2:]))
EOF
vs() { timeout 330 python3 "$tmp/vs.py" "$@"; }

# start_vm LABEL CMDLINE_EXTRA [config]: the VMM in the background; the
# console goes to $tmp/out.
start_vm() {
	local cmdline="$base ember.scenario=vsock-echo ember.vsock_port=$port$2" how=${3:-cli} cmd
	rm -f "$uds"
	if [ "$vmm" = ember ] && [ "$how" = config ]; then
		cat >"$tmp/vm.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$img/bzImage", "initrd_path": "$img/initramfs.cpio",
                   "boot_args": "$cmdline" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "vsock": { "guest_cid": $cid, "uds_path": "$uds" }
}
EOF
		cmd=("$build/ember" --config-file "$tmp/vm.json" --no-api)
	elif [ "$vmm" = ember ]; then
		cmd=("$build/ember" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" --mem 256
			--vcpus 1 --log-level Info --cmdline "$cmdline" --vsock "cid=$cid,uds=$uds")
	else
		# shellcheck disable=SC2054 # QEMU's option values have commas
		cmd=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel "${VSOCK_QEMU_ACCEL:-kvm}"
			-cpu "$([ "${VSOCK_QEMU_ACCEL:-kvm}" = kvm ] && echo host || echo max)"
			-m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot -serial stdio
			-kernel "$img/bzImage" -initrd "$img/initramfs.cpio" -append "$cmdline"
			-device "vhost-vsock-device,guest-cid=$cid")
	fi
	: >"$tmp/out"
	timeout -k 5 "$timeout_s" "${cmd[@]}" </dev/null >"$tmp/out" 2>&1 &
	vm_pid=$!
}

# wait_listening LABEL: the agent listens and reports CID 3.
wait_listening() {
	local got
	if ! wait_marker 'vsock-(listening|failed)' 120; then
		fail "$1/listening" "no vsock-listening marker (boot failed or too slow)"
		return 1
	fi
	got=$(agent vsock-listening)
	if [ -z "$got" ]; then
		fail "$1/listening" "$(agent vsock-failed)"
		return 1
	fi
	if [ "$(field port "$got") $(field cid "$got")" = "$port $cid" ]; then
		pass "$1/listening" "$got"
	else
		fail "$1/listening" "got [$got], want port=$port cid=$cid"
	fi
	if [ "$vmm" = ember ]; then
		local end=$((SECONDS + 10))
		while [ ! -S "$uds" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
		[ -S "$uds" ] || { fail "$1/listening" "ember does not listen on $uds"; return 1; }
	fi
	return 0
}

# stop_vm LABEL: waits up to 60 s for the VMM to end; sets rc.
stop_vm() {
	local end=$((SECONDS + 60))
	while kill -0 "$vm_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
	kill "$vm_pid" 2>/dev/null
	wait "$vm_pid"
	rc=$?
	vm_pid=
	cp "$tmp/out" "${EMBER_RUNNER_OUT:-$tmp}/vsock-$vmm-$1.console.log" 2>/dev/null
}

echo "vsock ($vmm, Debian $(cut -d' ' -f3 "$img/kernel-version" 2>/dev/null), bzImage, 1 vCPU, 256 MiB, guest CID $cid, host side $mode):"

t_cli() {
	local got line bad sent host
	: >"$tmp/listen.out"
	rm -f "$tmp/ready" "${uds}_$host_port"
	vs listen "$mode" "$addr" $host_port "$nconn" "$tmp/listen.out" "$tmp/ready" 2>"$tmp/listen.err" &
	lis_pid=$!
	# Python takes about 7 s to start in the emulated runner.
	for _ in $(seq 600); do [ -e "$tmp/ready" ] && break; kill -0 $lis_pid 2>/dev/null || break; sleep 0.1; done
	[ -e "$tmp/ready" ] || { fail cli/setup "the host listener did not start: $(tail -2 "$tmp/listen.err")"; return; }
	start_vm cli " ember.vsock_connect=$host_port ember.vsock_connects=$nconn ember.vsock_mib=$send_mib"
	if ! wait_listening cli; then
		stop_vm cli
		return
	fi

	# to-host: every guest connection reached PATH_5100, whole and intact.
	if ! wait_marker vsock-connect-done 150; then
		fail cli/to-host "no vsock-connect-done from the guest; $(agent_all vsock-connect-failed | head -3 | tr '\n' ';')"
	else
		got=$(agent vsock-connect-done)
		bad=
		sent=$(agent_all vsock-sent)
		for i in $(seq 0 $((nconn - 1))); do
			line=$(grep -E "^conn=$i " <<<"$sent")
			if [ -z "$line" ]; then
				bad+=" conn $i: $(agent_all vsock-connect-failed | grep -E "conn=$i " | head -1)"
				continue
			fi
			if [ "$(field bytes "$line")" != $((send_mib << 20)) ] ||
				[ "$(field sha256 "$line")" != "$(field reply-sha256 "$line")" ] ||
				[ "$(field bytes "$line")" != "$(field reply-bytes "$line")" ] ||
				! grep -q "sha256=$(field sha256 "$line")" "$tmp/listen.out"; then
				bad+=" conn $i: [$line]"
			fi
		done
		host=$(grep -c '^conn ' "$tmp/listen.out")
		if [ "$got" = "n=$nconn ok=$nconn" ] && [ -z "$bad" ] && [ "$host" = "$nconn" ]; then
			pass cli/to-host "$nconn x $send_mib MiB to ${mode}:$host_port, sha256 equal, e.g. $(field connect-ms "$line") ms to connect, $(field MBps "$line") MB/s"
		else
			fail cli/to-host "guest [$got], host saw $host of $nconn [$(grep -v '^conn ' "$tmp/listen.out" | head -2 | tr '\n' ' ')]$bad"
		fi
	fi
	kill "$lis_pid" 2>/dev/null
	wait "$lis_pid" 2>/dev/null
	lis_pid=

	# echo-16m
	if got=$(vs echo "$mode" "$addr" $port $((echo_mib << 20)) 1 2>"$tmp/err"); then
		pass cli/echo-16m "$echo_mib MiB, $got"
	else
		fail cli/echo-16m "$got $(head -3 "$tmp/err" | tr '\n' ' ')"
	fi

	# echo-many
	if got=$(vs echo "$mode" "$addr" $port 65536 "$many" 2>"$tmp/err"); then
		pass cli/echo-many "$many connections at once, 64 KiB each, $got"
	else
		fail cli/echo-many "$got $(head -5 "$tmp/err" | tr '\n' ' ')"
	fi

	# refused
	if got=$(vs refused "$mode" "$addr" 5999 2>&1); then
		pass cli/refused "port 5999: $got"
	else
		fail cli/refused "port 5999: $got"
	fi

	# bad-connect
	if [ "$mode" = uds ]; then
		if got=$(vs refused "$mode" "$addr" 0 "CONNECT nonsense" 2>&1); then
			pass cli/bad-connect "$got"
		else
			fail cli/bad-connect "$got"
		fi
	fi

	# shutdown: the control port ends the agent, which powers off.
	vs poke "$mode" "$addr" $((port + 1)) >/dev/null 2>&1
	wait_marker vsock-done 30
	stop_vm cli
	got=$(agent vsock-done)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail cli/shutdown "timed out after ${timeout_s}s"
	elif [ "$rc" != 0 ]; then
		fail cli/shutdown "exit $rc, want 0"
	elif [ -z "$got" ]; then
		fail cli/shutdown "exit 0 but the agent never printed vsock-done"
	elif [ "$(field errors "$got") $(field killed "$got")" != "0 0" ]; then
		fail cli/shutdown "the agent saw echo errors: [$got] $(agent_all vsock-echo-error | head -3 | tr '\n' ';')"
	elif [ "$vmm" = ember ] && ! grep -q "VM stopped: guest shutdown" "$tmp/out"; then
		fail cli/shutdown "want 'VM stopped: guest shutdown'"
	elif [ "$vmm" = ember ] && [ -e "$uds" ]; then
		fail cli/shutdown "$uds still exists after exit"
	elif ! tr -d '\r' <"$tmp/out" | grep -q "EMBER-AGENT .* modules-loaded n=[0-9]* failed=0"; then
		fail cli/shutdown "the agent failed to load a module"
	else
		pass cli/shutdown "$got, poweroff, exit 0"
	fi
}

t_config() {
	local got
	start_vm config "" config
	if ! wait_listening config; then
		stop_vm config
		return
	fi
	rm -f "$tmp/ready"
	vs hold "$mode" "$addr" $port $((1 << 20)) "$tmp/ready" >"$tmp/hold.out" 2>&1 &
	hold_pid=$!
	for _ in $(seq 900); do [ -e "$tmp/ready" ] && break; kill -0 $hold_pid 2>/dev/null || break; sleep 0.1; done
	if grep -q 'echoed=ok' "$tmp/hold.out"; then
		pass config/echo-open "1 MiB echoed, connection left open"
	else
		fail config/echo-open "$(tr '\n' ' ' <"$tmp/hold.out")"
	fi
	kill -TERM "$vm_pid"
	stop_vm config
	for _ in $(seq 100); do kill -0 $hold_pid 2>/dev/null || break; sleep 0.1; done
	kill $hold_pid 2>/dev/null
	wait $hold_pid 2>/dev/null
	hold_pid=
	got=$(sed -n 's/^end=//p' "$tmp/hold.out")
	if [ "$rc" != 0 ]; then
		fail config/sigterm "exit $rc, want 0"
	elif [ "$vmm" = ember ] && [ -e "$uds" ]; then
		fail config/sigterm "$uds still exists after exit"
	elif [ -z "$got" ]; then
		fail config/sigterm "the open host connection was not ended within 10 s of exit"
	else
		pass config/sigterm "exit 0, host end saw ${got}"
	fi
}

for t in ${VSOCK_TESTS:-cli config}; do
	"t_$t"
done
echo "vsock: $passed passed, $failed failed"
[ $failed = 0 ]
