/* IP addresses, prefixes and UDP endpoints as the rest of meshguard passes
 * them around: parsing and formatting in the forms wg and wg-quick use. */
#ifndef MG_UTIL_IPADDR_H
#define MG_UTIL_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* An address with a prefix length. addr holds 4 (AF_INET) or 16 (AF_INET6)
 * bytes in network order; bits past cidr are zero after mg_prefix_parse. */
struct mg_prefix {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;
	uint8_t addr[16];
};

/* Our end of the path to an endpoint (the "sticky source"): the local
 * address a datagram from the peer arrived at and the interface it came in
 * by, so that replies leave from the address the peer contacted, as the
 * kernel module and wireguard-go do. Same family as the endpoint's remote
 * address. All zero: unset, the kernel chooses the source by routing.
 *
 * sock: which of our UDP sockets the path uses: 0 the WireGuard port's, n
 * the extra socket n (tunnel/udp.h: a path found through another local port,
 * as a hard NAT's birthday probing finds one, must keep leaving from that
 * port, because the NAT's mapping belongs to it). Part of the path (it
 * counts in mg_endpoint_equal_local) but not of the source address:
 * mg_endpoint_has_local ignores it and mg_endpoint_clear_local keeps it. */
struct mg_endpoint_local {
	union {
		struct in_addr in4;
		struct in6_addr in6;
	};
	uint32_t ifindex;
	uint16_t sock;
};

/* A UDP endpoint: the remote IPv4 or IPv6 socket address (what wg(8) shows
 * as endpoint= and what logs print) and the local address replies to it
 * leave from. sa comes first, so &ep->sa is the address for sendto. */
struct mg_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
	struct mg_endpoint_local local;
};

#define MG_PREFIX_STRLEN   (INET6_ADDRSTRLEN + 4)
#define MG_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 8)

/* "10.0.0.1/24", "fd00::/64"; a bare address is a host prefix (/32, /128).
 * Host bits are cleared when mask_host_bits. 0 or -EINVAL. */
int mg_prefix_parse(struct mg_prefix *out, const char *s, bool mask_host_bits);
void mg_prefix_format(char *out, size_t len, const struct mg_prefix *p);
/* Clears the bits past p->cidr. */
void mg_prefix_mask(struct mg_prefix *p);

/* A port or prefix length as written: 1 to max_digits decimal digits, no
 * sign or space, at most max. 0 or -EINVAL. */
int mg_decimal_parse(unsigned long *out, const char *s, size_t max_digits, unsigned long max);

/* Numeric "1.2.3.4:51820" or "[fd00::1]:51820" (no name lookup). 0 or -EINVAL. */
int mg_endpoint_parse(struct mg_endpoint *out, const char *s);
/* Same form as mg_endpoint_parse reads; the remote address only. */
void mg_endpoint_format(char *out, size_t len, const struct mg_endpoint *ep);
/* The length of the remote socket address, for sendto; 0 when unset. */
socklen_t mg_endpoint_len(const struct mg_endpoint *ep);
/* The whole path: remote address and local address (see the .c file). */
bool mg_endpoint_equal(const struct mg_endpoint *a, const struct mg_endpoint *b);
/* The remote address only: the peer's identity on the network. */
bool mg_endpoint_equal_remote(const struct mg_endpoint *a, const struct mg_endpoint *b);
/* The local address only (family, address, interface). */
bool mg_endpoint_equal_local(const struct mg_endpoint *a, const struct mg_endpoint *b);

bool mg_endpoint_has_local(const struct mg_endpoint *ep);
/* An IPv4 or IPv6 endpoint with a port: one a datagram can go to. */
bool mg_endpoint_usable(const struct mg_endpoint *ep);
/* Forgets the local address: the next send lets the kernel choose again. */
void mg_endpoint_clear_local(struct mg_endpoint *ep);

#endif
