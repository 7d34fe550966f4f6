#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_bzimage and fuzz_elf: tiny kernels that
boot_load accepts in the fuzz targets' 8 MiB guest. Built from the spec
offsets (Documentation/arch/x86/boot.rst, the ELF64 gABI, Xen's
XEN_ELFNOTE_PHYS32_ENTRY), independently of the C test fixtures.
Run from the repository top: tests/fuzz/gen_boot_seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(buf, off, fmt, *vals):
    struct.pack_into("<" + fmt, buf, off, *vals)


def bzimage(setup_sects, payload_len, pref, relocatable=1, xlf=0x1):
    setup = ((setup_sects or 4) + 1) * 512
    buf = bytearray(setup + payload_len)
    buf[0x1F1] = setup_sects
    put(buf, 0x1F4, "I", payload_len // 16)      # syssize
    put(buf, 0x1FE, "H", 0xAA55)                 # boot_flag
    buf[0x200:0x202] = b"\xeb\x6a"               # jmp to the header end, 0x26c
    buf[0x202:0x206] = b"HdrS"
    put(buf, 0x206, "H", 0x020F)                 # version 2.15
    buf[0x211] = 0x01                            # loadflags: LOADED_HIGH
    put(buf, 0x22C, "I", 0x7FFFFFFF)             # initrd_addr_max
    put(buf, 0x230, "I", 0x200000)               # kernel_alignment
    buf[0x234] = relocatable
    put(buf, 0x236, "H", xlf)                    # xloadflags
    put(buf, 0x238, "I", 2047)                   # cmdline_size
    put(buf, 0x258, "Q", pref)                   # pref_address
    put(buf, 0x260, "I", payload_len + 0x10000)  # init_size
    for i in range(payload_len):
        buf[setup + i] = (i * 13 + 1) & 0xFF
    buf[setup + 0x200] = 0xF4                    # hlt at the 64-bit entry
    return bytes(buf)


def note(name, ntype, desc):
    n = name + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def elf(segs, entry, notes=b""):
    """segs: (paddr, vaddr, data, memsz); data follows the notes, from 0x100."""
    nph = len(segs) + (1 if notes else 0)
    hdr = bytearray(64)
    hdr[0:7] = b"\x7fELF\x02\x01\x01"            # ELF64, little-endian, v1
    put(hdr, 16, "HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, nph, 0, 0, 0)
    notes_off = 64 + 56 * nph
    data_off = max(0x100, (notes_off + len(notes) + 15) & ~15)
    phdrs = b""
    body = b""
    for paddr, vaddr, data, memsz in segs:
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, data_off + len(body), vaddr, paddr,
                             len(data), memsz, 0x1000)
        body += data
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", 4, 4, notes_off, 0, 0, len(notes), len(notes), 4)
    out = bytes(hdr) + phdrs + notes
    return out + b"\0" * (data_off - len(out)) + body


def code(n):
    return bytes([0xF4] + [(i * 7 + 3) & 0xFF for i in range(1, n)])


SEEDS = {
    "fuzz_bzimage": {
        "relocatable_2m": bzimage(4, 0x400, 0x200000),
        "setup_sects0_fixed_4m_xlf4g": bzimage(0, 0x300, 0x400000, relocatable=0, xlf=0x3),
    },
    "fuzz_elf": {
        "pvh_note8": elf([(0x100000, 0x100000, code(0x100), 0x2000)], 0x100000,
                         note(b"Xen", 18, struct.pack("<Q", 0x100000))),
        "pvh_note4_after_gnu": elf([(0x100000, 0x100000, code(0x80), 0x1000),
                                    (0x200000, 0x200000, code(0x40), 0x40)], 0x100000,
                                   note(b"GNU", 3, b"\xab" * 20) +
                                   note(b"Xen", 18, struct.pack("<I", 0x200000))),
        "elf64_virtual_entry": elf([(0x100000, 0xFFFFFFFF81000000, code(0x100), 0x4000)],
                                   0xFFFFFFFF81000000),
    },
}

for target, seeds in SEEDS.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, blob in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
