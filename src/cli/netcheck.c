/* meshguard netcheck: what the network looks like from here, before joining
 * anything. From one UDP socket (the listen port if it is free, else an
 * ephemeral one) it asks every --stun server where it comes from, classifies
 * the NAT's mapping from the answers, and asks the gateway for a port
 * mapping (NAT-PMP, PCP, UPnP IGD), all at once on one loop, and reports
 * when everything answered or --timeout ran out, whichever comes first.
 *
 * There is no built-in list of public servers: a check without --stun says
 * the public endpoint is unknown. */
#include "cli/commands.h"
#include "util/macros.h"
#include "nat/natprobe.h"
#include "nat/portmap.h"
#include "nat/stun_client.h"
#include "util/json.h"
#include "util/log.h"
#include "tunnel/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define DEFAULT_PORT	   51820
#define DEFAULT_TIMEOUT_MS 5000
#define MIN_TIMEOUT_MS	   100
#define MAX_TIMEOUT_MS	   600000
#define MAX_SERVERS	   16
#define MAX_PROBES	   (2 * MAX_SERVERS) /* a name may give IPv4 and IPv6 */
#define MAX_LOCAL	   64
/* After the deadline, how long a cancelled gateway probe may take to delete
 * what it mapped and report. */
#define PORTMAP_GRACE_MS 1500

struct server {
	const char *arg; /* as given to --stun */
	struct netcheck *nc;
	uv_getaddrinfo_t gai;
	bool resolving;
	int error; /* why it has no address: a libuv error (UV_EAI_*, UV_ETIMEDOUT) */
	char host[256];
	char port[8];
};

/* One STUN transaction: one server address. */
struct probe {
	struct server *server;
	struct mg_stun_transaction t;
	struct mg_stun_result r;
	bool running, done;
};

struct local_addr {
	char ifname[IFNAMSIZ];
	struct mg_endpoint addr; /* port 0 */
};

struct netcheck {
	/* options */
	struct server servers[MAX_SERVERS];
	unsigned nservers;
	uint16_t want_port;
	uint32_t timeout_ms;
	bool json;
	const char *upnp_url, *state_dir;

	uv_loop_t loop;
	struct mg_udp udp;
	bool port_is_listen_port;
	int listen_port_error; /* why the listen port was not used */
	uv_poll_t poll4, poll6;
	bool poll4_on, poll6_on;
	uv_timer_t deadline;
	/* Runs unreferenced from the deadline on: if work still keeps the loop
	 * alive after the grace, the check stops without it. */
	uv_timer_t stop_timer;
	bool client_ready, timers_ready;
	bool timed_out, finished;
	bool abandoned; /* stopped with work outstanding, after the grace */
	struct mg_stun_client client;
	struct probe probes[MAX_PROBES];
	unsigned nprobes;

	struct mg_portmap_probe *portmap;
	bool portmap_running;
	int portmap_error; /* mg_portmap_probe_start's, or 0 */
	bool have_portmap_result;
	struct mg_portmap_probe_result portmap_result;

	struct local_addr local[MAX_LOCAL];
	unsigned nlocal;
};

static void usage(FILE *f)
{
	fputs("Usage: meshguard netcheck [--stun HOST:PORT]... [--port N] [--timeout MS] [--json]\n"
	      "                          [--upnp-url URL] [--state DIR]\n"
	      "  --stun HOST:PORT  a STUN server to ask (repeat it: two servers at different\n"
	      "                    addresses are needed to tell the NAT's mapping behaviour)\n"
	      "  --port N          the listen port to probe from if it is free (default 51820;\n"
	      "                    0: an ephemeral port)\n"
	      "  --timeout MS      how long the whole check may take (default 5000)\n"
	      "  --json            one JSON object on stdout, for scripts\n"
	      "  --upnp-url URL    UPnP IGD root description, instead of SSDP discovery\n"
	      "  --state DIR       state directory (default /var/lib/meshguard)\n",
	      f);
}

static int parse_number(unsigned long *out, const char *s, unsigned long min, unsigned long max)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

/* HOST:PORT, [V6]:PORT or V4:PORT into host and port strings. */
static int split_server(struct server *s, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	const char *host = arg;
	size_t host_len;
	unsigned long port;

	if (!colon || parse_number(&port, colon + 1, 1, 65535) < 0)
		return -EINVAL;
	host_len = (size_t)(colon - arg);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']')
		host++, host_len -= 2;
	else if (memchr(host, ':', host_len))
		return -EINVAL; /* a bare IPv6 address needs brackets */
	if (!host_len || host_len >= sizeof(s->host))
		return -EINVAL;
	memcpy(s->host, host, host_len);
	s->host[host_len] = '\0';
	snprintf(s->port, sizeof(s->port), "%lu", port);
	s->arg = arg;
	return 0;
}

static int add_server(struct netcheck *nc, const char *arg)
{
	if (nc->nservers == MAX_SERVERS) {
		fprintf(stderr, "meshguard netcheck: more than %d --stun servers\n", MAX_SERVERS);
		return -EINVAL;
	}
	if (split_server(&nc->servers[nc->nservers], arg) < 0) {
		fprintf(stderr,
			"meshguard netcheck: --stun \"%s\" is not a server (expected HOST:PORT, "
			"IPV4:PORT or [IPV6]:PORT)\n",
			arg);
		return -EINVAL;
	}
	nc->servers[nc->nservers++].nc = nc;
	return 0;
}

static int parse_option(struct netcheck *nc, int c, const char *arg)
{
	unsigned long v;

	switch (c) {
	case 's':
		return add_server(nc, arg);
	case 'p':
		if (parse_number(&v, arg, 0, 65535) < 0) {
			fprintf(stderr,
				"meshguard netcheck: --port \"%s\" is not a port (expected "
				"0-65535)\n",
				arg);
			return -EINVAL;
		}
		nc->want_port = (uint16_t)v;
		return 0;
	case 't':
		if (parse_number(&v, arg, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS) < 0) {
			fprintf(stderr,
				"meshguard netcheck: --timeout \"%s\" is not a time (expected "
				"%d-%d "
				"milliseconds)\n",
				arg, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
			return -EINVAL;
		}
		nc->timeout_ms = (uint32_t)v;
		return 0;
	case 'j':
		nc->json = true;
		return 0;
	case 'u':
		nc->upnp_url = arg;
		return 0;
	case 'd':
		nc->state_dir = arg;
		return 0;
	}
	return -EINVAL;
}

/* 1: --help was shown; 0: go on; -EINVAL: bad usage (already reported). */
static int parse_args(struct netcheck *nc, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stun", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "upnp-url", required_argument, NULL, 'u' },
		{ "state", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	nc->want_port = DEFAULT_PORT;
	nc->timeout_ms = DEFAULT_TIMEOUT_MS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || parse_option(nc, c, optarg) < 0) {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "meshguard netcheck: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* ---- the socket ---- */

static int stun_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct netcheck *nc = ctx;
	return mg_udp_send(&nc->udp, to, buf, len);
}

/* One datagram per read: STUN answers are few and small, and coalescing
 * would glue two answers into one buffer. */
static void no_gro(int fd)
{
	int zero = 0;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero));
}

/* The listen port if it is free, else one the kernel picks. */
static int open_socket(struct netcheck *nc)
{
	int ret = -EADDRINUSE;

	if (nc->want_port) {
		ret = mg_udp_open(&nc->udp, nc->want_port, 0);
		nc->port_is_listen_port = ret == 0;
		nc->listen_port_error = ret;
	}
	if (ret < 0)
		ret = mg_udp_open(&nc->udp, 0, 0);
	if (ret < 0) {
		fprintf(stderr, "meshguard netcheck: cannot open a UDP socket: %s\n",
			strerror(-ret));
		return ret;
	}
	no_gro(nc->udp.fd4);
	no_gro(nc->udp.fd6);
	return 0;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct netcheck *nc = h->data;
	uint8_t buf[MG_STUN_MAX_SIZE];
	struct mg_endpoint from = { 0 }; /* recvfrom fills the remote part only */
	uv_os_fd_t fd;

	(void)events;
	if (status < 0 || uv_fileno((uv_handle_t *)h, &fd) < 0)
		return;
	for (int i = 0; i < 64; i++) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, &from.sa, &len);
		if (n < 0)
			break;
		if (mg_stun_is_stun(buf, (size_t)n))
			mg_stun_client_receive(&nc->client, &from, buf, (size_t)n);
	}
}

static int watch(struct netcheck *nc, uv_poll_t *p, int fd, bool *on)
{
	int ret;

	if (fd < 0)
		return 0;
	ret = uv_poll_init(&nc->loop, p, fd);
	if (ret < 0)
		return ret;
	p->data = nc;
	*on = true;
	return uv_poll_start(p, UV_READABLE, on_readable);
}

/* ---- local addresses ---- */

static void collect_local_addresses(struct netcheck *nc)
{
	struct ifaddrs *list, *ifa;

	if (getifaddrs(&list) < 0)
		return;
	for (ifa = list; ifa && nc->nlocal < MAX_LOCAL; ifa = ifa->ifa_next) {
		struct local_addr *l = &nc->local[nc->nlocal];
		int family = ifa->ifa_addr ? ifa->ifa_addr->sa_family : AF_UNSPEC;

		if ((family != AF_INET && family != AF_INET6) || !(ifa->ifa_flags & IFF_UP) ||
		    (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		memset(l, 0, sizeof(*l));
		memcpy(&l->addr, ifa->ifa_addr,
		       family == AF_INET ? sizeof(struct sockaddr_in)
					 : sizeof(struct sockaddr_in6));
		snprintf(l->ifname, sizeof(l->ifname), "%s", ifa->ifa_name);
		nc->nlocal++;
	}
	freeifaddrs(list);
}

/* ---- completion ---- */

static bool stun_pending(const struct netcheck *nc)
{
	for (unsigned i = 0; i < nc->nservers; i++)
		if (nc->servers[i].resolving)
			return true;
	for (unsigned i = 0; i < nc->nprobes; i++)
		if (nc->probes[i].running)
			return true;
	return false;
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void close_all(struct netcheck *nc)
{
	if (nc->timers_ready)
		close_handle((uv_handle_t *)&nc->deadline);
	if (nc->poll4_on)
		close_handle((uv_handle_t *)&nc->poll4);
	if (nc->poll6_on)
		close_handle((uv_handle_t *)&nc->poll6);
	if (nc->client_ready)
		mg_stun_client_close(&nc->client, NULL);
}

/* Everything answered, or the time is up: stop the loop's work. The report
 * is printed once uv_run returns. */
static void maybe_finish(struct netcheck *nc)
{
	if (nc->finished || stun_pending(nc) || nc->portmap_running)
		return;
	nc->finished = true;
	close_all(nc);
}

static void on_stun_done(struct mg_stun_transaction *t, const struct mg_stun_result *r)
{
	struct probe *p = container_of(t, struct probe, t);
	struct netcheck *nc = p->server->nc;

	p->r = *r;
	p->running = false;
	p->done = true;
	maybe_finish(nc);
}

static void start_probe(struct netcheck *nc, struct server *s, const struct mg_endpoint *ep)
{
	struct probe *p;
	int ret;

	if (nc->nprobes == MAX_PROBES)
		return;
	p = &nc->probes[nc->nprobes++];
	memset(p, 0, sizeof(*p));
	p->server = s;
	p->r.server = *ep;
	ret = mg_stun_client_start(&nc->client, &p->t, ep, on_stun_done);
	if (ret < 0) {
		p->r.status = ret; /* the first send failed: no route, say */
		p->done = true;
		return;
	}
	p->running = true;
}

static bool have_socket(const struct netcheck *nc, int family)
{
	return (family == AF_INET ? nc->udp.fd4 : nc->udp.fd6) >= 0;
}

/* The first address of each family we have a socket for. */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct server *s = container_of(req, struct server, gai);
	struct netcheck *nc = s->nc;
	bool v4 = false, v6 = false;

	s->resolving = false;
	if (nc->timed_out) {
		s->error = UV_ETIMEDOUT; /* too late, whatever it says */
		uv_freeaddrinfo(res);
		maybe_finish(nc);
		return;
	}
	if (status < 0) {
		s->error = status;
		uv_freeaddrinfo(res);
		maybe_finish(nc);
		return;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		bool *seen = ai->ai_family == AF_INET ? &v4 : &v6;
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || *seen ||
		    !have_socket(nc, ai->ai_family) || ai->ai_addrlen > sizeof(struct mg_endpoint))
			continue;
		struct mg_endpoint ep = { 0 };
		memcpy(&ep, ai->ai_addr, ai->ai_addrlen);
		*seen = true;
		start_probe(nc, s, &ep);
	}
	if (!v4 && !v6)
		s->error = UV_EAI_ADDRFAMILY;
	uv_freeaddrinfo(res);
	maybe_finish(nc);
}

/* Numeric addresses start at once; names are looked up off the loop. */
static void start_server(struct netcheck *nc, struct server *s)
{
	static const struct addrinfo hints = { .ai_family = AF_UNSPEC,
					       .ai_socktype = SOCK_DGRAM,
					       .ai_protocol = IPPROTO_UDP };
	struct mg_endpoint ep;
	int ret;

	if (mg_endpoint_parse(&ep, s->arg) == 0) {
		if (have_socket(nc, ep.sa.sa_family))
			start_probe(nc, s, &ep);
		else
			s->error = UV_EAFNOSUPPORT;
		return;
	}
	ret = uv_getaddrinfo(&nc->loop, &s->gai, on_resolved, s->host, s->port, &hints);
	if (ret < 0)
		s->error = ret;
	else
		s->resolving = true;
}

static void on_portmap(const struct mg_portmap_probe_result *result, void *arg)
{
	struct netcheck *nc = arg;

	nc->portmap_result = *result;
	nc->have_portmap_result = true;
	nc->portmap_running = false;
	nc->portmap = NULL; /* it frees itself */
	maybe_finish(nc);
}

static void start_portmap(struct netcheck *nc)
{
	struct mg_portmap_config config = {
		.upnp_url = nc->upnp_url,
		.state_dir = nc->state_dir,
		/* The probe takes about four request timeouts at most. */
		.timeout_ms = nc->timeout_ms / 4 > 100 ? nc->timeout_ms / 4 : 100,
		.clock = &mg_clock_system,
	};
	int ret = mg_portmap_probe_start(&nc->portmap, &nc->loop, &config, nc->udp.port, on_portmap,
					 nc);

	nc->portmap_error = ret;
	nc->portmap_running = ret == 0;
}

/* The grace after the deadline is over too: report what is known. */
static void on_hard_stop(uv_timer_t *timer)
{
	struct netcheck *nc = container_of(timer, struct netcheck, stop_timer);

	nc->abandoned = true;
	uv_stop(&nc->loop);
}

/* The time is up: what has not answered did not answer in time. A cancelled
 * gateway probe still deletes what it mapped and reports; a name lookup that
 * already runs cannot be stopped, so it is abandoned. */
static void on_deadline(uv_timer_t *timer)
{
	struct netcheck *nc = container_of(timer, struct netcheck, deadline);

	nc->timed_out = true;
	for (unsigned i = 0; i < nc->nservers; i++) {
		struct server *s = &nc->servers[i];
		if (s->resolving && uv_cancel((uv_req_t *)&s->gai) < 0) {
			s->resolving = false;
			s->error = UV_ETIMEDOUT;
		}
	}
	for (unsigned i = 0; i < nc->nprobes; i++) {
		struct probe *p = &nc->probes[i];
		if (!p->running)
			continue;
		p->r.status = -ETIMEDOUT;
		p->r.sends = p->t.sends;
		p->running = false;
		p->done = true;
		mg_stun_client_cancel(&p->t);
	}
	if (nc->portmap_running)
		mg_portmap_probe_cancel(nc->portmap);
	uv_timer_start(&nc->stop_timer, on_hard_stop, PORTMAP_GRACE_MS, 0);
	uv_unref((uv_handle_t *)&nc->stop_timer);
	maybe_finish(nc);
}

/* ---- the report ---- */

static const char *proto_title(enum mg_portmap_proto proto)
{
	switch (proto) {
	case MG_PORTMAP_NATPMP:
		return "NAT-PMP";
	case MG_PORTMAP_PCP:
		return "PCP";
	case MG_PORTMAP_UPNP:
		return "UPnP IGD";
	case MG_PORTMAP_PROTO_COUNT:
		break;
	}
	return "?";
}

static void format_addr(char *out, size_t len, const struct mg_endpoint *ep)
{
	const void *a = ep->sa.sa_family == AF_INET ? (const void *)&ep->in4.sin_addr
						    : (const void *)&ep->in6.sin6_addr;
	if (!inet_ntop(ep->sa.sa_family, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

/* Why a probe or server has no mapped endpoint, in words. */
static void describe_failure(char *out, size_t len, const struct netcheck *nc,
			     const struct mg_stun_result *r)
{
	switch (r->status) {
	case -ETIMEDOUT:
		snprintf(out, len, "no answer within %u ms (%u request%s sent)", nc->timeout_ms,
			 r->sends, r->sends == 1 ? "" : "s");
		break;
	case -EPROTO:
		snprintf(out, len, "error response %u", r->error_code);
		break;
	case -EBADMSG:
		snprintf(out, len, "an answer without a mapped address");
		break;
	default:
		snprintf(out, len, "cannot send: %s", strerror(-r->status));
	}
}

static void describe_server_error(char *out, size_t len, const struct server *s)
{
	if (s->error == UV_ETIMEDOUT)
		snprintf(out, len, "could not resolve \"%s\" in time", s->host);
	else if (s->error == UV_EAFNOSUPPORT || s->error == UV_EAI_ADDRFAMILY)
		snprintf(out, len, "no address of a family this host can use");
	else
		snprintf(out, len, "cannot resolve \"%s\": %s", s->host, uv_strerror(s->error));
}

static bool probe_ok(const struct probe *p)
{
	return p->done && p->r.status == 0;
}

static void classify(const struct netcheck *nc, struct mg_nat_behaviour *b, int family)
{
	struct mg_stun_result r[MAX_PROBES];
	struct mg_endpoint local[MAX_LOCAL];

	for (unsigned i = 0; i < nc->nprobes; i++)
		r[i] = nc->probes[i].r;
	for (unsigned i = 0; i < nc->nlocal; i++)
		local[i] = nc->local[i].addr;
	mg_nat_classify(b, family, nc->udp.port, r, nc->nprobes, local, nc->nlocal);
}

static void text_socket(const struct netcheck *nc)
{
	printf("meshguard netcheck\n");
	if (nc->port_is_listen_port)
		printf("  UDP port:        %u (the listen port)\n", nc->udp.port);
	else if (nc->want_port)
		printf("  UDP port:        %u (ephemeral: listen port %u is %s)\n", nc->udp.port,
		       nc->want_port,
		       nc->listen_port_error == -EADDRINUSE ? "in use" : "not usable");
	else
		printf("  UDP port:        %u (ephemeral)\n", nc->udp.port);
	printf("  local addresses:");
	for (unsigned i = 0; i < nc->nlocal; i++) {
		char a[INET6_ADDRSTRLEN];
		format_addr(a, sizeof(a), &nc->local[i].addr);
		printf("%s %s (%s)", i ? "," : "", a, nc->local[i].ifname);
	}
	printf("%s\n", nc->nlocal ? "" : " none");
}

static void text_stun(const struct netcheck *nc)
{
	char why[400], ep[MG_ENDPOINT_STRLEN], mapped[MG_ENDPOINT_STRLEN];

	if (!nc->nservers)
		printf("  STUN:            no server given (--stun HOST:PORT)\n");
	for (unsigned i = 0; i < nc->nservers; i++) {
		const struct server *s = &nc->servers[i];
		if (s->error) {
			describe_server_error(why, sizeof(why), s);
			printf("  STUN %s: %s\n", s->arg, why);
		}
		for (unsigned k = 0; k < nc->nprobes; k++) {
			const struct probe *p = &nc->probes[k];
			if (p->server != s)
				continue;
			mg_endpoint_format(ep, sizeof(ep), &p->r.server);
			if (probe_ok(p)) {
				mg_endpoint_format(mapped, sizeof(mapped), &p->r.mapped);
				printf("  STUN %s: mapped %s, rtt %.2f ms\n", ep, mapped,
				       (double)p->r.rtt_ns / 1e6);
			} else {
				describe_failure(why, sizeof(why), nc, &p->r);
				printf("  STUN %s: %s\n", ep, why);
			}
		}
	}
}

static const char *tristate(enum mg_nat_tristate t, const char *yes, const char *no,
			    const char *unknown)
{
	return t == MG_NAT_YES ? yes : t == MG_NAT_NO ? no : unknown;
}

static void text_nat(const struct mg_nat_behaviour *b)
{
	char ep[MG_ENDPOINT_STRLEN];
	const char *fam = b->family == AF_INET ? "IPv4" : "IPv6";

	if (!b->answers)
		return;
	mg_endpoint_format(ep, sizeof(ep), &b->public_endpoint);
	printf("  public %s:     %s%s\n", fam, ep,
	       b->mapping == MG_NAT_MAPPING_DEPENDENT ? " (as the first server saw it)" : "");
	switch (b->mapping) {
	case MG_NAT_MAPPING_NONE:
		printf("  NAT (%s):      none: the mapped address is this host's own\n", fam);
		break;
	case MG_NAT_MAPPING_UNKNOWN:
		printf("  NAT (%s):      mapping unknown: needs answers from two servers at "
		       "different addresses; %s\n",
		       fam,
		       tristate(b->port_preserved, "port preserved", "port not preserved", ""));
		break;
	default:
		printf("  NAT (%s):      %s mapping%s, %s\n", fam, mg_nat_mapping_name(b->mapping),
		       b->mapping == MG_NAT_MAPPING_DEPENDENT ? " (hard NAT)" : "",
		       tristate(b->port_preserved, "port preserved", "port not preserved", ""));
	}
}

static void text_portmap(const struct netcheck *nc)
{
	const struct mg_portmap_probe_result *r = &nc->portmap_result;
	char gw[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN];

	if (nc->portmap_error == -ENETUNREACH || (nc->have_portmap_result && r->error)) {
		printf("  port mapping:    no IPv4 default gateway to ask\n");
		return;
	}
	if (nc->portmap_error < 0) {
		printf("  port mapping:    cannot ask the gateway: %s\n",
		       strerror(-nc->portmap_error));
		return;
	}
	if (!nc->have_portmap_result) {
		printf("  port mapping:    the gateway probe did not finish in time\n");
		return;
	}
	inet_ntop(AF_INET, &r->gateway, gw, sizeof(gw));
	for (int i = 0; i < MG_PORTMAP_PROTO_COUNT; i++) {
		const struct mg_portmap_probe_proto *p = &r->proto[i];
		printf("  %-9s        ", proto_title((enum mg_portmap_proto)i));
		if (p->mapped) {
			inet_ntop(AF_INET, &p->external_addr, ext, sizeof(ext));
			printf("gateway %s mapped %s:%u to port %u (lifetime %u s)\n", gw, ext,
			       p->external_port, nc->udp.port, p->lifetime_s);
		} else if (p->answered) {
			printf("gateway %s answered but mapped nothing: %s\n", gw,
			       strerror(-p->error));
		} else {
			printf("no answer from gateway %s\n", gw);
		}
	}
}

static bool learned_anything(const struct netcheck *nc)
{
	for (unsigned i = 0; i < nc->nprobes; i++)
		if (probe_ok(&nc->probes[i]))
			return true;
	if (nc->have_portmap_result)
		for (int i = 0; i < MG_PORTMAP_PROTO_COUNT; i++)
			if (nc->portmap_result.proto[i].mapped)
				return true;
	return false;
}

static void print_text(const struct netcheck *nc)
{
	struct mg_nat_behaviour b4, b6;

	classify(nc, &b4, AF_INET);
	classify(nc, &b6, AF_INET6);
	text_socket(nc);
	text_stun(nc);
	text_nat(&b4);
	text_nat(&b6);
	text_portmap(nc);
	if (!learned_anything(nc))
		printf("No public endpoint found: %s, and the gateway mapped no port.\n",
		       nc->nservers ? "no STUN server answered" : "no STUN server was given");
	fflush(stdout);
}

/* ---- JSON ---- */

static void json_socket(struct mg_json *j, const struct netcheck *nc)
{
	cJSON *locals;

	mg_json_number(j, j->root, "port", nc->udp.port);
	mg_json_number(j, j->root, "listen_port", nc->want_port);
	mg_json_bool(j, j->root, "port_is_listen_port", nc->port_is_listen_port);
	mg_json_number(j, j->root, "timeout_ms", nc->timeout_ms);
	mg_json_bool(j, j->root, "timed_out", nc->timed_out);
	locals = mg_json_array(j, j->root, "local_addresses");
	for (unsigned i = 0; i < nc->nlocal; i++) {
		char a[INET6_ADDRSTRLEN];
		cJSON *o = mg_json_object(j, locals, NULL);
		format_addr(a, sizeof(a), &nc->local[i].addr);
		mg_json_string(j, o, "interface", nc->local[i].ifname);
		mg_json_string(j, o, "address", a);
	}
}

/* Milliseconds with three decimals, as the text report's precision. */
static double ms3(uint64_t ns)
{
	return (double)((ns + 500) / 1000) / 1e3;
}

static void json_probe(struct mg_json *j, cJSON *stun, const struct netcheck *nc,
		       const struct server *s, const struct probe *p)
{
	cJSON *o = mg_json_object(j, stun, NULL);
	char why[400];

	mg_json_string(j, o, "server", s->arg);
	mg_json_endpoint(j, o, "address", &p->r.server);
	mg_json_bool(j, o, "ok", probe_ok(p));
	mg_json_number(j, o, "requests", p->r.sends);
	if (probe_ok(p)) {
		mg_json_endpoint(j, o, "mapped", &p->r.mapped);
		mg_json_number(j, o, "rtt_ms", ms3(p->r.rtt_ns));
	} else {
		describe_failure(why, sizeof(why), nc, &p->r);
		mg_json_string(j, o, "error", why);
	}
}

/* A server whose name did not resolve: no probe, only the reason. */
static void json_server_error(struct mg_json *j, cJSON *stun, const struct server *s)
{
	cJSON *o = mg_json_object(j, stun, NULL);
	char why[400];

	describe_server_error(why, sizeof(why), s);
	mg_json_string(j, o, "server", s->arg);
	mg_json_bool(j, o, "ok", false);
	mg_json_number(j, o, "requests", 0);
	mg_json_string(j, o, "error", why);
}

static void json_stun(struct mg_json *j, const struct netcheck *nc)
{
	cJSON *stun = mg_json_array(j, j->root, "stun");

	for (unsigned i = 0; i < nc->nservers; i++) {
		const struct server *s = &nc->servers[i];
		if (s->error)
			json_server_error(j, stun, s);
		for (unsigned k = 0; k < nc->nprobes; k++)
			if (nc->probes[k].server == s)
				json_probe(j, stun, nc, s, &nc->probes[k]);
	}
}

static void json_nat(struct mg_json *j, cJSON *nat, const char *key,
		     const struct mg_nat_behaviour *b)
{
	cJSON *o;

	if (!b->answers) {
		mg_json_null(j, nat, key);
		return;
	}
	o = mg_json_object(j, nat, key);
	mg_json_string(j, o, "mapping", mg_nat_mapping_name(b->mapping));
	if (b->port_preserved == MG_NAT_YES || b->port_preserved == MG_NAT_NO)
		mg_json_bool(j, o, "port_preserved", b->port_preserved == MG_NAT_YES);
	else
		mg_json_null(j, o, "port_preserved");
	mg_json_endpoint(j, o, "public", &b->public_endpoint);
	mg_json_number(j, o, "answers", b->answers);
	mg_json_number(j, o, "server_addresses", b->server_addresses);
}

static void json_portmap_proto(struct mg_json *j, cJSON *portmap, const char *key,
			       const struct netcheck *nc, const struct mg_portmap_probe_proto *p)
{
	cJSON *o = mg_json_object(j, portmap, key);
	char ext[INET_ADDRSTRLEN + 6];

	mg_json_bool(j, o, "answered", p->answered);
	mg_json_bool(j, o, "mapped", p->mapped);
	if (p->mapped) {
		inet_ntop(AF_INET, &p->external_addr, ext, INET_ADDRSTRLEN);
		snprintf(ext + strlen(ext), sizeof(ext) - strlen(ext), ":%u", p->external_port);
		mg_json_string(j, o, "external", ext);
		mg_json_number(j, o, "internal_port", nc->udp.port);
		mg_json_number(j, o, "lifetime_s", p->lifetime_s);
	}
	if (p->answered)
		mg_json_number(j, o, "rtt_ms", p->rtt_ms);
	if (!p->mapped && p->error)
		mg_json_string(j, o, "error", strerror(-p->error));
}

static void json_portmap(struct mg_json *j, const struct netcheck *nc)
{
	const struct mg_portmap_probe_result *r = &nc->portmap_result;
	cJSON *o = mg_json_object(j, j->root, "portmap");
	char gw[INET_ADDRSTRLEN];

	if (nc->portmap_error < 0 || !nc->have_portmap_result || r->error) {
		int err = nc->portmap_error < 0 ? nc->portmap_error : r->error;
		mg_json_null(j, o, "gateway");
		mg_json_string(j, o, "error",
			       nc->have_portmap_result || err ? strerror(-err) : "did not finish");
		return;
	}
	inet_ntop(AF_INET, &r->gateway, gw, sizeof(gw));
	mg_json_string(j, o, "gateway", gw);
	for (int i = 0; i < MG_PORTMAP_PROTO_COUNT; i++)
		json_portmap_proto(j, o, mg_portmap_proto_name((enum mg_portmap_proto)i), nc,
				   &r->proto[i]);
}

static int print_json(const struct netcheck *nc)
{
	struct mg_nat_behaviour b4, b6;
	struct mg_json j;
	cJSON *nat;
	int err;

	classify(nc, &b4, AF_INET);
	classify(nc, &b6, AF_INET6);
	err = mg_json_init(&j);
	if (err == 0) {
		json_socket(&j, nc);
		json_stun(&j, nc);
		nat = mg_json_object(&j, j.root, "nat");
		json_nat(&j, nat, "ipv4", &b4);
		json_nat(&j, nat, "ipv6", &b6);
		json_portmap(&j, nc);
		mg_json_bool(&j, j.root, "public_endpoint_found", learned_anything(nc));
		err = mg_json_print(&j, stdout);
		mg_json_free(&j);
	}
	if (err < 0)
		fprintf(stderr, "netcheck: cannot write the JSON report: %s\n", strerror(-err));
	return err;
}

/* ---- the command ---- */

/* A schedule that fits the whole check in timeout_ms: RFC 8489's RTO of
 * 500 ms, shortened for short checks so several requests still go out. */
static struct mg_stun_schedule schedule_for(uint32_t timeout_ms)
{
	struct mg_stun_schedule s = mg_stun_schedule_rfc8489;

	s.rto_ms = timeout_ms / 8 < s.rto_ms ? timeout_ms / 8 : s.rto_ms;
	if (s.rto_ms < 20)
		s.rto_ms = 20;
	s.timeout_ms = timeout_ms;
	return s;
}

static int start(struct netcheck *nc)
{
	struct mg_stun_schedule sched = schedule_for(nc->timeout_ms);
	int ret;

	ret = uv_timer_init(&nc->loop, &nc->deadline);
	if (ret == 0)
		ret = uv_timer_init(&nc->loop, &nc->stop_timer);
	nc->timers_ready = ret == 0;
	if (ret == 0)
		ret = mg_stun_client_init(&nc->client, &nc->loop, &mg_clock_system, stun_send, nc,
					  &sched);
	nc->client_ready = ret == 0;
	if (ret == 0)
		ret = watch(nc, &nc->poll4, nc->udp.fd4, &nc->poll4_on);
	if (ret == 0)
		ret = watch(nc, &nc->poll6, nc->udp.fd6, &nc->poll6_on);
	if (ret < 0) {
		fprintf(stderr, "meshguard netcheck: cannot set up the event loop: %s\n",
			uv_strerror(ret));
		close_all(nc);
		return ret;
	}
	uv_timer_start(&nc->deadline, on_deadline, nc->timeout_ms, 0);
	for (unsigned i = 0; i < nc->nservers; i++)
		start_server(nc, &nc->servers[i]);
	start_portmap(nc);
	maybe_finish(nc);
	return 0;
}

int mg_cmd_netcheck(int argc, char **argv)
{
	struct netcheck *nc = calloc(1, sizeof(*nc));
	int ret;

	if (!nc)
		return 1;
	ret = parse_args(nc, argc, argv);
	if (ret) {
		free(nc);
		return ret > 0 ? 0 : 2;
	}
	mg_log_init_from_env();
	if (uv_loop_init(&nc->loop) < 0 || open_socket(nc) < 0) {
		free(nc);
		return 1;
	}
	collect_local_addresses(nc);
	ret = start(nc);
	uv_run(&nc->loop, UV_RUN_DEFAULT);
	if (ret == 0 && nc->json)
		ret = print_json(nc);
	else if (ret == 0)
		print_text(nc);
	/* Abandoned work (a name lookup that never returned, a gateway probe
	 * past its grace) keeps the loop busy: leave it to the exit. */
	if (!nc->abandoned) {
		if (nc->timers_ready)
			close_handle((uv_handle_t *)&nc->stop_timer);
		uv_run(&nc->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&nc->loop) == 0) {
			mg_udp_close(&nc->udp);
			free(nc);
		}
	}
	return ret == 0 ? 0 : 1;
}
