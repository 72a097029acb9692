/* PCP codec against hand-built packets (RFC 6887 7.1, 7.2, 11.1): the
 * exact bytes of ANNOUNCE and MAP requests, and what the parser accepts and
 * refuses in responses. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "nat/pcp.h"

static const uint8_t nonce[MG_PCP_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	CHECK(inet_pton(AF_INET, s, &a) == 1);
	return a;
}

static void requests(void)
{
	uint8_t out[MG_PCP_MAP_LEN], want[MG_PCP_MAP_LEN];
	struct mg_pcp_map map = { .protocol = MG_PCP_PROTO_UDP,
				  .internal_port = 51820,
				  .external_port = 51821 };

	CHECK_EQ(mg_pcp_announce_request(out, ip("192.168.1.10")), 24);
	CHECK_EQ(mg_test_unhex(want, sizeof(want),
			       "02000000"
			       "00000000"
			       "00000000000000000000ffff"
			       "c0a8010a"),
		 24);
	CHECK_MEM(out, want, 24);

	memcpy(map.nonce, nonce, sizeof(nonce));
	CHECK_EQ(mg_pcp_map_request(out, ip("192.168.1.10"), 7200, &map), 60);
	CHECK_EQ(mg_test_unhex(want, sizeof(want),
			       "02010000"
			       "00001c20"
			       "00000000000000000000ffff"
			       "c0a8010a"
			       "0102030405060708090a0b0c"
			       "11000000"
			       "ca6c"
			       "ca6d"
			       "00000000000000000000ffff"
			       "00000000"),
		 60);
	CHECK_MEM(out, want, 60);

	/* Delete: lifetime 0, same nonce. A suggested address is mapped. */
	map.external_addr = ip("198.51.100.7");
	mg_pcp_map_request(out, ip("192.168.1.10"), 0, &map);
	CHECK_EQ(out[4] | out[5] | out[6] | out[7], 0);
	CHECK_MEM(out + 24, nonce, sizeof(nonce));
	CHECK_EQ(mg_test_unhex(want, 16, "00000000000000000000ffffc6336407"), 16);
	CHECK_MEM(out + 44, want, 16);

	/* Our own parser reads them back. */
	uint8_t opcode;
	uint32_t lifetime;
	struct in_addr client;
	struct mg_pcp_map back;
	CHECK_EQ(mg_pcp_parse_request(&opcode, &lifetime, &client, &back, out, 60), 0);
	CHECK_EQ(opcode, MG_PCP_OP_MAP);
	CHECK_EQ(lifetime, 0);
	CHECK_EQ(client.s_addr, ip("192.168.1.10").s_addr);
	CHECK_EQ(back.internal_port, 51820);
	CHECK_EQ(back.external_addr.s_addr, map.external_addr.s_addr);
}

/* A MAP success response: 198.51.100.1:40000 for 3600 s, epoch 1234. */
static const char map_ok[] = "02810000"
			     "00000e10"
			     "000004d2"
			     "000000000000000000000000"
			     "0102030405060708090a0b0c"
			     "11000000"
			     "ca6c"
			     "9c40"
			     "00000000000000000000ffff"
			     "c6336401";

static size_t load(uint8_t *buf, const char *hex)
{
	return mg_test_unhex(buf, 2048, hex);
}

static void responses(void)
{
	uint8_t buf[2048];
	struct mg_pcp_response r;
	struct mg_pcp_map req = { .protocol = MG_PCP_PROTO_UDP, .internal_port = 51820 };
	memcpy(req.nonce, nonce, sizeof(nonce));

	size_t n = load(buf, map_ok);
	CHECK_EQ(n, 60);
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), 0);
	CHECK_EQ(r.opcode, MG_PCP_OP_MAP);
	CHECK_EQ(r.result, MG_PCP_SUCCESS);
	CHECK_EQ(r.lifetime, 3600);
	CHECK_EQ(r.epoch, 1234);
	CHECK_EQ(r.map.external_port, 40000);
	CHECK_EQ(r.map.external_addr.s_addr, ip("198.51.100.1").s_addr);
	CHECK(mg_pcp_map_matches(&r, &req));

	/* Another nonce, protocol or internal port is not our answer. */
	struct mg_pcp_map other = req;
	other.nonce[0] ^= 1;
	CHECK(!mg_pcp_map_matches(&r, &other));
	other = req;
	other.internal_port = 51821;
	CHECK(!mg_pcp_map_matches(&r, &other));
	other = req;
	other.protocol = 6;
	CHECK(!mg_pcp_map_matches(&r, &other));

	/* Success with external port 0 does not match. */
	buf[42] = buf[43] = 0;
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), 0);
	CHECK(!mg_pcp_map_matches(&r, &req));

	/* An IPv6 external address is refused (we map IPv4 only). */
	n = load(buf, map_ok);
	buf[44] = 0x20;
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), -EBADMSG);

	/* Sizes: short, not a multiple of 4, over 1100, truncated payload. */
	n = load(buf, map_ok);
	CHECK_EQ(mg_pcp_parse_response(&r, buf, 20), -EBADMSG);
	CHECK_EQ(mg_pcp_parse_response(&r, buf, 58), -EBADMSG);
	CHECK_EQ(mg_pcp_parse_response(&r, buf, 56), -EBADMSG);
	memset(buf + 60, 0, 1100);
	CHECK_EQ(mg_pcp_parse_response(&r, buf, 1104), -EBADMSG);

	/* Options: a well-formed one is skipped, a truncated one refused. */
	n = load(buf, map_ok);
	CHECK_EQ(mg_test_unhex(buf + 60, 8, "0c000004c0a80101"), 8); /* FILTER-ish, 4 bytes */
	CHECK_EQ(mg_pcp_parse_response(&r, buf, 68), 0);
	CHECK_EQ(mg_test_unhex(buf + 60, 8, "0c000008c0a80101"), 8);
	CHECK_EQ(mg_pcp_parse_response(&r, buf, 68), -EBADMSG);
	CHECK_EQ(mg_test_unhex(buf + 60, 4, "0c00ffff"), 4);
	CHECK_EQ(mg_pcp_parse_response(&r, buf, 64), -EBADMSG);

	/* R bit clear (a request), unknown opcode. */
	n = load(buf, map_ok);
	buf[1] = 0x01;
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), -EBADMSG);
	buf[1] = 0x85;
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), -EBADMSG);

	/* A NAT-PMP server's answer to a version 2 request. */
	n = load(buf, "00800001"
		      "00000123");
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), -EPROTONOSUPPORT);
	CHECK_EQ(r.result, MG_PCP_UNSUPP_VERSION);

	/* ANNOUNCE answer: header only. */
	n = load(buf, "02800000"
		      "00000000"
		      "00000007"
		      "000000000000000000000000");
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), 0);
	CHECK_EQ(r.opcode, MG_PCP_OP_ANNOUNCE);
	CHECK_EQ(r.epoch, 7);

	/* An error may come without the payload; a success may not. */
	n = load(buf, "02810002"
		      "0000001e"
		      "00000007"
		      "000000000000000000000000");
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), 0);
	CHECK_EQ(r.result, MG_PCP_NOT_AUTHORIZED);
	CHECK(!mg_pcp_map_matches(&r, &req)); /* cannot be matched to a nonce */
	buf[3] = 0;
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), -EBADMSG);

	/* An error with the payload names the request. */
	n = load(buf, map_ok);
	buf[3] = MG_PCP_NOT_AUTHORIZED;
	CHECK_EQ(mg_pcp_parse_response(&r, buf, n), 0);
	CHECK(mg_pcp_map_matches(&r, &req));
	CHECK_EQ(mg_pcp_result_errno(r.result), -EACCES);
	CHECK(!strcmp(mg_pcp_result_name(r.result), "NOT_AUTHORIZED"));
	CHECK(!strcmp(mg_pcp_result_name(200), "unknown"));
}

static void build_round_trip(void)
{
	uint8_t buf[MG_PCP_MAP_LEN];
	struct mg_pcp_response r = { .opcode = MG_PCP_OP_MAP,
				     .result = 0,
				     .lifetime = 120,
				     .epoch = 99 },
			       back;
	memcpy(r.map.nonce, nonce, sizeof(nonce));
	r.map.protocol = MG_PCP_PROTO_UDP;
	r.map.internal_port = 1;
	r.map.external_port = 65535;
	r.map.external_addr = ip("203.0.113.9");
	size_t n = mg_pcp_build_response(buf, &r);
	CHECK_EQ(n, 60);
	CHECK_EQ(mg_pcp_parse_response(&back, buf, n), 0);
	CHECK_EQ(back.opcode, r.opcode);
	CHECK_EQ(back.lifetime, 120);
	CHECK_EQ(back.epoch, 99);
	CHECK_MEM(back.map.nonce, nonce, sizeof(nonce));
	CHECK_EQ(back.map.internal_port, 1);
	CHECK_EQ(back.map.external_port, 65535);
	CHECK_EQ(back.map.external_addr.s_addr, r.map.external_addr.s_addr);
}

int main(void)
{
	requests();
	responses();
	build_round_trip();
	mg_test_pass("pcp_codec");
	return 0;
}
