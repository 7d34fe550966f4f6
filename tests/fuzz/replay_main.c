/* A plain driver for libFuzzer targets, so `make check` builds them with gcc
 * and replays inputs without clang: every file of the seed corpus, every
 * prefix of each seed (truncation), and a fixed-seed stream of mutated seeds
 * and random buffers. A crash or sanitizer report fails the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RANDOM_INPUTS 2000
#define REPLAY_MAX_INPUT (1u << 20)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned long run_one(const uint8_t *data, size_t size)
{
	/* Copy to an exact-size heap buffer so ASan/valgrind see overreads. */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	LLVMFuzzerTestOneInput(copy, size);
	free(copy);
	return 1;
}

static unsigned long replay_seed(const uint8_t *data, size_t size)
{
	unsigned long n = run_one(data, size);
	size_t step = size > 4096 ? size / 512 : 1;
	uint8_t *mut;

	for (size_t cut = 0; cut < size; cut += step)
		n += run_one(data, cut);
	mut = malloc(size ? size : 1);
	if (!mut)
		return n;
	for (int round = 0; round < 64 && size; round++) {
		memcpy(mut, data, size);
		for (int flips = 0; flips < 1 + round % 8; flips++)
			mut[rng_next() % size] = (uint8_t)rng_next();
		n += run_one(mut, size);
	}
	free(mut);
	return n;
}

static unsigned long replay_dir(const char *dir)
{
	unsigned long n = 0;
	struct dirent *ent;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((ent = readdir(d))) {
		char path[4096];
		uint8_t *buf;
		FILE *f;
		size_t len;

		if (ent->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		buf = malloc(REPLAY_MAX_INPUT);
		len = buf ? fread(buf, 1, REPLAY_MAX_INPUT, f) : 0;
		fclose(f);
		if (buf)
			n += replay_seed(buf, len);
		free(buf);
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	unsigned long n = 0;
	uint8_t *buf = malloc(65536);

	if (!buf)
		return 1;
	for (int i = 1; i < argc; i++)
		n += replay_dir(argv[i]);
	for (int i = 0; i < RANDOM_INPUTS; i++) {
		size_t len = rng_next() % (i < RANDOM_INPUTS / 2 ? 256 : 65536);

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rng_next();
		n += run_one(buf, len);
	}
	free(buf);
	printf("%lu inputs replayed\n", n);
	return 0;
}
