/* mg_uapi_send: a raw client for a WireGuard UAPI socket, for tests that
 * need byte-exact requests wg(8) would never send.
 *
 *   mg_uapi_send [-m reply|hangup|shutwr] [-n REPLIES] [-l LINGER_MS]
 *                [-t TOTAL_MS] SOCKET
 *
 * Sends stdin, as it is, to the unix stream socket SOCKET, then:
 *   reply   (default) reads until the server closes, or REPLIES (1) replies
 *           ("errno=N" and an empty line) have come and nothing more for
 *           LINGER_MS (100);
 *   shutwr  the same after shutdown(SHUT_WR) (a half-close);
 *   hangup  closes at once without reading (a client that goes away).
 * Writes everything received to stdout, then one last line: "[closed]" (the
 * server closed), "[open]" (it kept the connection), "[hangup]" (we closed),
 * or "[timeout]" (TOTAL_MS, 5000, passed before REPLIES replies). A server
 * that stops reading or closes while the request is still being sent is not
 * an error: the rest of the request is dropped and its reply still read.
 * Exit status 0, or 2 when the socket cannot be reached. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum mode {
	MODE_REPLY,
	MODE_HANGUP,
	MODE_SHUTWR
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t r;

		if (!buf)
			return NULL;
		if (n == cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

/* Complete replies in what came so far: "errno=N" lines followed by an empty
 * line. */
static long replies(const char *rx, size_t n)
{
	long count = 0;

	for (size_t i = 0; i + 6 <= n; i++) {
		if ((i == 0 || rx[i - 1] == '\n') && !memcmp(rx + i, "errno=", 6)) {
			const char *nl = memchr(rx + i, '\n', n - i);

			if (nl && (size_t)(nl - rx) + 1 < n && nl[1] == '\n')
				count++;
		}
	}
	return count;
}

static void keep(char **rx, size_t *n, size_t *cap, const char *p, size_t len)
{
	if (*n + len > *cap) {
		size_t c = *cap ? *cap : 65536;
		char *bigger;

		while (c < *n + len)
			c *= 2;
		bigger = realloc(*rx, c);
		if (!bigger)
			exit(2);
		*rx = bigger;
		*cap = c;
	}
	memcpy(*rx + *n, p, len);
	*n += len;
}

static void usage(void)
{
	fputs("usage: mg_uapi_send [-m reply|hangup|shutwr] [-n REPLIES] [-l LINGER_MS] [-t "
	      "TOTAL_MS] "
	      "SOCKET < request\n",
	      stderr);
	exit(2);
}

static void out(const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, stdout) != n)
		exit(2);
}

int main(int argc, char **argv)
{
	enum mode mode = MODE_REPLY;
	long linger = 100, total = 5000, want = 1;
	size_t got = 0, got_cap = 0;
	char *rx = NULL;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = 0, sent = 0;
	bool sending = true;
	const char *status = NULL;
	long long start, last;
	char *req, buf[65536];
	int fd, c;

	while ((c = getopt(argc, argv, "m:n:l:t:")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "reply"))
				mode = MODE_REPLY;
			else if (!strcmp(optarg, "hangup"))
				mode = MODE_HANGUP;
			else if (!strcmp(optarg, "shutwr"))
				mode = MODE_SHUTWR;
			else
				usage();
			break;
		case 'n':
			want = atol(optarg);
			break;
		case 'l':
			linger = atol(optarg);
			break;
		case 't':
			total = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || strlen(argv[optind]) >= sizeof(sun.sun_path))
		usage();
	req = read_all(0, &len);
	if (!req) {
		perror("mg_uapi_send: stdin");
		return 2;
	}
	strcpy(sun.sun_path, argv[optind]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "mg_uapi_send: %s: %s\n", sun.sun_path, strerror(errno));
		return 2;
	}
	if (mode == MODE_HANGUP) {
		/* Blocking: the request is meant to be small. */
		while (sent < len) {
			ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			sent += (size_t)w;
		}
		close(fd);
		puts("[hangup]");
		free(req);
		return 0;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	start = last = now_ms();
	if (!len && mode == MODE_SHUTWR)
		shutdown(fd, SHUT_WR);
	while (!status) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long t = now_ms();
		long wait;
		int r;

		if (sending && sent < len)
			p.events |= POLLOUT;
		if (t - start >= total) {
			status = "[timeout]";
			break;
		}
		if (replies(rx, got) >= want && (!sending || sent == len)) {
			wait = linger - (long)(t - last);
			if (wait <= 0) {
				status = "[open]";
				break;
			}
		} else {
			wait = 100;
		}
		r = poll(&p, 1, (int)wait);
		if (r < 0 && errno != EINTR) {
			perror("mg_uapi_send: poll");
			return 2;
		}
		if (r <= 0)
			continue;
		if (p.revents & POLLIN || p.revents & (POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n > 0) {
				out(buf, (size_t)n);
				keep(&rx, &got, &got_cap, buf, (size_t)n);
				last = now_ms();
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				status = "[closed]";
				break;
			}
		}
		if (sending && sent < len && p.revents & POLLOUT) {
			ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

			if (w > 0) {
				sent += (size_t)w;
				last = now_ms();
				if (sent == len && mode == MODE_SHUTWR)
					shutdown(fd, SHUT_WR);
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				sending = false; /* the server went away mid-request */
			}
		}
	}
	fflush(stdout);
	puts(status);
	close(fd);
	free(req);
	free(rx);
	return 0;
}
