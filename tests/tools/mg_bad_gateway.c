/* A hostile UPnP "gateway" for test_upnp_bounds.sh: an HTTP server that
 * answers every request (the description GET, a SOAP POST) in one way a
 * bounded client must survive. Each connection gets a thread; when it ends
 * (the client closed, or the answer ended) the tool prints
 *   conn N MODE get|post sent BYTES ms MILLISECONDS
 * so the test sees how long the client stayed and how much it was offered.
 *
 * Modes:
 *   huge     Content-Length: 2000000000, then an endless body
 *   endless  no Content-Length, an endless body
 *   chunked  chunked transfer coding, endless 4 KiB chunks
 *   headers  endless header lines, never a blank line
 *   drip     "HTTP/1.1 200 OK\r\n", then one byte every 300 ms for ever
 *   evil     a short SOAP answer whose external address holds a terminal
 *            escape and a line break (for the log sanitiser)
 * soap-MODE answers a GET with a valid IGD description whose control URL is
 * on this server, and a SOAP POST in MODE: the bound holds for both.
 *
 * Usage: mg_bad_gateway MODE ADDR PORT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *mode;
static atomic_uint conns;

struct conn {
	int fd;
	unsigned id;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends all of p; false once the client has gone. */
static bool put(int fd, const char *p, size_t len, uint64_t *sent)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
		*sent += (uint64_t)n;
	}
	return true;
}

static const char description[] =
	"<?xml version=\"1.0\"?>\r\n"
	"<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>"
	"<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>"
	"<deviceList><device>"
	"<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>"
	"<deviceList><device>"
	"<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>"
	"<serviceList><service>"
	"<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
	"<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>"
	"<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL>"
	"<SCPDURL>/WANIPCn.xml</SCPDURL>"
	"</service></serviceList></device></deviceList></device></deviceList>"
	"</device></root>\r\n";

/* Reads what the client sent up to the end of its headers (a SOAP body
 * may follow; it does not matter); true for a GET. */
static bool read_request(int fd)
{
	char buf[4096];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	return len >= 4 && !memcmp(buf, "GET ", 4);
}

static void describe(int fd, uint64_t *sent)
{
	char head[128];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 sizeof(description) - 1);
	if (put(fd, head, (size_t)n, sent))
		put(fd, description, sizeof(description) - 1, sent);
}

static void serve(int fd, const char *how, uint64_t *sent)
{
	char head[256], block[4096 + 16];

	memset(block, 'A', sizeof(block));
	if (!strcmp(how, "drip")) {
		if (!put(fd, "HTTP/1.1 200 OK\r\n", 17, sent))
			return;
		while (put(fd, "X", 1, sent))
			usleep(300 * 1000);
		return;
	}
	const char *first = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n";
	if (!put(fd, first, strlen(first), sent))
		return;
	if (!strcmp(how, "evil")) {
		static const char evil[] =
			"<s:Envelope><s:Body><u:GetExternalIPAddressResponse>"
			"<NewExternalIPAddress>\x1b[2J\nFAKE 1.2.3.4</NewExternalIPAddress>"
			"</u:GetExternalIPAddressResponse></s:Body></s:Envelope>";
		snprintf(head, sizeof(head), "Content-Length: %zu\r\n\r\n", sizeof(evil) - 1);
		if (put(fd, head, strlen(head), sent))
			put(fd, evil, sizeof(evil) - 1, sent);
		return;
	}
	if (!strcmp(how, "headers")) {
		memcpy(block, "X-Pad: ", 7);
		memcpy(block + 4096 - 2, "\r\n", 2);
		while (put(fd, block, 4096, sent))
			;
		return;
	}
	if (!strcmp(how, "huge"))
		snprintf(head, sizeof(head), "Content-Length: 2000000000\r\n\r\n");
	else if (!strcmp(how, "chunked"))
		snprintf(head, sizeof(head), "Transfer-Encoding: chunked\r\n\r\n");
	else
		snprintf(head, sizeof(head), "\r\n");
	if (!put(fd, head, strlen(head), sent))
		return;
	if (!strcmp(how, "chunked")) {
		memcpy(block, "1000\r\n", 6);
		memcpy(block + 6 + 4096, "\r\n", 2);
		while (put(fd, block, 6 + 4096 + 2, sent))
			;
		return;
	}
	while (put(fd, block, 4096, sent))
		;
}

static void *run(void *arg)
{
	struct conn *c = arg;
	uint64_t t0 = now_ms(), sent = 0;
	bool soap = !strncmp(mode, "soap-", 5);
	bool get = read_request(c->fd);

	if (soap && get)
		describe(c->fd, &sent);
	else
		serve(c->fd, soap ? mode + 5 : mode, &sent);
	close(c->fd);
	printf("conn %u %s %s sent %llu ms %llu\n", c->id, mode, get ? "get" : "post",
	       (unsigned long long)sent, (unsigned long long)(now_ms() - t0));
	fflush(stdout);
	free(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1;

	if (argc != 4 || inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
		fprintf(stderr,
			"usage: mg_bad_gateway huge|endless|chunked|headers|drip ADDR PORT\n");
		return 2;
	}
	mode = argv[1];
	a.sin_port = htons((uint16_t)atoi(argv[3]));
	signal(SIGPIPE, SIG_IGN);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0) {
		perror("mg_bad_gateway");
		return 1;
	}
	printf("listening %s %s:%s\n", mode, argv[2], argv[3]);
	fflush(stdout);
	for (;;) {
		int fd = accept(s, NULL, NULL);
		if (fd < 0)
			continue;
		struct conn *c = malloc(sizeof(*c));
		pthread_t t;
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++conns;
		if (pthread_create(&t, NULL, run, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
}
