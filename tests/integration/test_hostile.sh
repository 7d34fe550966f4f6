#!/usr/bin/env bash
# The hostile guest (tests/guest/hostile_main.c) on real KVM: it attacks
# every virtio device it finds (blk, rng, vsock and, where a TAP can be
# made, net) from inside, checks that each reports itself broken and
# works again after a reset, prints DONE and storms on. Meanwhile ember
# must stay itself: the API answers and pauses and resumes the VM, the log
# stays bounded, and SIGTERM ends it with 0.
# Prints "hostile: N passed, N failed".
set -u
build=${1:-build}
tmp=$(mktemp -d /tmp/ember-hostile.XXXXXX) || exit 1
ns=ember-hostile-$$
pid= ping_pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	[ -n "$ping_pid" ] && kill "$ping_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"

api() { curl -s -m 5 --unix-socket "$tmp/api.sock" "$@"; }

echo "hostile (ember, tests/guest/hostile_main.c attacking its virtio devices):"
dd if=/dev/zero of="$tmp/disk.img" bs=1M count=1 2>/dev/null
netns=() net=()
# A NIC when a TAP can be made: in a namespace of its own, with a host
# side that keeps sending (ARP for an address nobody has), so frames reach
# the guest's 1-byte RX buffers.
if ip netns add "$ns" 2>/dev/null && ip netns exec "$ns" ip tuntap add dev hx0 mode tap vnet_hdr 2>/dev/null &&
	ip netns exec "$ns" ip addr add 172.31.99.1/24 dev hx0 && ip netns exec "$ns" ip link set hx0 up; then
	netns=(ip netns exec "$ns") net=(--net tap=hx0)
	ip netns exec "$ns" ping -q -i 0.2 172.31.99.2 >/dev/null 2>&1 &
	ping_pid=$!
else
	echo "  (no TAP here: the net attacks are left out)"
fi
"${netns[@]}" "$build/ember" --kernel "$build/guest/hostile_guest.elf" --mem 64 \
	--drive "path=$tmp/disk.img,id=d0" --rng --vsock "cid=3,uds=$tmp/v.sock" "${net[@]}" \
	--api-sock "$tmp/api.sock" --log-level Info </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
if ! wait_for '^DONE' "$tmp/out" 1800; then
	fail hostile/attacks "no DONE within 180 s: $(grep -E 'FAIL|info attacking' "$tmp/out" | tail -3 | tr '\n' ' ')"
	echo "hostile: $passed passed, $failed failed"
	exit 1
fi
done_line=$(grep -m1 '^DONE' "$tmp/out")
found=$(grep -c '^info found' "$tmp/out")
score=${done_line#DONE }
if [ "${score%/*}" != "${score#*/}" ] || grep -q '^FAIL' "$tmp/out"; then
	fail hostile/attacks "$done_line: $(grep '^FAIL' "$tmp/out" | head -3 | tr '\n' ' ')"
else
	pass "hostile/attacks ($done_line on $found devices: self-referencing INDIRECT, avail jump, blk queue stopped with reads in flight, 1-byte MRG buffers, 200-round reset storms; each device broken, then working after a reset)"
fi
broken=$(grep -c 'the device needs a reset' "$tmp/err")
kinds=$(grep -o 'virtio-[a-z]*: [^;]*; the device needs a reset' "$tmp/err" | cut -d: -f1 | sort -u | tr '\n' ' ')
if [ "$broken" -ge "$found" ]; then
	pass "hostile/reported-broken ($broken NEEDS_RESET lines from ${kinds% })"
else
	fail hostile/reported-broken "$broken NEEDS_RESET lines for $found devices"
fi
# The storm goes on while the host checks ember is still itself.
sleep 2
state=$(api http://localhost/)
if [[ "$state" == *'"state":"Running"'* ]]; then
	pass "hostile/api-answers (GET / during the storm: Running)"
else
	fail hostile/api-answers "GET / answered [$state]"
fi
p=$(api -o /dev/null -w '%{http_code}' -X PATCH http://localhost/vm -d '{"state":"Paused"}')
s=$(api http://localhost/)
r=$(api -o /dev/null -w '%{http_code}' -X PATCH http://localhost/vm -d '{"state":"Resumed"}')
if [ "$p" = 204 ] && [[ "$s" == *'"state":"Paused"'* ]] && [ "$r" = 204 ]; then
	pass "hostile/pause-resume (204, Paused, 204 while the guest storms)"
else
	fail hostile/pause-resume "pause $p, state [$s], resume $r"
fi
sleep 1
lines=$(wc -l <"$tmp/err")
if [ "$lines" -lt 400 ]; then
	pass "hostile/log-bounded ($lines log lines for the whole storm, $(grep -c 'held back' "$tmp/err") saying how many more were held back)"
else
	fail hostile/log-bounded "$lines log lines"
fi
stop "$pid"
code=$?
pid=
if [ "$code" = 0 ] && grep -q 'VM stopped: signal' "$tmp/err"; then
	pass "hostile/sigterm (exit 0 while the guest stormed)"
else
	fail hostile/sigterm "exit $code"
fi
echo "hostile: $passed passed, $failed failed"
[ "$failed" = 0 ]
