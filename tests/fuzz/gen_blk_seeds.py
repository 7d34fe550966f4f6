#!/usr/bin/env python3
"""Seeds for fuzz_virtio_blk: rings holding well-formed requests of every
type (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES), direct and indirect,
on both engines, some with the racing guest on.

Layout: 16-byte header, then 64 KiB of guest RAM. Header: [0] log2 queue
size, [1] flags (1 event_idx, 2 indirect, 4 sync engine, 8 read-only,
16 racing, 32 save+restore, 64 reset at the end), [2:8] desc, avail, used,
[8] io_uring depth, [9] turns."""
import os
import struct

RAM = 64 * 1024
OUT = os.path.join(os.path.dirname(__file__), "corpus", "fuzz_virtio_blk")
DESC, AVAIL, USED, DATA = 0x1000, 0x2000, 0x3000, 0x4000
IN, OUTT, FLUSH, GET_ID, DISCARD, WZ = 0, 1, 4, 8, 11, 13
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def desc(ram, table, i, addr, ln, flags, nxt):
    struct.pack_into("<QIHH", ram, table + 16 * i, addr, ln, flags, nxt)


def requests(ram, reqs, indirect):
    """reqs: (type, sector, [(len, writable)...]); returns the heads."""
    heads, d, at, table = [], 0, DATA, DATA + 0x8000
    for typ, sector, segs in reqs:
        hdr = at
        struct.pack_into("<IIQ", ram, hdr, typ, 0, sector)
        at += 16
        parts = [(hdr, 16, 0)]
        for ln, w in segs:
            if typ in (DISCARD, WZ):
                struct.pack_into("<QII", ram, at, sector, 2, 0)
            parts.append((at, ln, F_WRITE if w else 0))
            at += (ln + 15) & ~15
        parts.append((at, 1, F_WRITE))
        at += 16
        if indirect:
            for k, (a, ln, fl) in enumerate(parts):
                nxt = k + 1 if k + 1 < len(parts) else 0
                desc(ram, table, k, a, ln, fl | (F_NEXT if nxt else 0), nxt)
            desc(ram, DESC, d, table, 16 * len(parts), F_INDIRECT, 0)
            heads.append(d)
            d += 1
            table += 16 * len(parts)
        else:
            heads.append(d)
            for k, (a, ln, fl) in enumerate(parts):
                last = k + 1 == len(parts)
                desc(ram, DESC, d, a, ln, fl | (0 if last else F_NEXT), 0 if last else d + 1)
                d += 1
    return heads


def seed(flags, reqs, log2=4, depth=0, turns=2):
    ram = bytearray(RAM)
    heads = requests(ram, reqs, flags & 2)
    for n, h in enumerate(heads):
        struct.pack_into("<H", ram, AVAIL + 4 + 2 * n, h)
    struct.pack_into("<HH", ram, AVAIL, 0, len(heads))
    hdr = struct.pack("<BBHHHBB6x", log2, flags, DESC, AVAIL, USED, depth, turns)
    return hdr + bytes(ram)


MIX = [(IN, 0, [(512, True)]), (OUTT, 3, [(512, False), (512, False)]), (FLUSH, 0, []),
       (GET_ID, 0, [(20, True)]), (DISCARD, 8, [(16, False)]), (WZ, 20, [(16, False)]),
       (IN, 120, [(4096, True)])]


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "mix-uring": seed(0, MIX),
        "mix-sync": seed(4, MIX),
        "mix-indirect-eventidx": seed(3, MIX),
        "mix-readonly": seed(8 | 4, MIX),
        "mix-small-ring-depth-2": seed(0, MIX, log2=3, depth=2, turns=6),
        "mix-save-reset": seed(32 | 64, MIX),
        "race-uring": seed(16, MIX, turns=4),
        "race-sync-indirect": seed(16 | 4 | 2, MIX, turns=4),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
