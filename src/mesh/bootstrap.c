/* The join exchange's payload (see bootstrap.h). */
#include "mesh/bootstrap.h"

#include <string.h>
#include <sys/socket.h>

void mg_bootstrap_start(struct mg_bootstrap_writer *w, uint8_t *out, size_t cap,
			const char *mesh_name, const struct mg_prefix *p4,
			const struct mg_prefix *p6)
{
	struct mg_mesh_buf *b = &w->b;

	*b = (struct mg_mesh_buf){ .p = out, .left = cap };
	mg_mesh_put_u8(b, MG_BOOTSTRAP_VERSION);
	mg_mesh_put_str(b, mesh_name);
	mg_mesh_put_prefix(b, p4);
	mg_mesh_put_prefix(b, p6);
	w->count = b->bad ? NULL : b->p;
	mg_mesh_put_u8(b, 0);
}

int mg_bootstrap_add(struct mg_bootstrap_writer *w, const uint8_t *item, size_t len)
{
	struct mg_mesh_buf *b = &w->b;

	if (b->bad || !w->count || len == 0 || len > UINT16_MAX || b->left < 2 + len ||
	    *w->count == MG_BOOTSTRAP_ITEMS_MAX)
		return -MG_MESH_ETOOBIG;
	mg_mesh_put_u16(b, (uint16_t)len);
	mg_mesh_put(b, item, len);
	(*w->count)++;
	return 0;
}

int mg_bootstrap_decode(struct mg_bootstrap *bs, const uint8_t *in, size_t len)
{
	struct mg_mesh_buf b = { .r = in, .left = len };

	memset(bs, 0, sizeof(*bs));
	if (len < 1)
		return -MG_MESH_EMALFORMED;
	if (mg_mesh_get_u8(&b) != MG_BOOTSTRAP_VERSION)
		return -MG_MESH_EVERSION;
	mg_mesh_get_str(&b, bs->mesh_name, MG_MESH_NAME_MAX);
	mg_mesh_get_prefix(&b, &bs->prefix4);
	mg_mesh_get_prefix(&b, &bs->prefix6);
	bs->n_items = mg_mesh_get_u8(&b);
	if (b.bad || bs->n_items == 0 || bs->n_items > MG_BOOTSTRAP_ITEMS_MAX ||
	    bs->prefix4.family != AF_INET || bs->prefix6.family != AF_INET6)
		goto bad;
	for (unsigned i = 0; i < bs->n_items; i++) {
		uint16_t n = mg_mesh_get_u16(&b);

		if (b.bad || n == 0 || n > b.left)
			goto bad;
		bs->items[i] = b.r;
		bs->item_len[i] = n;
		b.r += n;
		b.left -= n;
	}
	if (b.left == 0)
		return 0;
bad:
	memset(bs, 0, sizeof(*bs));
	return -MG_MESH_EMALFORMED;
}
