#include "peer/index.h"
#include "crypto/primitives.h"

#include <string.h>

static struct mg_index_entry **bucket(struct mg_index_table *t, uint32_t index)
{
	/* Indices are uniformly random, so their low bits hash well enough. */
	return &t->buckets[index & (MG_INDEX_BUCKETS - 1)];
}

void mg_index_table_init(struct mg_index_table *t)
{
	memset(t, 0, sizeof(*t));
}

static void link_entry(struct mg_index_table *t, struct mg_index_entry *e)
{
	struct mg_index_entry **head = bucket(t, e->index);
	e->next = *head;
	*head = e;
	e->linked = true;
	t->count++;
}

void mg_index_remove(struct mg_index_table *t, struct mg_index_entry *entry)
{
	if (!entry->linked)
		return;
	for (struct mg_index_entry **p = bucket(t, entry->index); *p; p = &(*p)->next) {
		if (*p == entry) {
			*p = entry->next;
			break;
		}
	}
	entry->next = NULL;
	entry->linked = false;
	t->count--;
}

uint32_t mg_index_insert(struct mg_index_table *t, struct mg_index_entry *entry)
{
	mg_index_remove(t, entry);
	do
		entry->index = mg_random_u32();
	while (mg_index_lookup(t, entry->index, MG_INDEX_HANDSHAKE | MG_INDEX_KEYPAIR));
	link_entry(t, entry);
	return entry->index;
}

void mg_index_replace(struct mg_index_table *t, struct mg_index_entry *old,
		      struct mg_index_entry *new_entry)
{
	mg_index_remove(t, new_entry);
	new_entry->index = old->index;
	mg_index_remove(t, old);
	link_entry(t, new_entry);
}

struct mg_index_entry *mg_index_lookup(const struct mg_index_table *t, uint32_t index,
				       unsigned type_mask)
{
	struct mg_index_entry *e = t->buckets[index & (MG_INDEX_BUCKETS - 1)];
	for (; e; e = e->next)
		if (e->index == index && (e->type & type_mask))
			return e;
	return NULL;
}
