#!/usr/bin/env python3
"""Seeds for fuzz_vsock: valid rings on all three queues, TX packets that
drive the connection state machine (REQUEST to the listening port 1, RW,
CREDIT_REQUEST, SHUTDOWN, RST, and hostile headers), RX buffers for the
answers, event buffers. See tests/fuzz/fuzz_vsock.c for the layout."""
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), "corpus", "fuzz_vsock")
RX = (0x1000, 0x1800, 0x1c00)
TX = (0x2000, 0x2800, 0x2c00)
EV = 0x3000
RXBUF, TXBUF = 0x4000, 0x8000
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = 1, 2, 3, 4, 5, 6, 7


def hdr(op, src_port=1000, dst_port=1, ln=0, flags=0, src_cid=3, dst_cid=2, typ=1, buf_alloc=65536, fwd=0):
    return struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port, ln, typ, op, flags, buf_alloc, fwd)


def desc(ram, table, i, addr, ln, flags, nxt):
    struct.pack_into("<QIHH", ram, table + 16 * i, addr, ln, flags, nxt)


def seed(packets, flags, rx_bufs=8, rx_len=512, log2=(4, 4)):
    ram = bytearray(0x10000)
    d, at, heads = 0, TXBUF, []
    for p in packets:
        h, payload = p[:44], p[44:]
        ram[at:at + len(p)] = p
        if payload:
            desc(ram, TX[0], d, at, 44, 1, d + 1)
            desc(ram, TX[0], d + 1, at + 44, len(payload), 0, 0)
            heads.append(d)
            d += 2
        else:
            desc(ram, TX[0], d, at, len(h), 0, 0)
            heads.append(d)
            d += 1
        at += (len(p) + 15) & ~15
    for n, hd in enumerate(heads):
        struct.pack_into("<H", ram, TX[1] + 4 + 2 * n, hd)
    struct.pack_into("<HH", ram, TX[1], 0, len(heads))
    for i in range(rx_bufs):
        desc(ram, RX[0], i, RXBUF + i * rx_len, rx_len, 2, 0)
        struct.pack_into("<H", ram, RX[1] + 4 + 2 * i, i)
    struct.pack_into("<HH", ram, RX[1], 0, rx_bufs)
    for i in range(2):
        desc(ram, EV, i, EV + 0x300 + 16 * i, 4, 2, 0)
        struct.pack_into("<H", ram, EV + 0x100 + 4 + 2 * i, i)
    struct.pack_into("<HH", ram, EV + 0x100, 0, 2)
    h = struct.pack("<BB7H", log2[0] | log2[1] << 4, flags, *RX, *TX, EV)
    return h + bytes(ram).rstrip(b"\0")


def main():
    os.makedirs(OUT, exist_ok=True)
    data = bytes(range(200))
    seeds = {
        "connect-rw": ([hdr(REQUEST), hdr(RW, ln=200) + data, hdr(CREDIT_REQUEST), hdr(RST)], 8),
        "connect-shutdown": ([hdr(REQUEST), hdr(SHUTDOWN, flags=2), hdr(RW, ln=4) + b"late",
                              hdr(SHUTDOWN, flags=3)], 8 | 16),
        "refused-and-orphans": ([hdr(REQUEST, dst_port=9), hdr(RW, dst_port=9, ln=3) + b"abc",
                                 hdr(CREDIT_UPDATE, dst_port=5), hdr(RST, dst_port=5)], 1),
        "hostile": ([hdr(RW, ln=9999), hdr(0), hdr(9), hdr(RW, typ=2), hdr(RW, src_cid=7),
                     hdr(RW, dst_cid=3), hdr(REQUEST), hdr(REQUEST), hdr(RESPONSE), hdr(RW, ln=70000)], 0),
        "host-connect": ([hdr(RESPONSE, src_port=1, dst_port=0x40000000),
                          hdr(RW, src_port=1, dst_port=0x40000000, ln=5) + b"hello"], 2 | 8),
        "credit": ([hdr(REQUEST, buf_alloc=10), hdr(CREDIT_UPDATE, buf_alloc=300, fwd=10),
                    hdr(CREDIT_UPDATE, buf_alloc=0)], 8 | 1),
        "restore-event": ([hdr(REQUEST), hdr(RW, ln=200) + data], 4 | 8),
        "reset": ([hdr(REQUEST)], 2 | 32),
        # A racing guest rewrites RAM and registers while these are served.
        "race-connect-rw": ([hdr(REQUEST), hdr(RW, ln=200) + data, hdr(CREDIT_REQUEST), hdr(RST)], 8 | 64),
        "race-host-connect": ([hdr(RESPONSE, src_port=1, dst_port=0x40000000),
                               hdr(RW, src_port=1, dst_port=0x40000000, ln=5) + b"hello"], 2 | 8 | 64),
    }
    for name, (packets, flags) in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(seed(packets, flags))


if __name__ == "__main__":
    main()
