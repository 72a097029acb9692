/* NAT-PMP replies (RFC 6886 3.2, 3.3, 3.5) as hand-built bytes: what the
 * check in front of libnatpmp lets through and what it stops. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "nat/natpmp_wire.h"

struct row {
	const char *hex;
	int ret;
	uint8_t opcode;
	uint16_t result;
};

static const struct row rows[] = {
	/* external address 198.51.100.1, epoch 0x1234 */
	{ "00800000"
	  "00001234"
	  "c6336401",
	  0, 0, 0 },
	/* UDP mapping 51820 -> 40000 for 7200 s */
	{ "00810000"
	  "00001234"
	  "ca6c9c40"
	  "00001c20",
	  0, 1, 0 },
	/* TCP mapping answer (not ours, but well-formed) */
	{ "00820000"
	  "00001234"
	  "ca6c9c40"
	  "00001c20",
	  0, 2, 0 },
	/* errors are 8 bytes or more */
	{ "00810002"
	  "00000005",
	  0, 1, 2 },
	{ "00810003"
	  "00000005"
	  "ca6c0000"
	  "00000000",
	  0, 1, 3 },
	/* too short for what it says */
	{ "00800000"
	  "00001234"
	  "c633",
	  -EBADMSG, 0, 0 },
	{ "00810000"
	  "00001234"
	  "ca6c9c40",
	  -EBADMSG, 0, 0 },
	{ "008000", -EBADMSG, 0, 0 },
	/* a request, not a reply; unknown opcode; PCP version */
	{ "00010000"
	  "00001234"
	  "ca6c9c40"
	  "00001c20",
	  -EBADMSG, 0, 0 },
	{ "00830000"
	  "00001234"
	  "ca6c9c40"
	  "00001c20",
	  -EBADMSG, 0, 0 },
	{ "02810000"
	  "00001234"
	  "ca6c9c40"
	  "00001c20",
	  -EBADMSG, 0, 0 },
};

int main(void)
{
	uint8_t buf[64];
	struct mg_natpmp_reply r;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = mg_test_unhex(buf, sizeof(buf), rows[i].hex);
		int ret = mg_natpmp_parse_reply(&r, buf, n);
		if (ret != rows[i].ret)
			fprintf(stderr, "row %zu: %s\n", i, rows[i].hex);
		CHECK_EQ(ret, rows[i].ret);
		if (ret == 0) {
			CHECK_EQ(r.opcode, rows[i].opcode);
			CHECK_EQ(r.result, rows[i].result);
		}
	}

	size_t n = mg_test_unhex(buf, sizeof(buf), rows[1].hex);
	CHECK_EQ(mg_natpmp_parse_reply(&r, buf, n), 0);
	CHECK_EQ(r.epoch, 0x1234);
	CHECK_EQ(r.internal_port, 51820);
	CHECK_EQ(r.external_port, 40000);
	CHECK_EQ(r.lifetime, 7200);
	n = mg_test_unhex(buf, sizeof(buf), rows[0].hex);
	CHECK_EQ(mg_natpmp_parse_reply(&r, buf, n), 0);
	CHECK_EQ(ntohl(r.external_addr.s_addr), 0xc6336401);

	/* Longer than any NAT-PMP message. */
	uint8_t big[MG_NATPMP_MAX_LEN + 1] = { 0, 0x80 };
	CHECK_EQ(mg_natpmp_parse_reply(&r, big, sizeof(big)), -EBADMSG);

	/* build and parse agree */
	uint8_t out[MG_NATPMP_MAP_REPLY_LEN];
	struct mg_natpmp_reply want = {
		.opcode = 1, .epoch = 7, .internal_port = 1, .external_port = 2, .lifetime = 3
	};
	CHECK_EQ(mg_natpmp_build_reply(out, &want), 16);
	CHECK_EQ(mg_natpmp_parse_reply(&r, out, 16), 0);
	CHECK_EQ(r.external_port, 2);
	CHECK_EQ(r.lifetime, 3);
	CHECK_EQ(mg_natpmp_result_errno(2), -EACCES);
	CHECK_EQ(mg_natpmp_result_errno(4), -ENOSPC);
	mg_test_pass("natpmp_wire");
	return 0;
}
