/* The privileged broker, as the unprivileged side sees it (issue 13).
 *
 * Under privilege separation (node/privsep.h) the process that reads the
 * network runs as the `meshguard` user with no capabilities and a seccomp
 * allow-list; everything that needs privilege goes to a small privileged
 * process over one SOCK_SEQPACKET socket: opening the TUN, UDP sockets
 * (SO_MARK and SO_RCVBUFFORCE need CAP_NET_ADMIN), the UAPI socket in
 * /var/run/wireguard, and every change of kernel configuration. The tunnel
 * layer's own functions (tun_linux.c, udp_linux.c, netlink_linux.c,
 * uapi_server.c) ask the broker instead of the kernel once
 * mg_broker_attach has been called: call sites do not change, and a
 * process without a broker (the library, --no-sandbox) works as before.
 *
 * The channel. One request, one reply, in order; the worker waits for the
 * reply (every request is a local syscall's worth of work). A request is
 * struct mg_broker_req, a reply struct mg_broker_rep plus at most one fd in
 * SCM_RIGHTS; both processes run the same binary, so the structs are sent
 * as they are, and the privileged side checks every field before use
 * (node/privsep.c: lengths, NUL-terminated strings, enums, counts,
 * prefixes). Requests:
 *
 *   op            fields used                      reply
 *   TUN_OPEN      name                             fd, ifname, offload
 *   UDP_SOCKET    family, port, fwmark             fd, port (bound, marked)
 *   UDP_MARK      value (fwmark), an fd (a UDP     result
 *                 socket of ours) in SCM_RIGHTS
 *   UAPI_LISTEN   name (the interface)             fd (listening)
 *   LINK_MTU      ifindex, value (MTU)             result
 *   LINK_UP       ifindex                          result
 *   LINK_DELETE   ifindex                          result
 *   ADDR_ADD/DEL  ifindex, prefix                  result
 *   ROUTE_ADD/DEL route, proof (optional)          result
 *   RULE_ADD/DEL  rule                             result, rule (priority)
 *   SYSCTL        value (enum mg_broker_sysctl)    result
 *   MASQUERADE    name (interface), prefixes       result (count 0: off)
 *
 * A route outside the prefixes the privileged side was given at start (the
 * mesh's, or the configuration's addresses and allowed IPs) needs a proof:
 * the certificate of the member that advertises it and its issuer's
 * (mesh/cert.h encodings, one after the other, each preceded by its length
 * as 2 bytes big-endian), which the privileged side verifies against the
 * mesh's authority key. */
#ifndef MG_TUNNEL_BROKER_H
#define MG_TUNNEL_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "tunnel/netlink.h"
#include "util/ipaddr.h"

#define MG_BROKER_NAME_MAX     108 /* sun_path's size: an interface name fits */
#define MG_BROKER_PREFIXES_MAX 16
#define MG_BROKER_PROOF_MAX    2600 /* two certificates and their lengths */

enum mg_broker_op {
	MG_BROKER_TUN_OPEN = 1,
	MG_BROKER_UDP_SOCKET,
	MG_BROKER_UDP_MARK,
	MG_BROKER_UAPI_LISTEN,
	MG_BROKER_LINK_MTU,
	MG_BROKER_LINK_UP,
	MG_BROKER_LINK_DELETE,
	MG_BROKER_ADDR_ADD,
	MG_BROKER_ADDR_DEL,
	MG_BROKER_ROUTE_ADD,
	MG_BROKER_ROUTE_DEL,
	MG_BROKER_RULE_ADD,
	MG_BROKER_RULE_DEL,
	MG_BROKER_SYSCTL,
	MG_BROKER_MASQUERADE,
	MG_BROKER_OP_END,
};

enum mg_broker_sysctl {
	MG_BROKER_SRC_VALID_MARK = 1, /* net.ipv4.conf.all.src_valid_mark */
	MG_BROKER_FORWARD4,	      /* net.ipv4.ip_forward */
	MG_BROKER_FORWARD6,	      /* net.ipv6.conf.all.forwarding */
};

struct mg_broker_req {
	uint32_t op; /* enum mg_broker_op */
	uint32_t ifindex;
	uint32_t value; /* LINK_MTU: the MTU; SYSCTL: which; UDP_SOCKET: fwmark */
	uint16_t family, port;
	char name[MG_BROKER_NAME_MAX];
	struct mg_prefix prefix;
	struct mg_netlink_route route;
	struct mg_netlink_rule rule;
	uint32_t n_prefixes;
	struct mg_prefix prefixes[MG_BROKER_PREFIXES_MAX];
	uint32_t proof_len;
	uint8_t proof[MG_BROKER_PROOF_MAX];
};

struct mg_broker_rep {
	int32_t result; /* 0 or -errno */
	uint16_t port;
	char ifname[IFNAMSIZ];
	uint32_t offload;
	struct mg_netlink_rule rule;
};

/* From now on this process asks the broker at fd (its end of the channel;
 * the process keeps it) for everything privileged. */
void mg_broker_attach(int fd);
bool mg_broker_active(void);

/* Sends req and waits for the reply; *fd_out (when not NULL) gets the fd
 * that came with it, or -1. rep->result, or -errno when the channel
 * failed (-EPIPE: the privileged side is gone). */
int mg_broker_call(const struct mg_broker_req *req, struct mg_broker_rep *rep, int *fd_out);

/* Shorthands for the tunnel layer's call sites. */
int mg_broker_link(enum mg_broker_op op, unsigned ifindex, uint32_t value);
int mg_broker_addr(enum mg_broker_op op, unsigned ifindex, const struct mg_prefix *p);
int mg_broker_route(enum mg_broker_op op, const struct mg_netlink_route *r, const uint8_t *proof,
		    size_t proof_len);
/* RULE_ADD: *priority_out (when not NULL) gets the rule's priority. */
int mg_broker_rule(enum mg_broker_op op, const struct mg_netlink_rule *r, uint32_t *priority_out);
int mg_broker_sysctl(enum mg_broker_sysctl which);
/* A UDP socket of family bound to *port (0: the kernel picks; *port gets
 * it) with fwmark: its fd, or -errno. */
int mg_broker_udp_socket(int family, uint16_t *port, uint32_t fwmark);
/* Sets SO_MARK on fd, a UDP socket of ours. */
int mg_broker_udp_mark(int fd, uint32_t fwmark);

/* Sends one message with at most one fd (fd < 0: none); for the
 * privileged side's replies. 0 or -errno. */
int mg_broker_send(int sock, const void *buf, size_t len, int fd);
/* Receives one message of exactly len bytes and at most one fd into
 * *fd_out (-1 when none; extra fds are closed). 0, -EPIPE at the end of
 * the channel, -EBADMSG on a message of another size, or -errno. */
int mg_broker_recv(int sock, void *buf, size_t len, int *fd_out);

#endif
