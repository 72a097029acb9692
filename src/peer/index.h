/* The table of local session indices (whitepaper 5.4.2): every handshake in
 * flight and every keypair is known to the other side by a random 32-bit
 * index, which the receive path looks up for each packet. Entries are
 * embedded in their owners (handshake, keypair); the table only links them. */
#ifndef MG_PEER_INDEX_H
#define MG_PEER_INDEX_H

#include <stdbool.h>
#include <stdint.h>

struct mg_peer;

enum mg_index_type {
	MG_INDEX_HANDSHAKE = 1 << 0,
	MG_INDEX_KEYPAIR = 1 << 1,
};

struct mg_index_entry {
	struct mg_index_entry *next;
	struct mg_peer *peer;
	uint32_t index; /* as on the wire; opaque */
	uint8_t type;
	bool linked;
};

#define MG_INDEX_BUCKETS (1 << 13)

struct mg_index_table {
	struct mg_index_entry *buckets[MG_INDEX_BUCKETS];
	uint32_t count;
};

void mg_index_table_init(struct mg_index_table *t);
/* Links entry under a fresh random index not in use (unlinking it first if
 * it was linked) and returns that index. */
uint32_t mg_index_insert(struct mg_index_table *t, struct mg_index_entry *entry);
/* new takes over old's index; old is unlinked. */
void mg_index_replace(struct mg_index_table *t, struct mg_index_entry *old,
		      struct mg_index_entry *new_entry);
void mg_index_remove(struct mg_index_table *t, struct mg_index_entry *entry);
/* Borrowed pointer, valid until the entry is removed. type_mask is a set of
 * enum mg_index_type bits. No allocation: this is on the per-packet path. */
struct mg_index_entry *mg_index_lookup(const struct mg_index_table *t, uint32_t index,
				       unsigned type_mask);

#endif
