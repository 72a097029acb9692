/* Counts where byte strings occur in a running process's writable memory
 * (its heap, stacks and other read-write mappings), for test_key_memory.sh:
 * which copies of a key a daemon still holds. Needs ptrace access to PID
 * (root). Prints one line per needle:
 *   NAME COUNT
 *
 * Usage: mg_memscan PID NAME=HEX [NAME=HEX...] */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK	    (1 << 20)
#define NEEDLES_MAX 16
#define NEEDLE_MAX  128

struct needle {
	const char *name;
	uint8_t bytes[NEEDLE_MAX];
	size_t len;
	unsigned long count;
};

static int unhex(struct needle *n, const char *hex)
{
	size_t len = strlen(hex);

	if (len % 2 || len / 2 > NEEDLE_MAX || len == 0)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		n->bytes[i] = (uint8_t)v;
	}
	n->len = len / 2;
	return 0;
}

/* Counts the needles in [start, end) of mem; a match across two chunks is
 * found through the overlap kept between them. */
static void scan(int mem, uint64_t start, uint64_t end, struct needle *nd, size_t n, uint8_t *buf)
{
	const size_t keep = NEEDLE_MAX - 1;
	size_t have = 0;

	for (uint64_t at = start; at < end;) {
		size_t want = end - at < CHUNK ? (size_t)(end - at) : CHUNK;
		ssize_t got = pread(mem, buf + have, want, (off_t)at);
		if (got <= 0)
			return;
		size_t total = have + (size_t)got;
		for (size_t k = 0; k < n; k++)
			for (size_t i = 0; i + nd[k].len <= total; i++)
				if (i + nd[k].len > have &&
				    !memcmp(buf + i, nd[k].bytes, nd[k].len))
					nd[k].count++;
		have = total < keep ? total : keep;
		memmove(buf, buf + total - have, have);
		at += (uint64_t)got;
	}
}

int main(int argc, char **argv)
{
	struct needle nd[NEEDLES_MAX];
	char path[64], line[512];
	size_t n = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: mg_memscan PID NAME=HEX...\n");
		return 2;
	}
	for (int i = 2; i < argc && n < NEEDLES_MAX; i++, n++) {
		char *eq = strchr(argv[i], '=');
		memset(&nd[n], 0, sizeof(nd[n]));
		if (!eq || unhex(&nd[n], eq + 1) < 0) {
			fprintf(stderr, "mg_memscan: bad needle '%s'\n", argv[i]);
			return 2;
		}
		*eq = '\0';
		nd[n].name = argv[i];
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	FILE *maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	int mem = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(CHUNK + NEEDLE_MAX);
	if (!maps || mem < 0 || !buf) {
		perror("mg_memscan");
		return 1;
	}
	while (fgets(line, sizeof(line), maps)) {
		uint64_t start, end;
		char perms[8];
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end, perms) != 3)
			continue;
		if (perms[0] == 'r' && perms[1] == 'w')
			scan(mem, start, end, nd, n, buf);
	}
	for (size_t k = 0; k < n; k++)
		printf("%s %lu\n", nd[k].name, nd[k].count);
	free(buf);
	close(mem);
	fclose(maps);
	return 0;
}
