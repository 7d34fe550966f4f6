/* libFuzzer target: a vCPU state blob (the opaque payload of a snapshot's
 * VCPU record, untrusted) through cpu_state_decode. Whatever decodes must
 * re-encode to bytes that decode to the very same state, and that
 * encoding is canonical: encoding the second decode gives it again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/cpu_state.h"

/* ~20 KiB each: static rather than on the fuzzer's stack. */
static struct cpu_state first, second;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_writer w, again;

	if (cpu_state_decode(data, size, &first))
		return 0;
	state_writer_init(&w);
	state_writer_init(&again);
	if (cpu_state_encode(&first, &w) || cpu_state_decode(w.buf, w.len, &second))
		abort();
	if (memcmp(&first, &second, sizeof(first)) != 0)
		abort();
	if (cpu_state_encode(&second, &again) || again.len != w.len || memcmp(again.buf, w.buf, w.len) != 0)
		abort();
	/* Only section order and nothing else is free in the input. */
	if (w.len != size)
		abort();
	state_writer_free(&again);
	state_writer_free(&w);
	return 0;
}
