/* mg_flood: floods a WireGuard responder with handshake initiations that pass
 * its mac1 check but whose encrypted fields are random, so that every one
 * costs the responder a Diffie-Hellman before it fails. Enough of them fill
 * the responder's handshake queue and put it "under load", where it answers
 * initiations without a valid mac2 with cookie replies.
 *
 *   mg_flood --target IP:PORT|[IP6]:PORT --pubkey BASE64 --seconds S
 *            [--rate PPS] [--sockets N]
 *
 * Sends from N sockets (N source ports), paced to PPS (0: as fast as it can),
 * for S seconds; counts the cookie replies (type 3, 64 bytes) that come back.
 * Prints one summary line, also when stopped early by SIGTERM or SIGINT;
 * exits 0 if it could send. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/blake2s.h"

#define INITIATION_LEN	  148
#define MAC1_OFFSET	  116
#define COOKIE_REPLY_LEN  64
#define BATCH		  64
#define MAX_SOCKETS	  256
#define LABEL_MAC1	  "mac1----"
#define PUBKEY_LEN	  32
#define MAC_LEN		  16
#define TYPE_INITIATION	  1
#define TYPE_COOKIE_REPLY 3

struct options {
	struct sockaddr_storage target;
	socklen_t target_len;
	uint8_t pubkey[PUBKEY_LEN];
	double seconds;
	double rate;
	int sockets;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct stats {
	uint64_t sent;
	uint64_t send_errors;
	uint64_t cookies;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: mg_flood --target IP:PORT|[IP6]:PORT --pubkey BASE64 "
			"--seconds S [--rate PPS] [--sockets N]\n");
}

static int parse_target(const char *arg, struct options *o)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(arg, ':');
	size_t hlen;
	long port;
	char *end;

	if (!colon || (size_t)(colon - arg) >= sizeof(host))
		return -EINVAL;
	hlen = (size_t)(colon - arg);
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -EINVAL;
	memset(&o->target, 0, sizeof(o->target));
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->target;

		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		o->target_len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&o->target;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		o->target_len = sizeof(*s4);
	}
	return 0;
}

static int parse_pubkey(const char *arg, uint8_t out[PUBKEY_LEN])
{
	size_t len = 0;

	if (sodium_base642bin(out, PUBKEY_LEN, arg, strlen(arg), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != PUBKEY_LEN)
		return -EINVAL;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "pubkey", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "sockets", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_target = false, have_key = false;
	int c;

	o->seconds = 10;
	o->rate = 0;
	o->sockets = 16;
	while ((c = getopt_long(argc, argv, "t:k:s:r:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_target(optarg, o)) {
				fprintf(stderr,
					"mg_flood: bad --target \"%s\": expected "
					"IPV4:PORT or [IPV6]:PORT\n",
					optarg);
				return -EINVAL;
			}
			have_target = true;
			break;
		case 'k':
			if (parse_pubkey(optarg, o->pubkey)) {
				fprintf(stderr,
					"mg_flood: bad --pubkey \"%s\": expected "
					"32 bytes in base64\n",
					optarg);
				return -EINVAL;
			}
			have_key = true;
			break;
		case 's':
			o->seconds = atof(optarg);
			break;
		case 'r':
			o->rate = atof(optarg);
			break;
		case 'n':
			o->sockets = atoi(optarg);
			break;
		default:
			usage();
			return -EINVAL;
		}
	}
	if (!have_target || !have_key || o->seconds <= 0 || o->rate < 0 || o->sockets < 1 ||
	    o->sockets > MAX_SOCKETS) {
		usage();
		return -EINVAL;
	}
	return 0;
}

/* Connected, non-blocking UDP sockets, one source port each. */
static int open_sockets(const struct options *o, int *fds)
{
	int i, size = 4 << 20;

	for (i = 0; i < o->sockets; i++) {
		fds[i] = socket(o->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0)
			return -errno;
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
		if (connect(fds[i], (const struct sockaddr *)&o->target, o->target_len) < 0)
			return -errno;
	}
	return 0;
}

/* Random initiations with a correct mac1 and a zero mac2. */
static void fill_batch(uint8_t msgs[BATCH][INITIATION_LEN], const uint8_t mac1_key[32])
{
	int i;

	randombytes_buf(msgs, BATCH * INITIATION_LEN);
	for (i = 0; i < BATCH; i++) {
		uint8_t *m = msgs[i];

		m[0] = TYPE_INITIATION;
		m[1] = m[2] = m[3] = 0;
		mg_blake2s(m + MAC1_OFFSET, MAC_LEN, m, MAC1_OFFSET, mac1_key, 32);
		memset(m + MAC1_OFFSET + MAC_LEN, 0, MAC_LEN);
	}
}

/* Reads what came back in batches: one recv per reply would cost the
 * flooder (on the same cores as the responder) more than sending. */
static void count_cookies(int fd, struct stats *st)
{
	static uint8_t bufs[BATCH][256];
	struct mmsghdr hdrs[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	do {
		memset(hdrs, 0, sizeof(hdrs));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			hdrs[i].msg_hdr.msg_iov = &iov[i];
			hdrs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, hdrs, BATCH, MSG_DONTWAIT, NULL);
		for (i = 0; i < n; i++) {
			if (hdrs[i].msg_len == COOKIE_REPLY_LEN && bufs[i][0] == TYPE_COOKIE_REPLY)
				st->cookies++;
		}
	} while (n == BATCH);
}

static void send_batch(int fd, uint8_t msgs[BATCH][INITIATION_LEN], int count, struct stats *st)
{
	struct mmsghdr hdrs[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	memset(hdrs, 0, sizeof(hdrs));
	for (i = 0; i < count; i++) {
		iov[i].iov_base = msgs[i];
		iov[i].iov_len = INITIATION_LEN;
		hdrs[i].msg_hdr.msg_iov = &iov[i];
		hdrs[i].msg_hdr.msg_iovlen = 1;
	}
	n = sendmmsg(fd, hdrs, (unsigned int)count, 0);
	if (n < 0) {
		st->send_errors++;
		return;
	}
	st->sent += (uint64_t)n;
}

/* Sleeps until `sent` packets are due at `rate` packets/s since `start`. */
static void pace(double start, uint64_t sent, double rate)
{
	double ahead;

	if (rate <= 0)
		return;
	ahead = start + (double)sent / rate - now();
	if (ahead > 0) {
		struct timespec ts = { (time_t)ahead,
				       (long)((ahead - (double)(time_t)ahead) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static void flood(const struct options *o, const int *fds, struct stats *st)
{
	static uint8_t msgs[BATCH][INITIATION_LEN];
	uint8_t mac1_key[32];
	struct mg_blake2s_state s;
	double start = now();
	unsigned int turn = 0;

	mg_blake2s_init(&s, sizeof(mac1_key), NULL, 0);
	mg_blake2s_update(&s, (const uint8_t *)LABEL_MAC1, strlen(LABEL_MAC1));
	mg_blake2s_update(&s, o->pubkey, PUBKEY_LEN);
	mg_blake2s_final(&s, mac1_key);
	while (!stop && now() - start < o->seconds) {
		int fd = fds[turn++ % (unsigned int)o->sockets];

		fill_batch(msgs, mac1_key);
		send_batch(fd, msgs, BATCH, st);
		count_cookies(fd, st);
		pace(start, st->sent, o->rate);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	struct stats st = { 0 };
	int fds[MAX_SOCKETS];
	double start, secs;
	int i, err;

	if (sodium_init() < 0)
		return 1;
	if (parse_args(argc, argv, &o))
		return 2;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	err = open_sockets(&o, fds);
	if (err) {
		fprintf(stderr, "mg_flood: cannot open sockets: %s\n", strerror(-err));
		return 1;
	}
	start = now();
	flood(&o, fds, &st);
	secs = now() - start;
	usleep(200 * 1000);
	for (i = 0; i < o.sockets; i++) {
		count_cookies(fds[i], &st);
		close(fds[i]);
	}
	printf("mg_flood: sent %llu initiations in %.1f s (%.0f/s) from %d ports, %llu send "
	       "errors, %llu cookie replies received\n",
	       (unsigned long long)st.sent, secs, (double)st.sent / secs, o.sockets,
	       (unsigned long long)st.send_errors, (unsigned long long)st.cookies);
	return st.sent > 0 ? 0 : 1;
}
