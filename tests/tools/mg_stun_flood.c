/* mg_stun_flood: STUN messages at a responder from many source addresses,
 * for tests/integration/test_stun_responder.sh. IPv4 only.
 *
 *   mg_stun_flood --target IP:PORT --from IP [--sources N] --rate PPS
 *                 --seconds S [--kind binding|others]
 *
 * Opens N sockets (default 1), bound to N consecutive addresses from IP on
 * (they must be configured on an interface), and sends round-robin from
 * them, paced to PPS for S seconds. binding: Binding requests with
 * FINGERPRINT (a bare 20-byte header every other time, as some clients
 * send). others: STUN messages a responder must not answer, in turn: a
 * Binding indication, a success and an error response, a TURN Allocate
 * request, Binding requests with an unknown comprehension-required
 * attribute (PRIORITY), with a wrong FINGERPRINT and with an attribute
 * longer than the message. Counts what comes back for 0.5 s more.
 * Prints one line:
 *   sent N in T s from K sources; answers: success A error E other O; largest L bytes
 * Exit status 0, 1 on a usage error, 2 on a socket error. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "nat/stun.h"

#define MAX_SOURCES 1024
#define KINDS	    7

struct options {
	struct sockaddr_in target, from;
	int sources;
	double rate, seconds;
	bool others;
};

struct counts {
	uint64_t sent, success, error, other;
	size_t largest;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fputs("usage: mg_stun_flood --target IP:PORT --from IP [--sources N] --rate PPS\n"
	      "                     --seconds S [--kind binding|others]\n",
	      stderr);
	return 1;
}

static int parse_addr(struct sockaddr_in *out, const char *arg, bool with_port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(arg, ':');
	size_t n = with_port && colon ? (size_t)(colon - arg) : strlen(arg);
	long port = 0;

	if ((with_port && !colon) || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, n);
	host[n] = '\0';
	if (with_port) {
		char *end;

		port = strtol(colon + 1, &end, 10);
		if (*end || port < 1 || port > 65535)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "sources", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'k' },
		{ 0 },
	};
	bool target = false, from = false;
	int c;

	o->sources = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = parse_addr(&o->target, optarg, true) == 0;
			break;
		case 'f':
			from = parse_addr(&o->from, optarg, false) == 0;
			break;
		case 'n':
			o->sources = atoi(optarg);
			break;
		case 'r':
			o->rate = atof(optarg);
			break;
		case 's':
			o->seconds = atof(optarg);
			break;
		case 'k':
			if (strcmp(optarg, "binding") && strcmp(optarg, "others"))
				return -EINVAL;
			o->others = !strcmp(optarg, "others");
			break;
		default:
			return -EINVAL;
		}
	}
	if (!target || !from || o->sources < 1 || o->sources > MAX_SOURCES || o->rate <= 0 ||
	    o->seconds <= 0 || optind != argc)
		return -EINVAL;
	return 0;
}

/* One non-blocking socket per source address, connected to the target. */
static int open_sockets(const struct options *o, int *fds)
{
	for (int i = 0; i < o->sources; i++) {
		struct sockaddr_in src = o->from;

		src.sin_addr.s_addr = htonl(ntohl(o->from.sin_addr.s_addr) + (uint32_t)i);
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&src, sizeof(src)) < 0 ||
		    connect(fds[i], (struct sockaddr *)&o->target, sizeof(o->target)) < 0) {
			fprintf(stderr, "mg_stun_flood: source %s: %s\n", inet_ntoa(src.sin_addr),
				strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static void fix_fingerprint(uint8_t *buf, size_t len)
{
	uint32_t crc = mg_stun_crc32(buf, len - 8) ^ MG_STUN_FINGERPRINT_XOR;

	buf[len - 4] = (uint8_t)(crc >> 24), buf[len - 3] = (uint8_t)(crc >> 16);
	buf[len - 2] = (uint8_t)(crc >> 8), buf[len - 1] = (uint8_t)crc;
}

/* A request of 28 bytes (header, FINGERPRINT) turned into message `kind`
 * of the "others" list; returns its length. */
static size_t other_message(uint8_t *buf, unsigned kind)
{
	static const uint8_t priority[8] = { 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff };
	static const uint8_t overrun[8] = { 0x80, 0x22, 0x00, 0x10, 'x', 'y', 'z', 'w' };
	static const uint16_t types[4] = { 0x0011, 0x0101, 0x0111, 0x0003 };

	if (kind < 4) {
		buf[0] = (uint8_t)(types[kind] >> 8), buf[1] = (uint8_t)types[kind];
		fix_fingerprint(buf, 28);
		return 28;
	}
	if (kind == 6) {
		buf[27] ^= 1; /* a wrong FINGERPRINT */
		return 28;
	}
	/* An attribute before FINGERPRINT: 36 bytes. */
	memmove(buf + 28, buf + 20, 8);
	memcpy(buf + 20, kind == 4 ? priority : overrun, 8);
	buf[3] = 16;
	fix_fingerprint(buf, 36);
	return 36;
}

static size_t message(uint8_t *buf, const struct options *o, uint64_t n)
{
	uint8_t txid[MG_STUN_TXID_SIZE];
	size_t len;

	randombytes_buf(txid, sizeof(txid));
	len = mg_stun_build_request(buf, txid);
	if (o->others)
		return other_message(buf, (unsigned)(n % KINDS));
	if (n & 1) {
		buf[3] = 0; /* the bare header */
		return MG_STUN_HEADER_SIZE;
	}
	return len;
}

static void drain(int fd, struct counts *c)
{
	uint8_t buf[1600];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) >= 0) {
		uint16_t type = n >= 2 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0;

		if (type == MG_STUN_BINDING_SUCCESS)
			c->success++;
		else if ((type & 0x0110) == 0x0110)
			c->error++;
		else
			c->other++;
		if ((size_t)n > c->largest)
			c->largest = (size_t)n;
	}
}

static void flood(const struct options *o, const int *fds, struct counts *c, double *took)
{
	double start = now(), end = start + o->seconds;
	uint8_t buf[64];

	unsigned round = 0;

	for (double t = start; t < end; t = now()) {
		uint64_t due = (uint64_t)((t - start) * o->rate);

		while (c->sent < due) {
			size_t len = message(buf, o, c->sent);

			if (send(fds[c->sent % (uint64_t)o->sources], buf, len, 0) < 0)
				break;
			c->sent++;
		}
		/* Replies wait in the socket buffers: reading them every
		 * 50 ms costs fewer system calls. */
		if (++round % 50 == 0)
			for (int i = 0; i < o->sources; i++)
				drain(fds[i], c);
		usleep(1000);
	}
	*took = now() - start;
	for (double quiet = now() + 0.5; now() < quiet; usleep(10000))
		for (int i = 0; i < o->sources; i++)
			drain(fds[i], c);
}

int main(int argc, char **argv)
{
	static int fds[MAX_SOURCES];
	struct options o = { 0 };
	struct counts c = { 0 };
	double took;

	if (parse_args(argc, argv, &o) < 0)
		return usage();
	if (sodium_init() < 0 || open_sockets(&o, fds) < 0)
		return 2;
	flood(&o, fds, &c, &took);
	printf("sent %llu in %.2f s from %d sources; answers: success %llu error %llu other %llu; "
	       "largest %zu bytes\n",
	       (unsigned long long)c.sent, took, o.sources, (unsigned long long)c.success,
	       (unsigned long long)c.error, (unsigned long long)c.other, c.largest);
	return 0;
}
