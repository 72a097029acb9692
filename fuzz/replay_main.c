/* Corpus replay: runs a libFuzzer harness over every file in the directories
 * (or files) named on the command line, so each harness is a plain CTest test
 * without clang. A crash or sanitizer report fails the test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open '%s'\n", path);
		return -1;
	}
	uint8_t *buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return -1;
	}
	size_t n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	/* The harness gets a buffer of exactly n bytes, as libFuzzer gives, so
	 * the sanitizers catch a read one byte past the input, which the spare
	 * room of the read buffer would hide. */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int replay_path(const char *path, int *count)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: no corpus at '%s'\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int ret = 0;
	while ((e = readdir(d)) && ret == 0) {
		if (e->d_name[0] == '.')
			continue;
		char child[4096];
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		ret = replay_path(child, count);
	}
	closedir(d);
	return ret;
}

int main(int argc, char **argv)
{
	int count = 0;
	/* The empty input is always worth a run. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) < 0)
			return 1;
	printf("replayed %d inputs\n", count);
	/* An empty corpus would pass having tested nothing but "". */
	if (count == 0) {
		fprintf(stderr, "replay: no inputs in the corpus\n");
		return 1;
	}
	return 0;
}
