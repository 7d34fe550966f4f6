/* libFuzzer target: a snapshot container (an untrusted file) through
 * snap_parse. A file that parses must re-serialise, record by record through
 * the typed decoders and writers, to a container that parses to the same
 * records; and when nothing in it needed normalising (our minor, no
 * optional flag on a known tag), to the very same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format.h"

static void put_again(struct snap_writer *w, const struct snap_record *r)
{
	struct snap_machine m;
	struct snap_clock c;
	struct snap_irqchip ic;
	struct snap_vcpu v;
	struct snap_device d;
	struct snap_blob b;
	int err = 0;

	switch (r->tag) {
	case SNAP_TAG_MACHINE:
		if (!(err = snap_decode_machine(r, &m)))
			snap_put_machine(w, &m);
		break;
	case SNAP_TAG_CLOCK:
		if (!(err = snap_decode_clock(r, &c)))
			snap_put_clock(w, &c);
		break;
	case SNAP_TAG_IRQCHIP:
		if (!(err = snap_decode_irqchip(r, &ic)))
			snap_put_irqchip(w, &ic);
		break;
	case SNAP_TAG_VCPU:
		if (!(err = snap_decode_vcpu(r, &v)))
			snap_put_vcpu(w, v.index, v.state.data, v.state.len);
		break;
	case SNAP_TAG_DEVICE:
		if (!(err = snap_decode_device(r, &d)))
			snap_put_device(w, &d);
		break;
	default:
		if (snap_tag_legacy(r->tag)) {
			if (!(err = snap_decode_legacy(r, &b)))
				snap_put_legacy(w, r->tag, b.data, b.len);
			break;
		}
		snap_put_record(w, r->tag, r->flags, r->data, r->len);
	}
	if (err) /* a record of a parsed file must decode */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_file first, second;
	struct snap_writer w;
	const uint8_t *out;
	size_t out_len;
	int canonical;

	if (snap_parse(data, size, &first))
		return 0;
	canonical = first.minor == SNAP_FORMAT_MINOR;
	snap_writer_init(&w);
	for (size_t i = 0; i < first.count; i++) {
		if (snap_tag_known(first.records[i].tag) && first.records[i].flags)
			canonical = 0;
		put_again(&w, &first.records[i]);
	}
	if (snap_writer_finish(&w, &out, &out_len) || snap_parse(out, out_len, &second))
		abort();
	if (second.count != first.count)
		abort();
	for (size_t i = 0; i < first.count; i++) {
		const struct snap_record *a = &first.records[i], *b = &second.records[i];

		if (a->tag != b->tag || a->len != b->len || a->offset != b->offset ||
		    (a->len && memcmp(a->data, b->data, a->len)))
			abort();
		if (!snap_tag_known(a->tag) && a->flags != b->flags)
			abort();
	}
	if (canonical && (out_len != size || memcmp(out, data, size)))
		abort();
	snap_file_free(&second);
	snap_file_free(&first);
	snap_writer_free(&w);
	return 0;
}
