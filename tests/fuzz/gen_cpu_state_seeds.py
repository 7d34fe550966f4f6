#!/usr/bin/env python3
"""Seeds for fuzz_cpu_state: valid vCPU state encodings (see
snapshot/cpu_state.h) -- a booting BSP, an AP waiting for SIPI, a halted
64-bit vCPU with an exception in flight, full MSR and CPUID tables, no
MSRs or CPUID at all, and sections in reverse order."""
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), "corpus", "fuzz_cpu_state")
VERSION = 1
REGS, SREGS, XSAVE, XCRS, LAPIC, EVENTS, MP_STATE, MSRS, CPUID = range(1, 10)
SIZES = {REGS: 144, SREGS: 312, XSAVE: 4096, XCRS: 392, LAPIC: 1024, EVENTS: 64}
RUNNABLE, UNINITIALIZED, HALTED = 0, 1, 3
BOOT_MSRS = [0x174, 0x175, 0x176, 0xC0000081, 0xC0000083, 0xC0000102, 0xC0000084, 0xC0000082,
             0x10, 0x1A0, 0x277]


def pattern(n, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def regs(rip, rsp):
    r = bytearray(SIZES[REGS])  # rax..r15 (16 x u64), rip, rflags
    struct.pack_into("<QQ", r, 128, rip, 0x2)
    struct.pack_into("<Q", r, 8 * 4, rsp)
    return bytes(r)


def sregs(long_mode):
    s = bytearray(SIZES[SREGS])
    cr0, cr4, efer = (0x80050033, 0x3406E0, 0xD01) if long_mode else (0x60000010, 0, 0)
    # 8 segments + 2 dtables = 8*24 + 2*16 = 224 bytes, then cr0 cr2 cr3 cr4 cr8 efer apic_base
    struct.pack_into("<QQQQQQQ", s, 224, cr0, 0, 0x1000, cr4, 0, efer, 0xFEE00900)
    return bytes(s)


def xcrs(value):
    x = bytearray(SIZES[XCRS])
    struct.pack_into("<II", x, 0, 1, 0)
    struct.pack_into("<IIQ", x, 8, 0, 0, value)
    return bytes(x)


def msrs(entries):
    return struct.pack("<I", len(entries)) + b"".join(struct.pack("<IQ", i, d) for i, d in entries)


def cpuid(entries):
    return struct.pack("<I", len(entries)) + b"".join(struct.pack("<7I", *e) for e in entries)


def state(mp, rip=0x1000000, long_mode=True, msr_list=None, cpuid_list=None, events=None, seed=1):
    msr_list = [(i, 0) for i in BOOT_MSRS] if msr_list is None else msr_list
    cpuid_list = [(0, 0, 0, 0xD, 0x756E6547, 0x6C65746E, 0x49656E69), (1, 0, 0, 0x906EA, 0x800, 0, 0)] \
        if cpuid_list is None else cpuid_list
    return [
        (REGS, regs(rip, 0x8FF0)),
        (SREGS, sregs(long_mode)),
        (XSAVE, pattern(SIZES[XSAVE], seed)),
        (XCRS, xcrs(7)),
        (LAPIC, pattern(SIZES[LAPIC], seed + 1)),
        (EVENTS, events if events is not None else bytes(SIZES[EVENTS])),
        (MP_STATE, struct.pack("<I", mp)),
        (MSRS, msrs(msr_list)),
        (CPUID, cpuid(cpuid_list)),
    ]


def encode(sections):
    return struct.pack("<I", VERSION) + b"".join(struct.pack("<II", i, len(b)) + b for i, b in sections)


def main():
    os.makedirs(OUT, exist_ok=True)
    exception = bytearray(SIZES[EVENTS])
    struct.pack_into("<BBBBI", exception, 0, 1, 14, 1, 0, 2)  # #PF being injected
    seeds = {
        "boot_bsp": state(RUNNABLE),
        "ap_uninitialized": state(UNINITIALIZED, rip=0xFFF0, long_mode=False, msr_list=[]),
        "halted_exception": state(HALTED, rip=0xFFFFFFFF81000ABC, events=bytes(exception),
                                  msr_list=[(0x10, 0x123456789A), (0x6E0, 0), (0x4B564D01, 0x2A5D001)]),
        "max_counts": state(RUNNABLE, msr_list=[(0xC0000000 + i, i * 3) for i in range(256)],
                            cpuid_list=[(i, i & 3, i & 1, i, i, i, i) for i in range(256)]),
        "empty_tables": state(HALTED, msr_list=[], cpuid_list=[]),
        "reversed": list(reversed(state(RUNNABLE, seed=9))),
    }
    for name, sections in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(encode(sections))


if __name__ == "__main__":
    main()
