/* The privileged side's policy: every broker request checked, then done
 * (see privsep.h). */
#include "node/privsep.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "mesh/cert.h"
#include "node/node.h"
#include "tunnel/messages.h"
#include "tunnel/tun.h"
#include "tunnel/udp.h"
#include "tunnel/uapi_server.h"

static void refuse(const char *why, const struct mg_broker_req *req)
{
	fprintf(stderr, "meshguard (privileged): refused request %u: %s\n", (unsigned)req->op, why);
}

bool mg_privsep_prefix_inside(const struct mg_prefix *p, const struct mg_prefix *outer)
{
	unsigned full, rest;

	if (p->family != outer->family || outer->cidr > p->cidr)
		return false;
	full = outer->cidr / 8u;
	rest = outer->cidr % 8u;
	if (memcmp(p->addr, outer->addr, full))
		return false;
	return !rest || !((p->addr[full] ^ outer->addr[full]) & (0xffu << (8 - rest)));
}

/* A prefix as the request carries it: a known family, a cidr in range. */
static bool prefix_ok(const struct mg_prefix *p)
{
	return (p->family == AF_INET && p->cidr <= 32) || (p->family == AF_INET6 && p->cidr <= 128);
}

/* The string field is NUL-terminated inside its array and not empty. */
static bool name_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	return n > 0 && n < cap && n < IFNAMSIZ;
}

static bool allowed(const struct mg_privsep *ps, const struct mg_prefix *p)
{
	for (size_t i = 0; i < ps->n_allowed; i++)
		if (mg_privsep_prefix_inside(p, &ps->allowed[i]))
			return true;
	return false;
}

/* ---- the proof of a subnet route ---- */

static int take_cert(struct mg_cert *c, const uint8_t **in, size_t *left)
{
	size_t n;

	if (*left < 2)
		return -EINVAL;
	n = (size_t)(*in)[0] << 8 | (*in)[1];
	if (n > *left - 2 || mg_cert_decode(c, *in + 2, n) < 0)
		return -EINVAL;
	*in += 2 + n;
	*left -= 2 + n;
	return 0;
}

/* The route lies inside a route of a member certificate of our mesh. */
static bool proven(const struct mg_privsep *ps, const struct mg_broker_req *req)
{
	struct mg_cert leaf, issuer;
	const uint8_t *in = req->proof;
	size_t left = req->proof_len;
	bool has_issuer;

	if (!ps->mesh || left > sizeof(req->proof) || take_cert(&leaf, &in, &left) < 0)
		return false;
	has_issuer = left > 0;
	if (has_issuer && (take_cert(&issuer, &in, &left) < 0 || left))
		return false;
	if (mg_cert_verify(&leaf, has_issuer ? &issuer : NULL, ps->authority, ps->mesh_id,
			   (uint64_t)time(NULL), NULL) < 0)
		return false;
	for (unsigned i = 0; i < leaf.n_routes && i < MG_CERT_ROUTES_MAX; i++)
		if (mg_privsep_prefix_inside(&req->route.dst, &leaf.routes[i]))
			return true;
	return false;
}

/* ---- requests ---- */

static int tun_open(struct mg_privsep *ps, const struct mg_broker_req *req,
		    struct mg_broker_rep *rep, int *fd_out)
{
	unsigned offload = 0;
	int ret;

	if (!name_ok(req->name, sizeof(req->name)) || strcmp(req->name, ps->ifname) ||
	    ps->tun_opened)
		return -EPERM;
	ret = mg_tun_open_offload(ps->ifname, rep->ifname, fd_out, &offload);
	if (ret < 0)
		return ret;
	ps->tun_opened = true;
	ps->ifindex = if_nametoindex(rep->ifname);
	rep->offload = offload;
	return 0;
}

/* The pool of sockets is bounded by a rate: the worker closes what it no
 * longer needs without telling us, so a count of open ones cannot be kept. */
static bool socket_budget(struct mg_privsep *ps)
{
	uint64_t now = ps->now_ms();

	if (now - ps->sockets_window_start >= MG_PRIVSEP_SOCKETS_WINDOW_MS) {
		ps->sockets_window_start = now;
		ps->sockets_in_window = 0;
	}
	if (ps->sockets_in_window >= MG_PRIVSEP_SOCKETS_BURST)
		return false;
	ps->sockets_in_window++;
	return true;
}

static int udp_socket(struct mg_privsep *ps, const struct mg_broker_req *req,
		      struct mg_broker_rep *rep, int *fd_out)
{
	uint16_t port = req->port;
	int fd;

	if (req->family != AF_INET && req->family != AF_INET6)
		return -EINVAL;
	if (!socket_budget(ps))
		return -EAGAIN;
	fd = mg_udp_socket_bound(req->family, &port, req->value);
	if (fd < 0)
		return fd;
	*fd_out = fd;
	rep->port = port;
	return 0;
}

static int udp_mark(const struct mg_broker_req *req, int fd)
{
	int domain = 0, proto = 0;
	socklen_t len = sizeof(int);
	uint32_t mark = req->value;

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		return -EBADF;
	if ((domain != AF_INET && domain != AF_INET6) || proto != IPPROTO_UDP)
		return -EPERM;
	return setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ? -errno : 0;
}

static int uapi_listen(struct mg_privsep *ps, const struct mg_broker_req *req, int *fd_out)
{
	struct stat st;
	int fd;

	if (!name_ok(req->name, sizeof(req->name)) || strcmp(req->name, ps->ifname) ||
	    !ps->tun_opened || ps->uapi_opened)
		return -EPERM;
	fd = mg_uapi_listen(ps->ifname, ps->uapi_path, sizeof(ps->uapi_path));
	if (fd < 0)
		return fd;
	ps->uapi_opened = true;
	if (ps->chown_uapi && lchown(ps->uapi_path, ps->uapi_uid, ps->uapi_gid) < 0) {
		int ret = -errno;

		close(fd);
		unlink(ps->uapi_path);
		ps->uapi_opened = false;
		return ret;
	}
	if (lstat(ps->uapi_path, &st) == 0) {
		ps->uapi_dev = st.st_dev;
		ps->uapi_ino = st.st_ino;
	}
	*fd_out = fd;
	return 0;
}

static int link_op(struct mg_privsep *ps, const struct mg_broker_req *req)
{
	struct mg_netlink nl;
	int ret;

	if (!ps->ifindex || req->ifindex != ps->ifindex)
		return -EPERM;
	if (req->op == MG_BROKER_LINK_MTU && (req->value < MG_MTU_MIN || req->value > MG_MTU_MAX))
		return -EINVAL;
	ret = mg_netlink_open(&nl);
	if (ret < 0)
		return ret;
	if (req->op == MG_BROKER_LINK_MTU)
		ret = mg_netlink_link_set_mtu(&nl, ps->ifindex, req->value);
	else if (req->op == MG_BROKER_LINK_UP)
		ret = mg_netlink_link_set_up(&nl, ps->ifindex, true);
	else
		ret = mg_netlink_link_delete(&nl, ps->ifindex);
	mg_netlink_close(&nl);
	return ret;
}

static int addr_op(struct mg_privsep *ps, const struct mg_broker_req *req)
{
	struct mg_prefix host = req->prefix;
	struct mg_netlink nl;
	int ret;

	if (!ps->ifindex || req->ifindex != ps->ifindex || !prefix_ok(&req->prefix))
		return -EPERM;
	/* The address itself must be ours to use, whatever its on-link length. */
	host.cidr = host.family == AF_INET ? 32 : 128;
	if (!allowed(ps, &host))
		return -EPERM;
	ret = mg_netlink_open(&nl);
	if (ret < 0)
		return ret;
	ret = req->op == MG_BROKER_ADDR_ADD
		      ? mg_netlink_addr_add(&nl, ps->ifindex, &req->prefix)
		      : mg_netlink_addr_delete(&nl, ps->ifindex, &req->prefix);
	mg_netlink_close(&nl);
	return ret;
}

static int route_op(struct mg_privsep *ps, const struct mg_broker_req *req)
{
	const struct mg_netlink_route *r = &req->route;
	struct mg_netlink nl;
	int ret;

	if (!ps->ifindex || r->ifindex != ps->ifindex || !prefix_ok(&r->dst) ||
	    (r->table && r->table != ps->table))
		return -EPERM;
	if (req->op == MG_BROKER_ROUTE_ADD && !allowed(ps, &r->dst) && !proven(ps, req))
		return -EPERM;
	ret = mg_netlink_open(&nl);
	if (ret < 0)
		return ret;
	ret = req->op == MG_BROKER_ROUTE_ADD ? mg_netlink_route_add(&nl, r)
					     : mg_netlink_route_delete(&nl, r);
	mg_netlink_close(&nl);
	return ret;
}

static void forget_rule(struct mg_privsep *ps, const struct mg_netlink_rule *r)
{
	for (size_t i = 0; i < ps->n_rules; i++) {
		if (!memcmp(&ps->rules[i], r, sizeof(*r))) {
			ps->rules[i] = ps->rules[--ps->n_rules];
			return;
		}
	}
}

static int rule_op(struct mg_privsep *ps, const struct mg_broker_req *req,
		   struct mg_broker_rep *rep)
{
	struct mg_netlink_rule r = req->rule;
	struct mg_netlink nl;
	int ret;

	if ((r.family != AF_INET && r.family != AF_INET6) ||
	    (r.kind == MG_NETLINK_RULE_NOT_FWMARK ? r.table != ps->table
						  : r.kind != MG_NETLINK_RULE_SUPPRESS_DEFAULT))
		return -EPERM;
	if (req->op == MG_BROKER_RULE_ADD && ps->n_rules == MG_PRIVSEP_RULES_MAX)
		return -ENOSPC;
	ret = mg_netlink_open(&nl);
	if (ret < 0)
		return ret;
	if (req->op == MG_BROKER_RULE_ADD) {
		ret = mg_netlink_rule_add(&nl, &r);
		if (ret == 0)
			ps->rules[ps->n_rules++] = r;
		rep->rule = r;
	} else {
		ret = mg_netlink_rule_delete(&nl, &r);
		if (ret == 0)
			forget_rule(ps, &r);
	}
	mg_netlink_close(&nl);
	return ret;
}

static bool advertised(const struct mg_privsep *ps, const struct mg_prefix *p)
{
	for (size_t i = 0; i < ps->n_advertise; i++)
		if (!memcmp(&ps->advertise[i], p, sizeof(*p)))
			return true;
	return false;
}

static int masquerade_op(struct mg_privsep *ps, const struct mg_broker_req *req)
{
	struct mg_log log = { .threshold = MG_LOG_ERROR };
	int ret;

	if (!name_ok(req->name, sizeof(req->name)) || strcmp(req->name, ps->ifname) ||
	    req->n_prefixes > MG_BROKER_PREFIXES_MAX)
		return -EPERM;
	for (uint32_t i = 0; i < req->n_prefixes; i++)
		if (!prefix_ok(&req->prefixes[i]) || !advertised(ps, &req->prefixes[i]))
			return -EPERM;
	ret = mg_node_masquerade_apply(ps->ifname, req->prefixes, req->n_prefixes, &log);
	if (ret == 0)
		ps->masquerade_on = req->n_prefixes > 0;
	return ret;
}

static int dispatch(struct mg_privsep *ps, const struct mg_broker_req *req, int fd_in,
		    struct mg_broker_rep *rep, int *fd_out)
{
	switch (req->op) {
	case MG_BROKER_TUN_OPEN:
		return tun_open(ps, req, rep, fd_out);
	case MG_BROKER_UDP_SOCKET:
		return udp_socket(ps, req, rep, fd_out);
	case MG_BROKER_UDP_MARK:
		return udp_mark(req, fd_in);
	case MG_BROKER_UAPI_LISTEN:
		return uapi_listen(ps, req, fd_out);
	case MG_BROKER_LINK_MTU:
	case MG_BROKER_LINK_UP:
	case MG_BROKER_LINK_DELETE:
		return link_op(ps, req);
	case MG_BROKER_ADDR_ADD:
	case MG_BROKER_ADDR_DEL:
		return addr_op(ps, req);
	case MG_BROKER_ROUTE_ADD:
	case MG_BROKER_ROUTE_DEL:
		return route_op(ps, req);
	case MG_BROKER_RULE_ADD:
	case MG_BROKER_RULE_DEL:
		return rule_op(ps, req, rep);
	case MG_BROKER_SYSCTL:
		return mg_node_sysctl_on(req->value);
	case MG_BROKER_MASQUERADE:
		return masquerade_op(ps, req);
	}
	return -EINVAL;
}

void mg_privsep_handle(struct mg_privsep *ps, const struct mg_broker_req *req, int fd_in,
		       struct mg_broker_rep *rep, int *fd_out)
{
	memset(rep, 0, sizeof(*rep));
	*fd_out = -1;
	rep->result = dispatch(ps, req, fd_in, rep, fd_out);
	if (rep->result == -EPERM || rep->result == -EINVAL)
		refuse(rep->result == -EPERM ? "not allowed" : "malformed", req);
	if (rep->result < 0 && *fd_out >= 0) {
		close(*fd_out);
		*fd_out = -1;
	}
}

void mg_privsep_serve(struct mg_privsep *ps, int sock)
{
	static struct mg_broker_req req;
	struct mg_broker_rep rep;

	for (;;) {
		int fd_in, fd_out, ret = mg_broker_recv(sock, &req, sizeof(req), &fd_in);

		if (ret == -EBADMSG) {
			memset(&rep, 0, sizeof(rep));
			rep.result = -EINVAL;
			(void)mg_broker_send(sock, &rep, sizeof(rep), -1);
			continue;
		}
		if (ret < 0)
			return;
		mg_privsep_handle(ps, &req, fd_in, &rep, &fd_out);
		if (fd_in >= 0)
			close(fd_in);
		ret = mg_broker_send(sock, &rep, sizeof(rep), fd_out);
		if (fd_out >= 0)
			close(fd_out);
		if (ret < 0)
			return;
	}
}

void mg_privsep_cleanup(struct mg_privsep *ps)
{
	struct mg_log log = { .threshold = MG_LOG_ERROR };
	struct mg_netlink nl;
	struct stat st;

	if (ps->n_rules && mg_netlink_open(&nl) == 0) {
		while (ps->n_rules)
			mg_netlink_rule_delete(&nl, &ps->rules[--ps->n_rules]);
		mg_netlink_close(&nl);
	}
	if (ps->masquerade_on)
		(void)mg_node_masquerade_apply(ps->ifname, NULL, 0, &log);
	ps->masquerade_on = false;
	if (ps->uapi_opened && lstat(ps->uapi_path, &st) == 0 && st.st_dev == ps->uapi_dev &&
	    st.st_ino == ps->uapi_ino)
		unlink(ps->uapi_path);
	ps->uapi_opened = false;
}
