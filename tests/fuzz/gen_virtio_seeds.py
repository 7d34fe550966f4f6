#!/usr/bin/env python3
"""Seeds for fuzz_virtio: well-formed rings (direct, indirect, event-idx) and
a register sequence that brings an rng device up and kicks it.

Layout: 8-byte header, then 64 KiB of guest RAM, then (register mode only)
6-byte ops. Header: [0] log2 queue size, [1] flags (1 event_idx, 2 indirect,
4 used<<16, 0x40 racing guest, 0x80 register mode), [2:4] desc, [4:6] avail,
[6:8] used."""
import os
import struct

RAM = 64 * 1024
OUT = os.path.join(os.path.dirname(__file__), "corpus", "fuzz_virtio")
DESC, AVAIL, USED, DATA = 0x1000, 0x2000, 0x3000, 0x4000


def desc(ram, table, i, addr, ln, flags, nxt):
    struct.pack_into("<QIHH", ram, table + 16 * i, addr, ln, flags, nxt)


def ring_seed(log2, flags, indirect):
    size = 1 << log2
    ram = bytearray(RAM)
    if indirect:
        table = DATA + 0x2000
        desc(ram, table, 0, DATA, 16, 1, 1)
        desc(ram, table, 1, DATA + 16, 512, 3, 2)
        desc(ram, table, 2, DATA + 528, 1, 2, 0)
        desc(ram, DESC, 0, table, 48, 4, 0)
        heads = [0]
    else:
        desc(ram, DESC, 0, DATA, 16, 1, 1)
        desc(ram, DESC, 1, DATA + 16, 512, 3, 2)
        desc(ram, DESC, 2, DATA + 528, 1, 2, 0)
        desc(ram, DESC, 3, DATA + 600, 64, 2, 0)
        heads = [0, 3]
    for n, h in enumerate(heads):
        struct.pack_into("<H", ram, AVAIL + 4 + 2 * n, h)
    struct.pack_into("<HH", ram, AVAIL, 0, len(heads))
    hdr = struct.pack("<BBHHH", log2, flags, DESC, AVAIL, USED)
    return hdr + bytes(ram)


def reg_seed(flags=0x80):
    ram = bytearray(RAM)
    desc(ram, DESC, 0, DATA, 64, 2, 0)
    struct.pack_into("<HHH", ram, AVAIL, 0, 1, 0)
    ops = []
    w = lambda off, v: ops.append(struct.pack("<HI", off, v))
    w(0x70, 0), w(0x70, 1), w(0x70, 3)
    w(0x24, 1), w(0x20, 1), w(0x24, 0), w(0x20, 0)
    w(0x70, 11)
    w(0x30, 0), w(0x38, 16)
    w(0x80, DESC), w(0x84, 0), w(0x90, AVAIL), w(0x94, 0), w(0xa0, USED), w(0xa4, 0)
    w(0x44, 1), w(0x70, 15), w(0x50, 0)
    w(0x800 | 0x60, 0), w(0x64, 1), w(0x800 | 0x100, 0)
    hdr = struct.pack("<BBHHH", 4, flags, 0, 0, 0)
    return hdr + bytes(ram) + b"".join(ops)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "direct-16": ring_seed(4, 0, False),
        "direct-eventidx-256": ring_seed(8, 1, False),
        "indirect-8": ring_seed(3, 2, True),
        "registers-rng": reg_seed(),
        # 0x40: a racing guest rewrites RAM (and registers) meanwhile.
        "race-direct-16": ring_seed(4, 0x40, False),
        "race-indirect-8": ring_seed(3, 0x42, True),
        "race-registers-rng": reg_seed(0xc0),
    }
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
