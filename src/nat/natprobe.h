/* NAT behaviour from STUN answers (RFC 4787 terms, RFC 5780's first test):
 * one local socket asks servers at different addresses where it comes from.
 * The same mapped endpoint from every server means the NAT maps
 * independently of the destination (endpoint-independent mapping: hole
 * punching works); different ones mean it maps per destination
 * (endpoint-dependent, the "hard" NAT). Only servers at two different
 * addresses can show a mapping to be independent: a NAT whose mapping
 * depends on the address alone looks independent to two ports of one. */
#ifndef MG_NAT_NATPROBE_H
#define MG_NAT_NATPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/stun_client.h"

enum mg_nat_mapping {
	MG_NAT_MAPPING_UNKNOWN,	    /* no answer, or answers from one address only */
	MG_NAT_MAPPING_NONE,	    /* the mapped address is one of our own: no NAT */
	MG_NAT_MAPPING_INDEPENDENT, /* one mapping for every destination */
	MG_NAT_MAPPING_DEPENDENT,   /* a mapping per destination */
};

enum mg_nat_tristate {
	MG_NAT_UNKNOWN = -1,
	MG_NAT_NO = 0,
	MG_NAT_YES = 1,
};

struct mg_nat_behaviour {
	int family; /* AF_INET or AF_INET6: the answers looked at */
	enum mg_nat_mapping mapping;
	/* Every mapped port equals the local port. */
	enum mg_nat_tristate port_preserved;
	unsigned answers;	   /* successful answers of this family */
	unsigned server_addresses; /* distinct server addresses among them */
	/* The first answer's mapped endpoint; with MG_NAT_MAPPING_DEPENDENT
	 * other destinations see other ports (or addresses). */
	struct mg_endpoint public_endpoint;
	bool varies_address; /* mappings differ in address, not just port */
};

/* Classifies the results of one family (AF_INET or AF_INET6) in r[0..n)
 * (failed ones are skipped), all sent from one socket bound to local_port.
 * local[0..nlocal) are the host's own addresses (ports ignored): a mapped
 * address among them means no NAT. */
void mg_nat_classify(struct mg_nat_behaviour *out, int family, uint16_t local_port,
		     const struct mg_stun_result *r, size_t n, const struct mg_endpoint *local,
		     size_t nlocal);

/* "endpoint-independent", "endpoint-dependent", "none", "unknown". */
const char *mg_nat_mapping_name(enum mg_nat_mapping m);

/* The address of ep (port ignored) equals that of other. */
bool mg_nat_same_address(const struct mg_endpoint *a, const struct mg_endpoint *b);

#endif
