# The Debian guest image for the real-kernel tests (issue 3, point 4).
# Include from the top Makefile:
#
#     include tests/guest/debian/debian.mk
#
# Target:  debian-image  runs build.sh, which does nothing when its inputs
#          (the linux-image-cloud-amd64 package and version, build.sh,
#          agent.c, the module list) are unchanged (~0.15 s).
# Outputs: $(DEBIAN_OUT)/bzImage, vmlinux, initramfs.cpio, kernel-version,
#          modules.order (see build.sh), and rootfs.ext4 (mkrootfs.sh with a
#          shell for /sbin/init: the README's example root drive; made once,
#          so what a guest writes to it stays). Rules that boot the image
#          depend on debian-image and read $(DEBIAN_IMAGES).

BUILD ?= build
DEBIAN_OUT := $(BUILD)/debian
DEBIAN_IMAGES := $(DEBIAN_OUT)/bzImage $(DEBIAN_OUT)/vmlinux $(DEBIAN_OUT)/initramfs.cpio

.PHONY: debian-image debian-image-qemu debian-rootfs
# Phony on purpose: the package version is only known by asking apt (cached
# by build.sh against apt's lists), so build.sh itself decides.
debian-image: debian-rootfs
	@tests/guest/debian/build.sh $(DEBIAN_OUT)

debian-rootfs: $(DEBIAN_OUT)/rootfs.ext4
$(DEBIAN_OUT)/rootfs.ext4: tests/guest/debian/mkrootfs.sh
	@mkdir -p $(dir $@)
	@echo "debian-image: building $@ (64 MiB ext4, busybox, a shell as /sbin/init)" >&2
	@tests/guest/debian/mkrootfs.sh $@.tmp 64 shell && mv $@.tmp $@

# Boots the image under QEMU microvm (TCG, no KVM needed) with the info
# scenario and checks the agent's output.
debian-image-qemu: debian-image
	@tests/guest/debian/qemu_smoke.sh $(DEBIAN_OUT)
