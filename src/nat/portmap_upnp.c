/* UPnP IGD back-end. Discovery is an SSDP M-SEARCH sent unicast to the
 * gateway from a socket on the loop (or the configured root description
 * URL); the description fetch and the SOAP calls block, so each op runs
 * them on the libuv threadpool with copies of everything it needs, and the
 * loop thread only sees the results in the after-work callback.
 *
 * The HTTP is ours (nat/upnp_http.h), bounded in size and by the op's
 * deadline: miniupnpc 2.2.4's reader has no limit on an answer's size and
 * only a per-read timeout, so a hostile gateway could make it allocate
 * without end or hold a threadpool thread, and our close, for ever.
 * miniupnpc still parses what we fetched (parserootdesc, ParseNameValue)
 * and names the error codes (strupnperror).
 *
 * miniupnpc's UPNP_GetValidIGD would call an IGD with a reserved external
 * address "not connected" and skip it; we take the IGD from its
 * description (UPNP_GetIGDFromUrl) and judge it by what its SOAP calls do.
 * What the gateway says is untrusted: the description's control URL must
 * point at the gateway, strings are bounded and NUL-terminated before use,
 * addresses and numbers are parsed strictly, and a mapping counts only
 * when GetSpecificPortMappingEntry shows it pointing at us. */
#include <arpa/inet.h>
#include <errno.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <miniupnpc/upnpreplyparse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nat/portmap_backend.h"
#include "nat/ssdp.h"
#include "nat/upnp_http.h"
#include "util/macros.h"

#define SSDP_RETRY_MS 400
#define DESCRIPTION   "meshguard"
#define USER_AGENT    "meshguard UPnP/1.1"
/* UPnP error codes (IGD:1 WANIPConnection). */
#define UPNP_NO_SUCH_ENTRY  714
#define UPNP_CONFLICT	    718
#define UPNP_ONLY_PERMANENT 725
#define UPNP_CONFLICT_TRIES 4

struct upnp_igd {
	bool valid;
	char root_url[MG_SSDP_URL_MAX];
	char control_url[2 * MINIUPNPC_URL_MAXSIZE];
	struct mg_upnp_http_url control; /* control_url, split */
	char servicetype[MINIUPNPC_URL_MAXSIZE];
	char lanaddr[INET_ADDRSTRLEN];
};

/* One op's work on the threadpool; owned by the work until after_work. */
struct upnp_work {
	uv_work_t req;
	struct upnp_be *b;
	bool abandoned; /* loop thread only */
	struct in_addr gateway;
	enum mg_portmap_opcode code;
	uint16_t internal_port;
	uint16_t external_port;
	uint32_t lifetime_s;
	uint64_t deadline_ns; /* the op's, for every HTTP exchange */
	struct upnp_igd igd;
	char http[MG_UPNP_HTTP_MAX]; /* each answer in turn */
	/* Results. */
	int status;
	struct in_addr external_addr;
	uint16_t mapped_port;
	uint32_t granted_s;
	char detail[96];
};

struct upnp_be {
	struct mg_portmap_backend_config cfg;
	char url[MG_SSDP_URL_MAX]; /* configured root URL, or "" */
	uv_udp_t ssdp;
	uv_timer_t retry;
	uv_timer_t deadline;
	struct upnp_igd igd;
	struct mg_portmap_op *op;
	struct upnp_work *work; /* in flight, or NULL */
	/* The op's end, when the deadline timer fires: its work's HTTP ends
	 * then too, so an abandoned work never lingers. */
	uint64_t deadline_ns;
	bool queued; /* op waits for an abandoned work to end */
	uint8_t rbuf[MG_SSDP_MAX_REPLY + 1];
	unsigned closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

/* ---- threadpool side: only the work struct is touched ---- */

static int upnp_errno(int r)
{
	switch (r) {
	case UPNPCOMMAND_SUCCESS:
		return 0;
	case UPNPCOMMAND_HTTP_ERROR:
		return -EHOSTUNREACH;
	case UPNPCOMMAND_INVALID_RESPONSE:
		return -EBADMSG;
	case UPNPCOMMAND_MEM_ALLOC_ERROR:
		return -ENOMEM;
	case UPNPCOMMAND_INVALID_ARGS:
		return -EINVAL;
	case 401:
	case 606:
		return -EACCES;
	case UPNP_NO_SUCH_ENTRY:
		return -ENOENT;
	case UPNP_CONFLICT:
		return -EADDRINUSE;
	case UPNP_ONLY_PERMANENT:
		return -EOPNOTSUPP;
	default:
		return -EPROTO;
	}
}

/* Parses a decimal string the gateway sent, bounded by max. */
static bool parse_uint(uint32_t *out, const char *s, size_t cap, uint32_t max)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < cap && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return false;
	}
	if (i == 0 || i >= cap || s[i] != '\0')
		return false;
	*out = (uint32_t)v;
	return true;
}

static int fail(struct upnp_work *w, const char *call, int r)
{
	const char *why = strupnperror(r);
	snprintf(w->detail, sizeof(w->detail), "%s: %d %s", call, r, why ? why : "");
	return upnp_errno(r);
}

/* What the HTTP exchange returned, for the op's status and detail. */
static int http_failed(struct upnp_work *w, const char *what, int err)
{
	switch (err) {
	case -ETIMEDOUT:
		snprintf(w->detail, sizeof(w->detail), "%s: no whole answer in time", what);
		return -ETIMEDOUT;
	case -EMSGSIZE:
		snprintf(w->detail, sizeof(w->detail), "%s: answer larger than %d bytes", what,
			 MG_UPNP_HTTP_MAX);
		return -EBADMSG;
	case -EBADMSG:
		snprintf(w->detail, sizeof(w->detail), "%s: answer is not HTTP", what);
		return -EBADMSG;
	default:
		snprintf(w->detail, sizeof(w->detail), "%s: %s", what, strerror(-err));
		return -EHOSTUNREACH;
	}
}

static bool copy_str(char *out, size_t cap, const char *in)
{
	size_t n = in ? strnlen(in, cap) : cap;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, in, n + 1);
	return true;
}

static bool is_wan_connection(const char *servicetype)
{
	return strstr(servicetype, ":service:WANIPConnection:") ||
	       strstr(servicetype, ":service:WANPPPConnection:");
}

static int check_igd(struct upnp_work *w, const struct UPNPUrls *urls, const struct IGDdatas *data,
		     const char *lan)
{
	struct in_addr host, a;

	if (!copy_str(w->igd.servicetype, sizeof(w->igd.servicetype), data->first.servicetype) ||
	    !is_wan_connection(w->igd.servicetype)) {
		snprintf(w->detail, sizeof(w->detail), "no WANIPConnection in the description");
		return -EPROTONOSUPPORT;
	}
	if (!copy_str(w->igd.control_url, sizeof(w->igd.control_url), urls->controlURL) ||
	    mg_ssdp_url_host(&host, w->igd.control_url) < 0 || host.s_addr != w->gateway.s_addr ||
	    mg_upnp_http_url_parse(&w->igd.control, w->igd.control_url) < 0) {
		snprintf(w->detail, sizeof(w->detail), "control URL is not on the gateway");
		return -EPERM;
	}
	if (!copy_str(w->igd.lanaddr, sizeof(w->igd.lanaddr), lan) ||
	    inet_pton(AF_INET, w->igd.lanaddr, &a) != 1) {
		snprintf(w->detail, sizeof(w->detail), "no IPv4 address towards the IGD");
		return -EADDRNOTAVAIL;
	}
	w->igd.valid = true;
	return 0;
}

/* GETs the root description (bounded, see nat/upnp_http.h) and has
 * miniupnpc parse it, as UPNP_GetIGDFromUrl would after its own fetch. */
static int discover(struct upnp_work *w)
{
	struct mg_upnp_http_url url;
	struct mg_upnp_http_reply reply;
	struct UPNPUrls urls;
	struct IGDdatas data;
	struct in_addr local;
	char req[MG_UPNP_HTTP_REQUEST_MAX], lan[INET_ADDRSTRLEN];

	w->igd.valid = false;
	if (mg_upnp_http_url_parse(&url, w->igd.root_url) < 0) {
		snprintf(w->detail, sizeof(w->detail), "bad description URL");
		return -EINVAL;
	}
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " USER_AGENT
			 "\r\nConnection: close\r\n\r\n",
			 url.path, url.host);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -EINVAL;
	int err = mg_upnp_http_exchange(&reply, w->http, sizeof(w->http), &url, req, (size_t)n,
					w->deadline_ns, &local);
	if (err < 0)
		return http_failed(w, "description", err);
	if (reply.status != 200) {
		snprintf(w->detail, sizeof(w->detail), "description: HTTP status %d", reply.status);
		return -EHOSTUNREACH;
	}
	memset(&urls, 0, sizeof(urls));
	memset(&data, 0, sizeof(data));
	parserootdesc(reply.body, (int)reply.body_len, &data);
	GetUPNPUrls(&urls, &data, w->igd.root_url, 0);
	inet_ntop(AF_INET, &local, lan, sizeof(lan));
	err = check_igd(w, &urls, &data, lan);
	FreeUPNPUrls(&urls);
	return err;
}

struct soap_arg {
	const char *name, *value; /* ours: digits, an address, a word */
};

/* Writes the request for action with args; returns its length or 0. */
static size_t soap_request(char out[MG_UPNP_HTTP_REQUEST_MAX], const struct upnp_work *w,
			   const char *action, const struct soap_arg *args, size_t nargs)
{
	char body[MG_UPNP_HTTP_REQUEST_MAX / 2];
	const struct mg_upnp_http_url *u = &w->igd.control;
	int n = snprintf(body, sizeof(body),
			 "<?xml version=\"1.0\"?>\r\n<s:Envelope "
			 "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
			 "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
			 "<s:Body><u:%s xmlns:u=\"%s\">",
			 action, w->igd.servicetype);
	for (size_t i = 0; i < nargs && n > 0 && (size_t)n < sizeof(body); i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "<%s>%s</%s>", args[i].name,
			      args[i].value, args[i].name);
	if (n > 0 && (size_t)n < sizeof(body))
		n += snprintf(body + n, sizeof(body) - (size_t)n,
			      "</u:%s></s:Body></s:Envelope>\r\n", action);
	if (n < 0 || (size_t)n >= sizeof(body))
		return 0;
	int len = snprintf(out, MG_UPNP_HTTP_REQUEST_MAX,
			   "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " USER_AGENT
			   "\r\nContent-Length: %d\r\nContent-Type: text/xml\r\n"
			   "SOAPAction: \"%s#%s\"\r\nConnection: close\r\n\r\n%s",
			   u->path, u->host, n, w->igd.servicetype, action, body);
	return len > 0 && len < MG_UPNP_HTTP_REQUEST_MAX ? (size_t)len : 0;
}

/* Calls action on the IGD; on 0, pd holds the answer's values (the caller
 * clears it). A UPnP error in the answer is the op's error, and its code
 * goes to *upnp (UPNPCOMMAND_SUCCESS otherwise). */
static int soap(struct upnp_work *w, const char *action, const struct soap_arg *args, size_t nargs,
		struct NameValueParserData *pd, int *upnp)
{
	struct mg_upnp_http_reply reply;
	char req[MG_UPNP_HTTP_REQUEST_MAX];
	uint32_t code;
	int r = UPNPCOMMAND_SUCCESS;

	memset(pd, 0, sizeof(*pd));
	if (upnp)
		*upnp = r;
	size_t len = soap_request(req, w, action, args, nargs);
	if (!len)
		return fail(w, action, UPNPCOMMAND_INVALID_ARGS);
	int err = mg_upnp_http_exchange(&reply, w->http, sizeof(w->http), &w->igd.control, req, len,
					w->deadline_ns, NULL);
	if (err < 0)
		return http_failed(w, action, err);
	ParseNameValue(reply.body, (int)reply.body_len, pd);
	const char *e = GetValueFromNameValueList(pd, "errorCode");
	if (e)
		r = parse_uint(&code, e, strnlen(e, 16) + 1, 999) ? (int)code
								  : UPNPCOMMAND_UNKNOWN_ERROR;
	else if (reply.status != 200)
		r = UPNPCOMMAND_HTTP_ERROR;
	if (upnp)
		*upnp = r;
	if (r == UPNPCOMMAND_SUCCESS)
		return 0;
	ClearNameValueList(pd);
	return fail(w, action, r);
}

static int external_ip(struct upnp_work *w)
{
	struct NameValueParserData pd;

	int err = soap(w, "GetExternalIPAddress", NULL, 0, &pd, NULL);
	if (err < 0)
		return err;
	const char *ip = GetValueFromNameValueList(&pd, "NewExternalIPAddress");
	if (!ip || inet_pton(AF_INET, ip, &w->external_addr) != 1 || !w->external_addr.s_addr) {
		snprintf(w->detail, sizeof(w->detail), "external address '%.16s'", ip ? ip : "");
		err = -EBADMSG;
	}
	ClearNameValueList(&pd);
	return err;
}

/* Looks up the mapping of external_port: -ENOENT unless it exists and
 * points at our address and internal port. */
static int lookup(struct upnp_work *w, uint16_t external_port, uint32_t *lease)
{
	struct NameValueParserData pd;
	char ext[8];
	uint32_t iport;

	snprintf(ext, sizeof(ext), "%u", external_port);
	const struct soap_arg args[] = { { "NewRemoteHost", "" },
					 { "NewExternalPort", ext },
					 { "NewProtocol", "UDP" } };
	int err = soap(w, "GetSpecificPortMappingEntry", args, ARRAY_SIZE(args), &pd, NULL);
	if (err < 0)
		return err;
	/* Values are NUL-terminated within their 128 bytes (upnpreplyparse.h). */
	const char *client = GetValueFromNameValueList(&pd, "NewInternalClient");
	const char *port = GetValueFromNameValueList(&pd, "NewInternalPort");
	const char *duration = GetValueFromNameValueList(&pd, "NewLeaseDuration");
	if (!client || !port || strcmp(client, w->igd.lanaddr) ||
	    !parse_uint(&iport, port, 8, 65535) || iport != w->internal_port) {
		snprintf(w->detail, sizeof(w->detail), "port %u maps to %.16s:%.6s", external_port,
			 client ? client : "?", port ? port : "?");
		err = -ENOENT;
	} else if (!duration || !parse_uint(lease, duration, 16, UINT32_MAX)) {
		*lease = 0;
	}
	ClearNameValueList(&pd);
	return err;
}

static uint16_t random_port(void)
{
	uint16_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint16_t)rand();
	return (uint16_t)(1024 + r % (65536 - 1024));
}

/* One AddPortMapping; the UPnP code of a refusal goes to *upnp. */
static int add_one(struct upnp_work *w, const char *ext, const char *in, const char *lease,
		   int *upnp)
{
	struct NameValueParserData pd;
	const struct soap_arg args[] = {
		{ "NewRemoteHost", "" },
		{ "NewExternalPort", ext },
		{ "NewProtocol", "UDP" },
		{ "NewInternalPort", in },
		{ "NewInternalClient", w->igd.lanaddr },
		{ "NewEnabled", "1" },
		{ "NewPortMappingDescription", DESCRIPTION },
		{ "NewLeaseDuration", lease },
	};
	int err = soap(w, "AddPortMapping", args, ARRAY_SIZE(args), &pd, upnp);
	if (err == 0)
		ClearNameValueList(&pd);
	return err;
}

static int add(struct upnp_work *w)
{
	char ext[8], in[8], lease[16];
	uint16_t port = w->external_port ? w->external_port : w->internal_port;
	int err = -EINVAL, r;

	snprintf(in, sizeof(in), "%u", w->internal_port);
	snprintf(lease, sizeof(lease), "%u", w->lifetime_s);
	for (int tries = 0; tries < UPNP_CONFLICT_TRIES; tries++) {
		snprintf(ext, sizeof(ext), "%u", port);
		err = add_one(w, ext, in, lease, &r);
		if (r == UPNP_ONLY_PERMANENT && strcmp(lease, "0")) {
			strcpy(lease, "0");
			tries--;
			continue;
		}
		if (r != UPNP_CONFLICT)
			break;
		port = random_port();
	}
	if (err < 0)
		return err;
	w->mapped_port = port;
	return 0;
}

static int do_map(struct upnp_work *w)
{
	int err = add(w);
	if (err < 0)
		return err;
	err = lookup(w, w->mapped_port, &w->granted_s);
	if (err < 0)
		return err == -ENOENT ? -EBADMSG : err;
	return external_ip(w);
}

static int do_delete(struct upnp_work *w)
{
	struct NameValueParserData pd;
	char ext[8];
	int r;

	snprintf(ext, sizeof(ext), "%u", w->external_port);
	const struct soap_arg args[] = { { "NewRemoteHost", "" },
					 { "NewExternalPort", ext },
					 { "NewProtocol", "UDP" } };
	int err = soap(w, "DeletePortMapping", args, ARRAY_SIZE(args), &pd, &r);
	if (err == 0)
		ClearNameValueList(&pd);
	return r == UPNP_NO_SUCH_ENTRY ? 0 : err;
}

static int run_op(struct upnp_work *w)
{
	uint32_t lease;

	switch (w->code) {
	case MG_PORTMAP_OP_PROBE:
		return external_ip(w);
	case MG_PORTMAP_OP_MAP:
		return do_map(w);
	case MG_PORTMAP_OP_DELETE:
		return do_delete(w);
	case MG_PORTMAP_OP_CHECK:
		return lookup(w, w->external_port, &lease);
	}
	return -EINVAL;
}

static void work_cb(uv_work_t *req)
{
	struct upnp_work *w = container_of(req, struct upnp_work, req);
	bool had_igd = w->igd.valid;

	if (!w->igd.valid && (w->status = discover(w)) < 0)
		return;
	w->status = run_op(w);
	/* The gateway may have moved its service (a restart): find it again
	 * once. */
	if (w->status == -EHOSTUNREACH && had_igd && discover(w) == 0)
		w->status = run_op(w);
}

/* ---- loop side ---- */

static void stop_all(struct upnp_be *b)
{
	uv_udp_recv_stop(&b->ssdp);
	uv_timer_stop(&b->retry);
	uv_timer_stop(&b->deadline);
}

static void finish(struct upnp_be *b, int status, const char *detail)
{
	struct mg_portmap_op *op = b->op;

	b->op = NULL;
	stop_all(b);
	op->status = status;
	if (detail && detail[0])
		snprintf(op->detail, sizeof(op->detail), "%s", detail);
	op->done(op);
}

static void release(struct upnp_be *b)
{
	if (--b->closing)
		return;
	void (*cb)(void *) = b->close_cb;
	void *arg = b->close_arg;
	free(b);
	cb(arg);
}

static void start_op(struct upnp_be *b);

static void after_work(uv_work_t *req, int status)
{
	struct upnp_work *w = container_of(req, struct upnp_work, req);
	struct upnp_be *b = w->b;

	(void)status;
	b->work = NULL;
	b->igd = w->igd;
	if (!b->igd.valid && !b->url[0])
		b->igd.root_url[0] = '\0'; /* discover again by SSDP */
	if (w->abandoned) {
		free(w);
		bool queued = b->queued;
		b->queued = false;
		if (b->close_cb)
			release(b);
		else if (queued && b->op)
			start_op(b);
		return;
	}
	struct mg_portmap_op *op = b->op;
	op->external_addr = w->external_addr;
	op->mapped_port = w->mapped_port;
	op->granted_s = w->granted_s;
	int st = w->status;
	char detail[sizeof(w->detail)];
	memcpy(detail, w->detail, sizeof(detail));
	free(w);
	finish(b, st, detail);
}

static void start_work(struct upnp_be *b)
{
	struct upnp_work *w = calloc(1, sizeof(*w));
	int err = -ENOMEM;

	if (w) {
		w->b = b;
		w->gateway = b->cfg.gateway;
		w->code = b->op->code;
		w->internal_port = b->op->internal_port;
		w->external_port = b->op->external_port;
		w->lifetime_s = b->op->lifetime_s;
		w->deadline_ns = b->deadline_ns;
		w->igd = b->igd;
		err = uv_queue_work(b->cfg.loop, &w->req, work_cb, after_work);
		if (err == 0) {
			b->work = w;
			return;
		}
		free(w);
	}
	finish(b, err, "cannot queue work");
}

static void send_msearch(struct upnp_be *b)
{
	char msg[256];
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(MG_SSDP_PORT),
				  .sin_addr = b->cfg.gateway };
	size_t len = mg_ssdp_msearch(msg, sizeof(msg));
	uv_buf_t buf = uv_buf_init(msg, (unsigned)len);

	(void)uv_udp_try_send(&b->ssdp, &buf, 1, (const struct sockaddr *)&to);
}

static void on_ssdp_retry(uv_timer_t *t)
{
	struct upnp_be *b = container_of(t, struct upnp_be, retry);

	if (!b->op || b->work)
		return;
	send_msearch(b);
	uv_timer_start(&b->retry, on_ssdp_retry, SSDP_RETRY_MS, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct upnp_be *b = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)b->rbuf, sizeof(b->rbuf));
}

static void on_ssdp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	struct upnp_be *b = container_of(h, struct upnp_be, ssdp);
	const struct sockaddr_in *from = (const struct sockaddr_in *)addr;
	char location[MG_SSDP_URL_MAX];

	(void)buf;
	if (!b->op || b->work || nread <= 0 || !addr || (flags & UV_UDP_PARTIAL))
		return;
	if (from->sin_family != AF_INET || from->sin_addr.s_addr != b->cfg.gateway.s_addr)
		return;
	if (mg_ssdp_parse_reply(location, b->rbuf, (size_t)nread, b->cfg.gateway) < 0)
		return;
	memcpy(b->igd.root_url, location, sizeof(location));
	uv_udp_recv_stop(&b->ssdp);
	uv_timer_stop(&b->retry);
	start_work(b);
}

static void start_op(struct upnp_be *b)
{
	if (b->igd.valid || b->igd.root_url[0]) {
		start_work(b);
		return;
	}
	int err = uv_udp_recv_start(&b->ssdp, on_alloc, on_ssdp);
	if (err < 0 && err != UV_EALREADY) {
		finish(b, err, "cannot receive SSDP answers");
		return;
	}
	send_msearch(b);
	uv_timer_start(&b->retry, on_ssdp_retry, SSDP_RETRY_MS, 0);
}

static void on_deadline(uv_timer_t *t)
{
	struct upnp_be *b = container_of(t, struct upnp_be, deadline);

	if (!b->op)
		return;
	if (b->work)
		b->work->abandoned = true;
	b->queued = false;
	finish(b, -ETIMEDOUT, b->igd.root_url[0] ? "no answer from the IGD" : "no SSDP answer");
}

static void on_start(uv_timer_t *t)
{
	struct upnp_be *b = container_of(t, struct upnp_be, retry);

	if (b->op && !b->work)
		start_op(b);
}

static int upnp_submit(void *state, struct mg_portmap_op *op)
{
	struct upnp_be *b = state;

	if (b->op)
		return -EBUSY;
	if (op->code > MG_PORTMAP_OP_CHECK)
		return -EINVAL;
	b->op = op;
	b->deadline_ns = mg_upnp_http_now_ns() + b->cfg.timeout_ms * UINT64_C(1000000);
	uv_timer_start(&b->deadline, on_deadline, b->cfg.timeout_ms, 0);
	if (b->work)
		b->queued = true; /* an abandoned work still runs */
	else
		uv_timer_start(&b->retry, on_start, 0, 0); /* done never from submit */
	return 0;
}

static void upnp_cancel(void *state)
{
	struct upnp_be *b = state;

	b->op = NULL;
	b->queued = false;
	if (b->work)
		b->work->abandoned = true;
	stop_all(b);
}

static void on_closed(uv_handle_t *h)
{
	release(h->data);
}

static void upnp_close(void *state, void (*cb)(void *arg), void *arg)
{
	struct upnp_be *b = state;

	upnp_cancel(b);
	b->close_cb = cb;
	b->close_arg = arg;
	b->closing = 3 + (b->work != NULL);
	uv_close((uv_handle_t *)&b->ssdp, on_closed);
	uv_close((uv_handle_t *)&b->retry, on_closed);
	uv_close((uv_handle_t *)&b->deadline, on_closed);
}

static void nothing(void *arg)
{
	(void)arg;
}

static int upnp_open(void **state, const struct mg_portmap_backend_config *config)
{
	struct upnp_be *b = calloc(1, sizeof(*b));
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct in_addr host;

	if (!b)
		return -ENOMEM;
	b->cfg = *config;
	b->cfg.upnp_url = NULL;
	if (config->upnp_url) {
		if (!copy_str(b->url, sizeof(b->url), config->upnp_url) ||
		    mg_ssdp_url_host(&host, b->url) < 0) {
			free(b);
			return -EINVAL;
		}
		memcpy(b->igd.root_url, b->url, sizeof(b->url));
	}
	int err = uv_udp_init(config->loop, &b->ssdp);
	if (err < 0) {
		free(b);
		return err;
	}
	uv_timer_init(config->loop, &b->retry);
	uv_timer_init(config->loop, &b->deadline);
	b->ssdp.data = b->retry.data = b->deadline.data = b;
	err = uv_udp_bind(&b->ssdp, (const struct sockaddr *)&any, 0);
	if (err < 0) {
		b->close_cb = nothing;
		b->closing = 3;
		uv_close((uv_handle_t *)&b->ssdp, on_closed);
		uv_close((uv_handle_t *)&b->retry, on_closed);
		uv_close((uv_handle_t *)&b->deadline, on_closed);
		return err;
	}
	*state = b;
	return 0;
}

const struct mg_portmap_backend mg_portmap_upnp = {
	.proto = MG_PORTMAP_UPNP,
	.open = upnp_open,
	.submit = upnp_submit,
	.cancel = upnp_cancel,
	.close = upnp_close,
};
