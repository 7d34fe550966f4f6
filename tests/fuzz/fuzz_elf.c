/* libFuzzer target for the ELF vmlinux (PVH and 64-bit entry) path of boot_load; seeds in
 * tests/fuzz/corpus/fuzz_elf/ (tests/fuzz/gen_boot_seeds.py). */
#include "fuzz_boot_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_boot_one(data, size);
}
