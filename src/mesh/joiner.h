/* `meshguard join`: the joiner's side of the join exchange (join.h) run to
 * its end over plain UDP sockets, then the membership written into DIR.
 *
 * It sends the HELLO to every candidate endpoint in the token at once (host
 * names resolved here), retransmits every MG_JOINER_RETRY_MS, and follows
 * the first inviter whose challenge verifies. Datagrams that fail to
 * verify are dropped without ending the exchange (an attacker on the path
 * can delay a join, not fail it); their last error is reported if nothing
 * better comes within MG_JOINER_BAD_MS of the start (then the token or the
 * inviter is wrong, and waiting longer would not help).
 *
 * Writing: DIR is created (0700) and locked; it must hold no mesh. The keys,
 * certificate and directory are written first and mesh.json last (its
 * presence means "DIR holds a mesh"); on any failure what was written is
 * removed again, so DIR is left without a membership. */
#ifndef MG_MESH_JOINER_H
#define MG_MESH_JOINER_H

#include <stddef.h>
#include <stdint.h>

#include "meshguard.h"

#define MG_JOINER_RETRY_MS   500
#define MG_JOINER_TIMEOUT_MS 10000
/* A request unanswered this long (the inviter restarted and forgot the
 * session): start over with a new hello. */
#define MG_JOINER_REQUEST_MS 3000
/* Give up this early when every answer so far failed to verify. */
#define MG_JOINER_BAD_MS 3000

struct mg_joiner_params {
	const char *dir;
	const char *token; /* the text, white space around it allowed */
	const char *name;  /* NULL: pinned, else the host name */
	uint16_t listen_port;
	uint32_t timeout_ms;
	uint64_t now; /* Unix seconds */
};

enum mg_mesh_result mg_joiner_run(const struct mg_joiner_params *p, char *msg, size_t msglen);

#endif
