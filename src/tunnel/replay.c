#include "tunnel/replay.h"
#include "tunnel/messages.h"

#include <string.h>

#define BLOCKS (MG_REPLAY_BITS_TOTAL / 64)

void mg_replay_init(struct mg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Clears the blocks the window slides over when a counter runs ahead. */
static void slide(struct mg_replay *r, uint64_t their_next)
{
	uint64_t index_current = r->next >> 6;
	uint64_t index = their_next >> 6;
	uint64_t top = index - index_current;

	if (top > BLOCKS)
		top = BLOCKS;
	for (uint64_t i = 1; i <= top; i++)
		r->blocks[(i + index_current) & (BLOCKS - 1)] = 0;
	r->next = their_next;
}

bool mg_replay_accept(struct mg_replay *r, uint64_t counter)
{
	if (r->next >= REJECT_AFTER_MESSAGES + 1 || counter >= REJECT_AFTER_MESSAGES)
		return false;
	uint64_t their_next = counter + 1;
	if (their_next + MG_REPLAY_WINDOW < r->next)
		return false;
	if (their_next > r->next)
		slide(r, their_next);
	uint64_t *block = &r->blocks[(their_next >> 6) & (BLOCKS - 1)];
	uint64_t bit = UINT64_C(1) << (their_next & 63);
	bool seen = *block & bit;
	*block |= bit;
	return !seen;
}
