/* The join payload (mesh/bootstrap.h): what the writer makes the decoder
 * reads back exactly; every truncation, a trailing byte, another version
 * and a 17th item are refused. */
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "mesh/bootstrap.h"
#include "mesh/join.h"

static size_t make(uint8_t *out, size_t cap, unsigned items)
{
	struct mg_bootstrap_writer w;
	struct mg_prefix p4, p6;
	uint8_t item[40];

	CHECK_EQ(mg_prefix_parse(&p4, "100.64.0.0/16", false), 0);
	CHECK_EQ(mg_prefix_parse(&p6, "fd00:1:2::/48", false), 0);
	mg_bootstrap_start(&w, out, cap, "lab", &p4, &p6);
	for (unsigned i = 0; i < items; i++) {
		memset(item, (int)i + 1, sizeof(item));
		CHECK_EQ(mg_bootstrap_add(&w, item, 10 + i), 0);
	}
	return cap - w.b.left;
}

int main(void)
{
	uint8_t buf[MG_JOIN_PAYLOAD_MAX], copy[MG_JOIN_PAYLOAD_MAX + 1];
	struct mg_bootstrap_writer w;
	struct mg_bootstrap bs;
	size_t len = make(buf, sizeof(buf), 3);

	CHECK_EQ(mg_bootstrap_decode(&bs, buf, len), 0);
	CHECK(!strcmp(bs.mesh_name, "lab"));
	CHECK_EQ(bs.prefix4.family, AF_INET);
	CHECK_EQ(bs.prefix6.cidr, 48);
	CHECK_EQ(bs.n_items, 3);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(bs.item_len[i], 10 + i);
		CHECK_EQ(bs.items[i][0], i + 1);
	}
	for (size_t n = 0; n < len; n++)
		CHECK(mg_bootstrap_decode(&bs, buf, n) < 0);
	memcpy(copy, buf, len);
	copy[len] = 0;
	CHECK_EQ(mg_bootstrap_decode(&bs, copy, len + 1), -MG_MESH_EMALFORMED);
	copy[0] = 2;
	CHECK_EQ(mg_bootstrap_decode(&bs, copy, len), -MG_MESH_EVERSION);

	/* No more than MG_BOOTSTRAP_ITEMS_MAX items, and none past the room. */
	len = make(buf, sizeof(buf), MG_BOOTSTRAP_ITEMS_MAX);
	CHECK_EQ(mg_bootstrap_decode(&bs, buf, len), 0);
	mg_bootstrap_start(&w, buf, sizeof(buf), "lab", &bs.prefix4, &bs.prefix6);
	for (unsigned i = 0; i < MG_BOOTSTRAP_ITEMS_MAX; i++)
		CHECK_EQ(mg_bootstrap_add(&w, copy, 2), 0);
	CHECK_EQ(mg_bootstrap_add(&w, copy, 2), -MG_MESH_ETOOBIG);
	mg_bootstrap_start(&w, buf, 40, "lab", &bs.prefix4, &bs.prefix6);
	CHECK_EQ(mg_bootstrap_add(&w, copy, 100), -MG_MESH_ETOOBIG);
	CHECK_EQ(mg_bootstrap_add(&w, copy, 2), 0);
	mg_test_pass("mesh_bootstrap");
	return 0;
}
