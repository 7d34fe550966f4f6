/* libFuzzer target for the bzImage path of boot_load; seeds in
 * tests/fuzz/corpus/fuzz_bzimage/ (tests/fuzz/gen_boot_seeds.py). */
#include "fuzz_boot_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_boot_one(data, size);
}
