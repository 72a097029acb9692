/* The anti-replay window of RFC 6479 as WireGuard sizes it: a ring of 64-bit
 * blocks, so sliding the window clears whole blocks instead of shifting. */
#ifndef MG_TUNNEL_REPLAY_H
#define MG_TUNNEL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define MG_REPLAY_BITS_TOTAL 8192
#define MG_REPLAY_WINDOW     (MG_REPLAY_BITS_TOTAL - 64)

struct mg_replay {
	uint64_t next; /* one past the greatest counter accepted */
	uint64_t blocks[MG_REPLAY_BITS_TOTAL / 64];
};

void mg_replay_init(struct mg_replay *r);
/* Accepts a counter at most once and marks it seen. Call only after the
 * packet authenticated, or a forger could slide the window. */
bool mg_replay_accept(struct mg_replay *r, uint64_t counter) __attribute__((warn_unused_result));

#endif
