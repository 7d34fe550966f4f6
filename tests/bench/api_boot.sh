#!/usr/bin/env bash
# Configures and starts a VM over the API socket with curl, as an
# orchestrator would, N times: prints the median time from exec to the
# socket answering, to the end of the configuration calls, and to the
# InstanceStart answer (the vCPUs are running then). Needs real KVM.
# usage: api_boot.sh BUILD [N]
set -u
build=${1:-build}; n=${2:-10}
img=$build/debian
tmp=$(mktemp -d /tmp/ember-apiboot.XXXXXX); trap 'rm -rf "$tmp"' EXIT
now() { date +%s%N; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for ((i = 0; i < n; i++)); do
	sock=$tmp/s$i.sock
	t0=$(now)
	"$build/ember" --api-sock "$sock" </dev/null >"$tmp/out" 2>&1 &
	pid=$!
	until curl -s -o /dev/null --unix-socket "$sock" http://localhost/ 2>/dev/null; do :; done
	t1=$(now)
	c() { curl -s -o /dev/null --unix-socket "$sock" -X PUT "http://localhost$1" --data-binary "$2"; }
	c /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	c /boot-source "{\"kernel_image_path\": \"$img/bzImage\", \"initrd_path\": \"$img/initramfs.cpio\", \"boot_args\": \"console=ttyS0 reboot=k panic=-1 quiet ember.scenario=poweroff\"}"
	c /entropy '{}'
	t2=$(now)
	c /actions '{"action_type": "InstanceStart"}'
	t3=$(now)
	wait $pid
	echo "$(ms $t0 $t1) $(ms $t1 $t2) $(ms $t2 $t3)" >>"$tmp/times"
done
echo "api boot ($n runs, medians): exec -> socket answers $(cut -d' ' -f1 "$tmp/times" | median) ms;" \
	"3 config PUTs $(cut -d' ' -f2 "$tmp/times" | median) ms; InstanceStart answered $(cut -d' ' -f3 "$tmp/times" | median) ms"
