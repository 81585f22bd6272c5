/*
 * The standalone runner shared by the fuzz targets (built with -DFUZZ_STANDALONE): it feeds
 * the hand-made seeds, then N generated inputs, each in an exact-size heap copy so that ASan
 * reports any read past the input. `PROG [N [SEED]]` or `PROG --write-seeds DIR`.
 */
#ifndef JB_FUZZ_DRIVER_H
#define JB_FUZZ_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/unit_helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_driver {
	const char *name;        /* for the report lines */
	const char *seed_prefix; /* file names written by --write-seeds */
	u64 default_seed;
	size_t nseeds;
	const u8 *(*seed)(size_t i, size_t *len);
	/* The next input into buf (noise, or a mutated seed); returns its length. */
	size_t (*next_input)(struct test_rng *rng, u8 *buf);
	size_t input_cap;
};

static int fuzz_write_seeds(const struct fuzz_driver *f, const char *dir)
{
	for (size_t i = 0; i < f->nseeds; i++) {
		char path[4096];
		size_t len;
		const u8 *data = f->seed(i, &len);
		FILE *out;

		snprintf(path, sizeof(path), "%s/%s-%zu", dir, f->seed_prefix, i);
		out = fopen(path, "wb");
		if (!out || fwrite(data, 1, len, out) != len || fclose(out) != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

static int fuzz_driver_main(const struct fuzz_driver *f, int argc, char **argv)
{
	long iterations = 200000;
	u64 seed = test_seed(f->default_seed);

	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return fuzz_write_seeds(f, argv[2]);

	u8 *buf = malloc(f->input_cap);

	if (!buf)
		return 1;
	if (argc > 1)
		iterations = strtol(argv[1], NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	printf("%s: %ld inputs, seed 0x%llx\n", f->name, iterations, (unsigned long long)seed);
	fflush(stdout);

	struct test_rng rng = { seed };

	for (size_t i = 0; i < f->nseeds; i++) {
		size_t len;
		const u8 *data = f->seed(i, &len);

		LLVMFuzzerTestOneInput(data, len);
	}
	for (long it = 0; it < iterations; it++) {
		size_t len = f->next_input(&rng, buf);
		u8 *input = malloc(len ? len : 1);

		if (!input)
			return 1;
		memcpy(input, buf, len);
		LLVMFuzzerTestOneInput(input, len);
		free(input);
	}
	free(buf);
	printf("%s: ok\n", f->name);
	return 0;
}

#endif
