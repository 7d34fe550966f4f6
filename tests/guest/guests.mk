# Freestanding integration-test guests (issue 2). Include from the top
# Makefile (paths are relative to the repository root):
#
#     include tests/guest/guests.mk
#
# Inputs:  BUILD (default build), GUEST_CC (default gcc), GUEST_SRC.
# Outputs: $(GUEST_OUT)/pvh_guest.elf    PVH ELF64 (XEN_ELFNOTE_PHYS32_ENTRY)
#          $(GUEST_OUT)/bz_guest.bin     bzImage-shaped, 64-bit boot protocol
#          $(GUEST_OUT)/elf64_guest.elf  ELF64 without the PVH note
#          $(GUEST_OUT)/qemu_shim.elf    PVH loader shim for the QEMU self-test
#          $(GUEST_OUT)/hostile_guest.elf PVH, attacks every virtio device
# Targets: guests (all of the above), guests-check (structure checks on the
#          host, no KVM), guests-qemu (boot them under QEMU TCG, no KVM).
# GUEST_IMAGES lists the three test guests for other rules to depend on.

BUILD ?= build
GUEST_CC ?= gcc
GUEST_OBJCOPY ?= objcopy
GUEST_SRC ?= tests/guest
GUEST_OUT := $(BUILD)/guest

GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -m64 -ffreestanding -fno-builtin -nostdlib \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -mcmodel=small -fno-stack-protector \
	-fcf-protection=none -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-fno-jump-tables -I$(GUEST_SRC)
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--no-dynamic-linker -Wl,-z,noexecstack \
	-Wl,-z,max-page-size=0x1000 -Wl,--no-warn-rwx-segments
GUEST_HDRS := $(GUEST_SRC)/guest.h

GUEST_IMAGES := $(GUEST_OUT)/pvh_guest.elf $(GUEST_OUT)/bz_guest.bin $(GUEST_OUT)/elf64_guest.elf

.PHONY: guests guests-check guests-qemu
guests: $(GUEST_IMAGES) $(GUEST_OUT)/qemu_shim.elf $(GUEST_OUT)/spin_guest.elf $(GUEST_OUT)/hostile_guest.elf

$(GUEST_OUT)/%.o: $(GUEST_SRC)/%.c $(GUEST_HDRS) $(GUEST_SRC)/guests.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/%.o: $(GUEST_SRC)/%.S $(GUEST_HDRS) $(GUEST_SRC)/guests.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/bp_bz.o: $(GUEST_SRC)/bp_main.c $(GUEST_HDRS) $(GUEST_SRC)/guests.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -DGUEST_BZ=1 -c $< -o $@

$(GUEST_OUT)/bp_elf64.o: $(GUEST_SRC)/bp_main.c $(GUEST_HDRS) $(GUEST_SRC)/guests.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -DGUEST_BZ=0 -c $< -o $@

# PVH guest at 1 MiB: 32-bit entry from the note; notes.S puts another
# Xen note and the linker a build-id note ahead of the entry note.
$(GUEST_OUT)/pvh_guest.elf: $(addprefix $(GUEST_OUT)/,pvh_entry.o notes.o pvh_main.o lib.o) $(GUEST_SRC)/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,--build-id=sha1 -Wl,--defsym=IMAGE_BASE=0x100000 -Wl,-e,pvh_entry \
		-T $(GUEST_SRC)/guest.ld -o $@ $(filter %.o,$^)

# Plain ELF64 at 1 MiB: 64-bit e_entry; carries a Xen note that is not PVH.
$(GUEST_OUT)/elf64_guest.elf: $(addprefix $(GUEST_OUT)/,entry64.o notes.o bp_elf64.o lib.o) $(GUEST_SRC)/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,--build-id=sha1 -Wl,--defsym=IMAGE_BASE=0x100000 -Wl,-e,entry64 \
		-T $(GUEST_SRC)/guest.ld -o $@ $(filter %.o,$^)

# bzImage: setup sectors + payload linked at pref_address, flattened.
$(GUEST_OUT)/bz_guest.elf: $(addprefix $(GUEST_OUT)/,bz_setup.o entry64.o bp_bz.o lib.o) $(GUEST_SRC)/bz.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,--build-id=none -T $(GUEST_SRC)/bz.ld -o $@ $(filter %.o,$^)

$(GUEST_OUT)/bz_guest.bin: $(GUEST_OUT)/bz_guest.elf
	$(GUEST_OBJCOPY) -O binary -j .bzsetup -j .text -j .rodata -j .data $< $@

# The QEMU self-test loader (PVH, at 8 MiB).
$(GUEST_OUT)/qemu_shim.elf: $(addprefix $(GUEST_OUT)/,pvh_entry.o qemu_shim.o lib.o) $(GUEST_SRC)/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,--build-id=none -Wl,--defsym=IMAGE_BASE=0x800000 -Wl,-e,pvh_entry \
		-T $(GUEST_SRC)/guest.ld -o $@ $(filter %.o,$^)

guests-check: guests
	@$(GUEST_SRC)/check_images.sh $(GUEST_OUT)

guests-qemu: guests
	@$(GUEST_SRC)/../integration/run_guests.sh --qemu $(BUILD)

# Attacks every virtio device from inside (PVH, at 1 MiB): the hostile-guest test.
$(GUEST_OUT)/hostile_guest.elf: $(addprefix $(GUEST_OUT)/,pvh_entry.o hostile_main.o lib.o) $(GUEST_SRC)/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,--build-id=none -Wl,--defsym=IMAGE_BASE=0x100000 -Wl,-e,pvh_entry \
		-T $(GUEST_SRC)/guest.ld -o $@ $(filter %.o,$^)

# Parks in HLT forever: the SIGTERM shutdown test.
$(GUEST_OUT)/spin_guest.elf: $(GUEST_OUT)/spin.o $(GUEST_SRC)/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,--build-id=none -Wl,--defsym=IMAGE_BASE=0x100000 -Wl,-e,spin_entry \
		-T $(GUEST_SRC)/guest.ld -o $@ $(filter %.o,$^)
