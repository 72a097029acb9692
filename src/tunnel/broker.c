/* The unprivileged side of the broker channel (see broker.h). */
#include "tunnel/broker.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Process-wide: privilege separation is the process's state, not a node's. */
static int broker_fd = -1;
/* One request in flight: a reply must meet its request, and libuv's
 * threadpool (port mapping, netcheck) may ask while the loop does. */
static pthread_mutex_t broker_lock = PTHREAD_MUTEX_INITIALIZER;

void mg_broker_attach(int fd)
{
	broker_fd = fd;
}

bool mg_broker_active(void)
{
	return broker_fd >= 0;
}

int mg_broker_send(int sock, const void *buf, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* Keeps the first fd of an SCM_RIGHTS message and closes any other. */
static void take_fds(struct msghdr *msg, int *fd_out)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd_out && *fd_out < 0)
				*fd_out = fd;
			else
				close(fd);
		}
	}
}

int mg_broker_recv(int sock, void *buf, size_t len, int *fd_out)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n;

	if (fd_out)
		*fd_out = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	take_fds(&msg, fd_out);
	if (n == 0)
		return -EPIPE;
	if ((size_t)n != len || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd_out && *fd_out >= 0)
			close(*fd_out);
		if (fd_out)
			*fd_out = -1;
		return -EBADMSG;
	}
	return 0;
}

/* Sends req with fd_in (-1: none), waits for the reply. */
static int call_with(const struct mg_broker_req *req, int fd_in, struct mg_broker_rep *rep,
		     int *fd_out)
{
	int ret;

	if (fd_out)
		*fd_out = -1;
	if (broker_fd < 0)
		return -ENOTCONN;
	pthread_mutex_lock(&broker_lock);
	ret = mg_broker_send(broker_fd, req, sizeof(*req), fd_in);
	if (ret == 0)
		ret = mg_broker_recv(broker_fd, rep, sizeof(*rep), fd_out);
	pthread_mutex_unlock(&broker_lock);
	if (ret < 0)
		return ret;
	if (rep->result < 0 && fd_out && *fd_out >= 0) {
		close(*fd_out);
		*fd_out = -1;
	}
	return rep->result;
}

int mg_broker_call(const struct mg_broker_req *req, struct mg_broker_rep *rep, int *fd_out)
{
	return call_with(req, -1, rep, fd_out);
}

/* Most requests: zeroed but for what the op needs. The request is large
 * (the proof), so it lives here rather than on every caller's stack, one
 * per thread. */
static struct mg_broker_req *request(enum mg_broker_op op)
{
	static _Thread_local struct mg_broker_req req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	return &req;
}

static int call(const struct mg_broker_req *req)
{
	struct mg_broker_rep rep;

	return mg_broker_call(req, &rep, NULL);
}

int mg_broker_link(enum mg_broker_op op, unsigned ifindex, uint32_t value)
{
	struct mg_broker_req *req = request(op);

	req->ifindex = ifindex;
	req->value = value;
	return call(req);
}

int mg_broker_addr(enum mg_broker_op op, unsigned ifindex, const struct mg_prefix *p)
{
	struct mg_broker_req *req = request(op);

	req->ifindex = ifindex;
	req->prefix = *p;
	return call(req);
}

int mg_broker_route(enum mg_broker_op op, const struct mg_netlink_route *r, const uint8_t *proof,
		    size_t proof_len)
{
	struct mg_broker_req *req = request(op);

	if (proof_len > sizeof(req->proof))
		return -E2BIG;
	req->route = *r;
	req->ifindex = r->ifindex;
	req->proof_len = (uint32_t)proof_len;
	if (proof_len)
		memcpy(req->proof, proof, proof_len);
	return call(req);
}

int mg_broker_rule(enum mg_broker_op op, const struct mg_netlink_rule *r, uint32_t *priority_out)
{
	struct mg_broker_req *req = request(op);
	struct mg_broker_rep rep;
	int ret;

	req->rule = *r;
	ret = mg_broker_call(req, &rep, NULL);
	if (ret == 0 && priority_out)
		*priority_out = rep.rule.priority;
	return ret;
}

int mg_broker_sysctl(enum mg_broker_sysctl which)
{
	struct mg_broker_req *req = request(MG_BROKER_SYSCTL);

	req->value = which;
	return call(req);
}

int mg_broker_udp_socket(int family, uint16_t *port, uint32_t fwmark)
{
	struct mg_broker_req *req = request(MG_BROKER_UDP_SOCKET);
	struct mg_broker_rep rep;
	int fd, ret;

	req->family = (uint16_t)family;
	req->port = *port;
	req->value = fwmark;
	ret = mg_broker_call(req, &rep, &fd);
	if (ret < 0)
		return ret;
	if (fd < 0)
		return -EBADMSG;
	*port = rep.port;
	return fd;
}

int mg_broker_udp_mark(int fd, uint32_t fwmark)
{
	struct mg_broker_req *req = request(MG_BROKER_UDP_MARK);
	struct mg_broker_rep rep;

	req->value = fwmark;
	return call_with(req, fd, &rep, NULL);
}
