/* mg_udp_probe: what a NAT does to one UDP socket, for the NAT lab's
 * self-check (tests/integration/test_nat_lab.sh). IPv4 only.
 *
 *   mg_udp_probe echo PORT...
 *   mg_udp_probe send [-b PORT] [-w MS] ADDR:PORT...
 *
 * echo: one socket per PORT on every address; answers each datagram with
 * "ADDR:PORT" of its sender, the source a STUN server would report (the
 * NAT's mapping). Runs until killed.
 * send: ONE socket, bound to PORT (default 0: any), sends "probe" to every
 * ADDR:PORT in turn, then for MS (default 1000) milliseconds prints each
 * datagram that arrives as "FROM_ADDR:FROM_PORT TEXT", one line each,
 * flushed at once so that a test can act on it while the probe still
 * listens. One socket matters: a NAT maps a socket's flows, and whether two
 * destinations see the same mapped port is the mapping behaviour.
 * Exit status 0, 1 on a usage error, 2 on a socket error. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 16

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(void)
{
	fputs("usage: mg_udp_probe echo PORT...\n"
	      "       mg_udp_probe send [-b PORT] [-w MS] ADDR:PORT...\n",
	      stderr);
	return 1;
}

static int parse_port(const char *s, unsigned short *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535) {
		fprintf(stderr, "mg_udp_probe: bad port \"%s\" (expected 0..65535)\n", s);
		return -1;
	}
	*port = (unsigned short)v;
	return 0;
}

/* "A.B.C.D:PORT" into *sa. */
static int parse_endpoint(const char *s, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned short port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		goto bad;
	if (parse_port(colon + 1, &port) < 0 || port == 0)
		goto bad;
	sa->sin_port = htons(port);
	return 0;
bad:
	fprintf(stderr, "mg_udp_probe: bad endpoint \"%s\" (expected A.B.C.D:PORT)\n", s);
	return -1;
}

static int bound_socket(unsigned short port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "mg_udp_probe: cannot bind UDP port %u: %s\n", port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void format_sender(const struct sockaddr_in *sa, char *out, size_t len)
{
	char host[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
	snprintf(out, len, "%s:%u", host, ntohs(sa->sin_port));
}

static int run_echo(int argc, char **argv)
{
	struct pollfd pfd[MAX_PORTS];
	int i, n = argc;

	if (n < 1 || n > MAX_PORTS)
		return usage();
	for (i = 0; i < n; i++) {
		unsigned short port;

		if (parse_port(argv[i], &port) < 0)
			return 1;
		pfd[i].fd = bound_socket(port);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0)
			return 2;
	}
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 2;
		for (i = 0; i < n; i++) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			char buf[64], seen[32];

			if (!(pfd[i].revents & POLLIN))
				continue;
			if (recvfrom(pfd[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
				     &fl) < 0)
				continue;
			format_sender(&from, seen, sizeof(seen));
			sendto(pfd[i].fd, seen, strlen(seen), 0, (struct sockaddr *)&from, fl);
		}
	}
}

/* Prints every datagram arriving on fd until deadline. */
static void print_arrivals(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long left;

	while ((left = deadline - now_ms()) > 0) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		char buf[128], sender[32];
		ssize_t r;

		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
		if (r < 0)
			continue;
		buf[r] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		format_sender(&from, sender, sizeof(sender));
		printf("%s %s\n", sender, buf);
		fflush(stdout);
	}
}

static int run_send(int argc, char **argv)
{
	unsigned short bind_port = 0;
	long wait_ms = 1000;
	int opt, fd, i;

	while ((opt = getopt(argc, argv, "b:w:")) != -1) {
		switch (opt) {
		case 'b':
			if (parse_port(optarg, &bind_port) < 0)
				return 1;
			break;
		case 'w':
			wait_ms = strtol(optarg, NULL, 10);
			break;
		default:
			return usage();
		}
	}
	if (optind >= argc || wait_ms < 0 || wait_ms > 60000)
		return usage();
	fd = bound_socket(bind_port);
	if (fd < 0)
		return 2;
	for (i = optind; i < argc; i++) {
		struct sockaddr_in to;

		if (parse_endpoint(argv[i], &to) < 0)
			return 1;
		if (sendto(fd, "probe", 5, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			fprintf(stderr, "mg_udp_probe: send to %s: %s\n", argv[i], strerror(errno));
	}
	print_arrivals(fd, now_ms() + wait_ms);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "echo") == 0)
		return run_echo(argc - 2, argv + 2);
	if (strcmp(argv[1], "send") == 0)
		return run_send(argc - 1, argv + 1);
	return usage();
}
