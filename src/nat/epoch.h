/* Gateway epochs: NAT-PMP (RFC 6886 3.6) and PCP (RFC 6887 8.5) servers
 * report the seconds since they started ("epoch"); a client compares the
 * server's progress with its own clock to tell that the gateway restarted
 * and lost every mapping. */
#ifndef MG_NAT_EPOCH_H
#define MG_NAT_EPOCH_H

#include <stdbool.h>
#include <stdint.h>

struct mg_epoch {
	bool known;
	uint32_t server_s;  /* last epoch the server reported */
	uint64_t client_ns; /* our monotonic clock when it arrived */
};

/* Records a NAT-PMP epoch seen at now_ns. Returns false when the gateway
 * lost its state: the new epoch is below the previous one plus 7/8 of the
 * time that passed for us, minus 2 s. The first observation is valid. */
bool mg_epoch_natpmp_update(struct mg_epoch *e, uint32_t server_s, uint64_t now_ns)
	__attribute__((warn_unused_result));

/* Records a PCP epoch seen at now_ns. Returns false when it went back by
 * more than 1 s, or when server and client time disagree by more than
 * 2 s + 1/16 (RFC 6887 8.5). The first observation is valid. */
bool mg_epoch_pcp_update(struct mg_epoch *e, uint32_t server_s, uint64_t now_ns)
	__attribute__((warn_unused_result));

#endif
