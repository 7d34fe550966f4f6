#!/usr/bin/env bash
# The snapshot peer: QEMU -M microvm (KVM) saving a running Debian guest to
# a file with migrate and restoring it with -incoming, the same guest as
# ember's snapshot tests (bzImage, the agent's snapshot scenario: a ticker
# every 100 ms and a vsock server; 1 vCPU; a raw scratch disk on
# virtio-blk-device; vhost-vsock-device when /dev/vhost-vsock exists), for
# each guest size in BENCH_SNAP_MEMS ("128 1024" MiB):
#   create   boot, wait for tick 20, QMP stop (paused, as ember's PATCH /vm
#            before PUT /snapshot/create), migrate to BENCH_SNAP_URI:
#              exec  "exec:cat > FILE" (QEMU 7.2 has no file: URI)
#              fd    the file opened here, passed by QMP getfd: "fd:NAME"
#              file  "file:FILE" (QEMU 8.2 or later)
#            with max-bandwidth unlimited; create time = the migrate command
#            to the MIGRATION "completed" event; the file's size (QEMU
#            sends zero pages as a flag, so it is small and not sparse)
#   restore  one warm-up (page cache, not counted), then BENCH_SNAP_RUNS (5)
#            times: exec of QEMU with -incoming defer
#            (so QMP can negotiate before the state arrives and no event is
#            missed), migrate-incoming from the file, and, since the source
#            was paused, cont once the MIGRATION "completed" event came;
#            exec -> running = exec to the RESUME event (QMP timestamps,
#            CLOCK_REALTIME, as the exec time); also exec -> QMP greeting,
#            migrate-incoming -> loaded, cont -> RESUME; each run checks
#            that the guest's next tick is the one after the last before
#            the snapshot (it really continued; the console before and
#            after are joined, as the pause may cut a line in two)
# Prints a line per run and a table of medians (min and max). Numbers,
# never pass/fail on speed; exit 1 if a run fails.
#
# usage: tests/bench/snapshot_qemu.sh [BUILD]    (default build)
# From the host it builds the Debian image and runs itself inside the
# nested runner (tests/integration/runner/run-in-kvm.sh --smp 1) unless
# the host has hardware KVM.
# Env: BENCH_SNAP_MEMS="128 1024"  BENCH_SNAP_RUNS=5  BENCH_SNAP_URI=exec
#      BENCH_SNAP_VSOCK=auto|on|off
set -uo pipefail
self=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
cd "$(dirname "$self")/../.." || exit 1
build=${1:-build}
if [ -z "${EMBER_RUNNER_MODE:-}" ]; then
	make --no-print-directory BUILD="$build" debian-image >/dev/null || exit 1
	tests/deps.sh qemu-system-x86
	exec env EMBER_RUNNER_TIMEOUT="${EMBER_RUNNER_TIMEOUT:-3600}" \
		tests/integration/runner/run-in-kvm.sh --smp 1 -- "$self" "$build"
fi

img=$build/debian
PATH=$PATH:/usr/sbin:/sbin
for f in "$img/bzImage" "$img/initramfs.cpio"; do
	[ -f "$f" ] || { echo "snapshot-qemu: missing $f (make debian-image)"; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "snapshot-qemu: qemu-system-x86_64 missing"; exit 1; }
command -v python3 >/dev/null || { echo "snapshot-qemu: python3 missing"; exit 1; }
[ -c /dev/kvm ] || { echo "snapshot-qemu: no /dev/kvm"; exit 1; }
vsock=${BENCH_SNAP_VSOCK:-auto}
if [ "$vsock" != off ]; then
	[ -c /dev/vhost-vsock ] || modprobe vhost_vsock 2>/dev/null
	if [ ! -c /dev/vhost-vsock ]; then
		[ "$vsock" = on ] && { echo "snapshot-qemu: /dev/vhost-vsock missing"; exit 1; }
		vsock=off
	else
		vsock=on
	fi
fi
tmp=$(mktemp -d /tmp/ember-snapqemu.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd ember.scenario=snapshot"

cat >"$tmp/bench.py" <<'EOF'
import json, os, re, socket, statistics, subprocess, sys, time

tmp, img, cmdline, vsock, uri_kind = sys.argv[1:6]
mems = [int(m) for m in sys.argv[6].split()]
runs = int(sys.argv[7])
out_dir = os.environ.get("EMBER_RUNNER_OUT", tmp)
TICK = re.compile(r"EMBER-AGENT [0-9.]+ snap-tick ([0-9]+) mono=([0-9]+) real=([0-9]+)")

def qemu_cmd(mem, serial, qmp, extra):
    cmd = ["qemu-system-x86_64", "-M", "microvm,x-option-roms=off,rtc=on", "-accel", "kvm", "-cpu", "host",
           "-m", str(mem), "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
           "-serial", "file:" + serial, "-kernel", img + "/bzImage", "-initrd", img + "/initramfs.cpio",
           "-append", cmdline, "-qmp", "unix:%s,server=on,wait=off" % qmp,
           "-drive", "file=%s/disk.img,format=raw,if=none,id=d0" % tmp, "-device", "virtio-blk-device,drive=d0"]
    if vsock == "on":
        cmd += ["-device", "vhost-vsock-device,guest-cid=3"]
    return cmd + extra

class QMP:
    def __init__(self, path, proc, timeout=120):
        end = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if proc.poll() is not None or time.time() > end:
                    raise RuntimeError("QEMU exited (%s) before its QMP socket answered" % proc.returncode)
                time.sleep(0.001)
        self.f = self.s.makefile("rb")
        self.events = []
        self.greeting = json.loads(self.f.readline())
        self.t_greeting = time.time()
        self.cmd("qmp_capabilities")

    def read(self):
        line = self.f.readline()
        if not line:
            raise RuntimeError("QMP closed")
        return json.loads(line)

    def cmd(self, name, fds=None, **args):
        msg = json.dumps({"execute": name, "arguments": args} if args else {"execute": name}).encode()
        if fds:
            socket.send_fds(self.s, [msg], fds)
        else:
            self.s.sendall(msg)
        while True:
            r = self.read()
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                raise RuntimeError("%s: %s" % (name, r["error"].get("desc")))
            elif "return" in r:
                return r["return"]

    def wait_event(self, pred, timeout=600):
        """The first event (already seen or new) for which pred is true."""
        end = time.time() + timeout
        while True:
            for e in self.events:
                if pred(e):
                    self.events.remove(e)
                    return e
            if time.time() > end:
                raise RuntimeError("no such event in %d s" % timeout)
            self.s.settimeout(max(0.1, end - time.time()))
            r = self.read()
            self.s.settimeout(None)
            if "event" in r:
                self.events.append(r)

def ts(e):
    return e["timestamp"]["seconds"] + e["timestamp"]["microseconds"] / 1e6

def migration(status):
    return lambda e: e["event"] == "MIGRATION" and e["data"]["status"] in (status, "failed", "cancelled")

def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""

def ticks_in(text):
    return [tuple(int(x) for x in m.groups()) for m in TICK.finditer(text)]

def ticks(path):
    return ticks_in(read(path))

def complete_lines(text):
    """text up to its last newline: the pause may cut the last line."""
    return text[:text.rfind("\n") + 1]

def across(src, dst):
    """The ticks of the console before the snapshot and after the restore
    joined (a line the pause cut in two is whole again): (last tick before,
    first tick after, the longest CLOCK_MONOTONIC step among the ticks from
    the last before to the third after)."""
    k = len(ticks_in(complete_lines(src)))
    t = ticks_in(src + dst)
    if k == 0 or len(t) < k + 3:
        raise RuntimeError("too few ticks around the restore (%d before, %d in all)" % (k, len(t)))
    return t[k - 1], t[k], max(t[i + 1][1] - t[i][1] for i in range(k - 1, k + 2))

def wait_tick(path, n, proc, timeout):
    end = time.time() + timeout
    while time.time() < end:
        t = ticks(path)
        if t and t[-1][0] >= n:
            return t
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError("no tick %d within %d s (last: %s)" % (n, timeout, t[-1] if ticks(path) else None))

def stop(proc, q=None):
    try:
        if q:
            q.cmd("quit")
    except Exception:
        pass
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

def median(v):
    return statistics.median(v) if v else float("nan")

def create(mem):
    serial, qmp = "%s/src-%d.log" % (tmp, mem), "%s/src-%d.qmp" % (tmp, mem)
    snap = "%s/snap-%d.bin" % (tmp, mem)
    proc = subprocess.Popen(qemu_cmd(mem, serial, qmp, []), stdin=subprocess.DEVNULL,
                            stdout=open(serial + ".err", "w"), stderr=subprocess.STDOUT)
    q = None
    try:
        q = QMP(qmp, proc)
        wait_tick(serial, 20, proc, 600)
        q.cmd("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True}])
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
        q.cmd("stop")
        time.sleep(0.3)
        src = read(serial)
        last = ticks_in(complete_lines(src))[-1]
        if uri_kind == "exec":
            uri = "exec:cat > " + snap
        elif uri_kind == "file":
            uri = "file:" + snap
        else:
            fd = os.open(snap, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            q.cmd("getfd", fds=[fd], fdname="snap")
            os.close(fd)
            uri = "fd:snap"
        t0 = time.time()
        q.cmd("migrate", uri=uri)
        e = q.wait_event(migration("completed"))
        if e["data"]["status"] != "completed":
            raise RuntimeError("migration %s: %s" % (e["data"]["status"], q.cmd("query-migrate")))
        t1 = ts(e)
        info = q.cmd("query-migrate")
        # exec:cat may still be writing: wait until its file stops growing
        size, same = -1, 0
        while same < 3:
            s = os.path.getsize(snap)
            same = same + 1 if s == size else 0
            size = s
            time.sleep(0.05)
        return snap, src, last, (t1 - t0) * 1000, size, info
    finally:
        stop(proc, q)
        subprocess.run(["cp", serial, "%s/snapqemu-src-%d.console.log" % (out_dir, mem)])

def restore(mem, snap, src, last, i):
    serial, qmp = "%s/dst-%d-%d.log" % (tmp, mem, i), "%s/dst-%d-%d.qmp" % (tmp, mem, i)
    cmd = qemu_cmd(mem, serial, qmp, ["-incoming", "defer"])
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(serial + ".err", "w"),
                            stderr=subprocess.STDOUT)
    q = None
    try:
        q = QMP(qmp, proc)
        q.cmd("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True}])
        if uri_kind == "exec":
            uri = "exec:cat " + snap
        elif uri_kind == "file":
            uri = "file:" + snap
        else:
            fd = os.open(snap, os.O_RDONLY)
            q.cmd("getfd", fds=[fd], fdname="snap")
            os.close(fd)
            uri = "fd:snap"
        t_in = time.time()
        q.cmd("migrate-incoming", uri=uri)
        e = q.wait_event(migration("completed"))
        if e["data"]["status"] != "completed":
            raise RuntimeError("incoming migration %s" % e["data"]["status"])
        t_loaded = ts(e)
        t_cont = time.time()
        q.cmd("cont")
        t_run = ts(q.wait_event(lambda e: e["event"] == "RESUME"))
        wait_tick(serial, last[0] + 3, proc, 120)
        before, first, step = across(src, read(serial))
        if first[0] != before[0] + 1:
            raise RuntimeError("first tick after the restore is %d, want %d" % (first[0], before[0] + 1))
        with open(serial, errors="replace") as f:
            if "Linux version" in f.read():
                raise RuntimeError("the guest booted again")
        return {"run": (t_run - t0) * 1000, "qmp": (q.t_greeting - t0) * 1000,
                "load": (t_loaded - t_in) * 1000, "cont": (t_run - t_cont) * 1000,
                "mono": step}
    finally:
        stop(proc, q)
        if i == runs:
            subprocess.run(["cp", serial, "%s/snapqemu-dst-%d.console.log" % (out_dir, mem)])

ver = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
print("snapshot-qemu: %s, -M microvm -accel kvm -cpu host, 1 vCPU, virtio-blk-device%s, migrate to %s, %d restores per size"
      % (ver, ", vhost-vsock-device" if vsock == "on" else "", uri_kind, runs), flush=True)
rows, bad = [], 0
for mem in mems:
    try:
        snap, src, last, create_ms, size, info = create(mem)
    except Exception as e:
        print("  %5d MiB  create FAILED: %s" % (mem, e), flush=True)
        bad += 1
        continue
    ram = info.get("ram", {})
    print("  %5d MiB  create %.1f ms, file %d B (%.1f MiB); RAM pages: %s normal, %s zero; paused at tick %d"
          % (mem, create_ms, size, size / 2**20, ram.get("normal"), ram.get("duplicate"), last[0]), flush=True)
    res = []
    for i in range(0, runs + 1):
        try:
            r = restore(mem, snap, src, last, i)
        except Exception as e:
            print("  %5d MiB  restore %d FAILED: %s" % (mem, i, e), flush=True)
            bad += 1
            continue
        if i == 0:
            print("  %5d MiB  warm-up restore (not counted): exec -> running %.1f ms" % (mem, r["run"]), flush=True)
            continue
        res.append(r)
        print("  %5d MiB  restore %d: exec -> running %.1f ms (QMP greeting %.1f, migrate-incoming -> loaded %.1f, cont -> RESUME %.1f); longest guest monotonic step across %d ms"
              % (mem, i, r["run"], r["qmp"], r["load"], r["cont"], r["mono"]), flush=True)
    rows.append((mem, create_ms, size, res))
    os.unlink(snap)

print("medians (ms; min-max over the restores):")
fmt = "  %-8s %10s %12s %22s %14s %14s %12s"
print(fmt % ("guest", "create", "file MiB", "exec->running", "exec->QMP", "incoming", "cont"))
for mem, create_ms, size, res in rows:
    def col(k, spread=False):
        v = [r[k] for r in res]
        if not v:
            return "-"
        return "%.1f (%.1f-%.1f)" % (median(v), min(v), max(v)) if spread else "%.1f" % median(v)
    print(fmt % ("%d MiB" % mem, "%.1f" % create_ms, "%.2f" % (size / 2**20), col("run", True), col("qmp"),
                 col("load"), col("cont")))
print("  (runs: %s of %d each; QEMU timestamps are CLOCK_REALTIME, so is the exec time)"
      % (", ".join("%d MiB %d" % (m, len(r)) for m, _, _, r in rows), runs))
sys.exit(1 if bad else 0)
EOF

truncate -s 8M "$tmp/disk.img"
timeout 3000 python3 -S "$tmp/bench.py" "$tmp" "$img" "$cmdline" "$vsock" "${BENCH_SNAP_URI:-exec}" \
	"${BENCH_SNAP_MEMS:-128 1024}" "${BENCH_SNAP_RUNS:-5}"
