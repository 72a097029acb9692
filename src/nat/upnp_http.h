/* The HTTP a UPnP IGD client needs (a GET of the root description, a SOAP
 * POST to the control URL), bounded in size and in time, because the
 * answers come from whatever holds the gateway's address on the LAN.
 *
 * miniupnpc 2.2.4 (Debian 12's) reads answers with getHTTPResponse(): its
 * header and body buffers grow with realloc for as long as the peer sends
 * (a chunked body, or one without Content-Length, has no limit; a large
 * Content-Length is allocated as announced), and its only timeout is 5 s
 * per recv(), so a gateway sending a byte every few seconds holds the
 * caller for ever. We therefore do the HTTP ourselves and hand miniupnpc
 * only the bytes to parse (parserootdesc, ParseNameValue).
 *
 * A whole answer, headers included, must fit in MG_UPNP_HTTP_MAX bytes and
 * arrive before the caller's deadline; everything after that is refused.
 * Requests are HTTP/1.1 with "Connection: close"; answers may use
 * Content-Length, chunked transfer coding, or end at the close. */
#ifndef MG_NAT_UPNP_HTTP_H
#define MG_NAT_UPNP_HTTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ample for an IGD description and a SOAP answer; more is refused. */
#define MG_UPNP_HTTP_MAX (64 * 1024)
/* Longest request we build: headers and a SOAP body of a few arguments. */
#define MG_UPNP_HTTP_REQUEST_MAX 2048
#define MG_UPNP_HTTP_PATH_MAX	 256

struct mg_upnp_http_url {
	struct sockaddr_in addr;	  /* the host, an IPv4 literal, and port */
	char host[INET_ADDRSTRLEN + 6];	  /* "A.B.C.D:PORT", for the Host header */
	char path[MG_UPNP_HTTP_PATH_MAX]; /* "/" when the URL has none */
};

struct mg_upnp_http_reply {
	int status;	  /* the status line's code */
	const char *body; /* inside the caller's buffer, decoded, NUL-terminated */
	size_t body_len;
};

/* Splits http://A.B.C.D[:PORT][/PATH] (port 80 when absent). -EINVAL when
 * it is not of that form or the path does not fit. */
int mg_upnp_http_url_parse(struct mg_upnp_http_url *out, const char *url);

/* Parses the len bytes of an answer received so far in buf (cap bytes,
 * cap > len; chunked bodies are decoded in place). eof: the peer closed.
 * Returns 0 with out set, -EAGAIN when more must be read, -EMSGSIZE when
 * the answer would not fit in cap, -EBADMSG when it is not HTTP. */
int mg_upnp_http_parse(struct mg_upnp_http_reply *out, char *buf, size_t len, size_t cap, bool eof);

/* Sends the request (req_len bytes) to url's host and reads the answer into
 * buf (cap bytes, at most MG_UPNP_HTTP_MAX used), all before deadline_ns on
 * CLOCK_MONOTONIC. Blocks: for the threadpool. local, if not NULL, gets our
 * address on the connection (the address the gateway should map to).
 * Returns 0, -ETIMEDOUT, -EMSGSIZE, -EBADMSG or a socket's -errno. */
int mg_upnp_http_exchange(struct mg_upnp_http_reply *out, char *buf, size_t cap,
			  const struct mg_upnp_http_url *url, const char *req, size_t req_len,
			  uint64_t deadline_ns, struct in_addr *local);

/* Now on CLOCK_MONOTONIC, for deadlines. */
uint64_t mg_upnp_http_now_ns(void);

#endif
