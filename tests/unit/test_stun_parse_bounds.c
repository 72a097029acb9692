/* The STUN parser on hand-made messages, table-driven: framing errors,
 * attribute lengths that overrun, address families and sizes that do not
 * match, FINGERPRINT misplaced or wrong, unknown attributes (optional ones
 * skipped, required ones listed and counted), MAPPED-ADDRESS as a fallback
 * for XOR-MAPPED-ADDRESS, ERROR-CODE ranges, and the error builder. */
#include <errno.h>

#include "check.h"
#include "nat/stun.h"

enum fp {
	NO_FP,
	GOOD_FP,
	BAD_FP,
};

struct row {
	const char *name;
	uint16_t type;
	const char *attrs; /* hex of the attributes after the header */
	enum fp fp;
	int want;	  /* mg_stun_parse's return */
	unsigned present; /* with want 0 */
	const char *mapped;
	unsigned unknown_count;
	uint16_t error_code;
};

/* The transaction id is 0x01..0x0c; XORed IPv4 address 192.0.2.1 is
 * e1 12 a6 43 and port 32853 is a1 47 (see RFC 5769). */
static const struct row rows[] = {
	{ "header only", 0x0101, "", NO_FP, 0, 0, NULL, 0, 0 },
	{ "xor v4", 0x0101,
	  "00200008"
	  "0001a147e112a643",
	  GOOD_FP, 0, MG_STUN_HAS_XOR_MAPPED | MG_STUN_HAS_FINGERPRINT, "192.0.2.1:32853", 0, 0 },
	{ "xor v4, old number", 0x0101,
	  "80200008"
	  "0001a147e112a643",
	  NO_FP, 0, MG_STUN_HAS_XOR_MAPPED, "192.0.2.1:32853", 0, 0 },
	{ "mapped only", 0x0101,
	  "00010008"
	  "00018055c0000201",
	  NO_FP, 0, MG_STUN_HAS_MAPPED, "192.0.2.1:32853", 0, 0 },
	{ "mapped then xor", 0x0101,
	  "00010008"
	  "00010001c6336401"
	  "00200008"
	  "0001a147e112a643",
	  NO_FP, 0, MG_STUN_HAS_MAPPED | MG_STUN_HAS_XOR_MAPPED, "192.0.2.1:32853", 0, 0 },
	{ "xor then mapped", 0x0101,
	  "00200008"
	  "0001a147e112a643"
	  "00010008"
	  "00010001c6336401",
	  NO_FP, 0, MG_STUN_HAS_MAPPED | MG_STUN_HAS_XOR_MAPPED, "192.0.2.1:32853", 0, 0 },
	{ "two xor, first wins", 0x0101,
	  "00200008"
	  "0001a147e112a643"
	  "00200008"
	  "00010001e7216640",
	  NO_FP, 0, MG_STUN_HAS_XOR_MAPPED, "192.0.2.1:32853", 0, 0 },
	{ "xor family 3", 0x0101,
	  "00200008"
	  "0003a147e112a643",
	  NO_FP, -EINVAL },
	{ "xor v4 with 20 bytes", 0x0101,
	  "00200014"
	  "0001a147e112a643"
	  "000000000000000000000000",
	  NO_FP, -EINVAL },
	{ "xor v6 with 8 bytes", 0x0101,
	  "00200008"
	  "0002a147e112a643",
	  NO_FP, -EINVAL },
	{ "xor with 2 bytes", 0x0101,
	  "00200002"
	  "00010000",
	  NO_FP, -EINVAL },
	{ "mapped with 0 bytes", 0x0101, "00010000", NO_FP, -EINVAL },
	{ "value overruns", 0x0101,
	  "00200009"
	  "0001a147e112a643",
	  NO_FP, -EINVAL },
	{ "length 0xffff", 0x0101,
	  "8022ffff"
	  "00000000",
	  NO_FP, -EINVAL },
	{ "padding overruns", 0x0101,
	  "80220005"
	  "41424344",
	  NO_FP, -EINVAL },
	{ "odd length, padded", 0x0101,
	  "80220005"
	  "4142434445000000"
	  "00200008"
	  "0001a147e112a643",
	  GOOD_FP, 0, MG_STUN_HAS_XOR_MAPPED | MG_STUN_HAS_FINGERPRINT, "192.0.2.1:32853", 0, 0 },
	{ "empty attribute", 0x0101, "80550000", NO_FP, 0, 0, NULL, 0, 0 },
	{ "unknown optional skipped", 0x0101,
	  "80550004"
	  "deadbeef",
	  GOOD_FP, 0, MG_STUN_HAS_FINGERPRINT, NULL, 0, 0 },
	{ "unknown required listed", 0x0001,
	  "77770004"
	  "deadbeef",
	  GOOD_FP, 0, MG_STUN_HAS_FINGERPRINT, NULL, 1, 0 },
	{ "five unknown required", 0x0001,
	  "70010000"
	  "70020000"
	  "70030000"
	  "70040000"
	  "70050000",
	  NO_FP, 0, 0, NULL, 5, 0 },
	{ "bad fingerprint", 0x0101,
	  "00200008"
	  "0001a147e112a643",
	  BAD_FP, -EBADMSG },
	{ "fingerprint not last", 0x0101,
	  "80280004"
	  "00000000"
	  "80550000",
	  NO_FP, -EBADMSG },
	{ "fingerprint of 8 bytes", 0x0101,
	  "80280008"
	  "0000000000000000",
	  NO_FP, -EBADMSG },
	{ "error 420", 0x0111,
	  "00090008"
	  "00000414"
	  "55000000",
	  GOOD_FP, 0, MG_STUN_HAS_ERROR_CODE | MG_STUN_HAS_FINGERPRINT, NULL, 0, 420 },
	{ "error 699", 0x0111,
	  "00090004"
	  "00000663",
	  NO_FP, 0, MG_STUN_HAS_ERROR_CODE, NULL, 0, 699 },
	{ "error class 7", 0x0111,
	  "00090004"
	  "00000700",
	  NO_FP, -EINVAL },
	{ "error class 2", 0x0111,
	  "00090004"
	  "00000263",
	  NO_FP, -EINVAL },
	{ "error number 100", 0x0111,
	  "00090004"
	  "00000464",
	  NO_FP, -EINVAL },
	{ "error of 2 bytes", 0x0111,
	  "00090002"
	  "00000000",
	  NO_FP, -EINVAL },
};

static size_t assemble(uint8_t *buf, const struct row *r)
{
	size_t n = 20 + mg_test_unhex(buf + 20, 1024, r->attrs);
	size_t total = n + (r->fp != NO_FP ? 8 : 0);

	buf[0] = (uint8_t)(r->type >> 8);
	buf[1] = (uint8_t)r->type;
	buf[2] = (uint8_t)((total - 20) >> 8);
	buf[3] = (uint8_t)(total - 20);
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	for (int i = 0; i < 12; i++)
		buf[8 + i] = (uint8_t)(i + 1);
	if (r->fp != NO_FP) {
		uint32_t crc = mg_stun_crc32(buf, n) ^ MG_STUN_FINGERPRINT_XOR;
		if (r->fp == BAD_FP)
			crc ^= 1;
		buf[n] = 0x80, buf[n + 1] = 0x28, buf[n + 2] = 0, buf[n + 3] = 4;
		buf[n + 4] = (uint8_t)(crc >> 24), buf[n + 5] = (uint8_t)(crc >> 16);
		buf[n + 6] = (uint8_t)(crc >> 8), buf[n + 7] = (uint8_t)crc;
	}
	return total;
}

static void run_row(const struct row *r)
{
	uint8_t buf[1100];
	struct mg_stun_message m;
	size_t len = assemble(buf, r);
	int ret;

	CHECK(mg_stun_is_stun(buf, len));
	ret = mg_stun_parse(&m, buf, len);
	if (ret != r->want) {
		fprintf(stderr, "%s: parse returned %d, expected %d\n", r->name, ret, r->want);
		exit(1);
	}
	if (ret < 0)
		return;
	if (m.present != r->present || m.unknown_count != r->unknown_count ||
	    (r->error_code && m.error_code != r->error_code)) {
		fprintf(stderr, "%s: present %#x unknown %u code %u\n", r->name, m.present,
			m.unknown_count, m.error_code);
		exit(1);
	}
	if (r->mapped) {
		char s[MG_ENDPOINT_STRLEN];
		mg_endpoint_format(s, sizeof(s), &m.mapped);
		if (strcmp(s, r->mapped)) {
			fprintf(stderr, "%s: mapped %s, expected %s\n", r->name, s, r->mapped);
			exit(1);
		}
	}
	if (r->unknown_count)
		CHECK_EQ(m.unknown[0] & 0xF000, 0x7000);
}

/* Every proper prefix of a good message, and every length field but the
 * right one, is refused by the framing check. */
static void framing(void)
{
	uint8_t buf[1100];
	struct mg_stun_message m;
	size_t len = assemble(buf, &rows[1]);

	for (size_t n = 0; n < len; n++)
		CHECK_EQ(mg_stun_parse(&m, buf, n), -EINVAL);
	for (unsigned f = 0; f < 0x10000; f++) {
		buf[2] = (uint8_t)(f >> 8), buf[3] = (uint8_t)f;
		CHECK_EQ(mg_stun_is_stun(buf, len), f == len - 20);
	}
	buf[2] = 0, buf[3] = (uint8_t)(len - 20);
	buf[0] |= 0x40;
	CHECK(!mg_stun_is_stun(buf, len));
	buf[0] &= 0x3f;
	buf[7] ^= 1;
	CHECK(!mg_stun_is_stun(buf, len));
	memset(buf, 0, sizeof(buf));
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	buf[2] = (uint8_t)((MG_STUN_MAX_SIZE + 4 - 20) >> 8);
	buf[3] = (uint8_t)(MG_STUN_MAX_SIZE + 4 - 20);
	CHECK(!mg_stun_is_stun(buf, MG_STUN_MAX_SIZE + 4));
}

static void error_builder(void)
{
	static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	static const uint16_t unknown[5] = { 0x0024, 0x7001, 0x7002, 0x7003, 0x7004 };
	uint8_t out[MG_STUN_ERROR_MAX];
	struct mg_stun_message m;
	size_t n;

	n = mg_stun_build_error(out, txid, MG_STUN_ERROR_UNKNOWN_ATTRIBUTE, unknown, 5);
	CHECK_EQ(n, MG_STUN_ERROR_MAX);
	CHECK_EQ(mg_stun_parse(&m, out, n), 0);
	CHECK_EQ(m.type, MG_STUN_BINDING_ERROR);
	CHECK_EQ(m.error_code, 420);
	CHECK_EQ(m.present, MG_STUN_HAS_ERROR_CODE | MG_STUN_HAS_FINGERPRINT);
	CHECK_EQ(m.unknown_count, 0);
	/* UNKNOWN-ATTRIBUTES holds the first four, in order. */
	static const uint8_t list[12] = { 0x00, 0x0a, 0x00, 0x08, 0x00, 0x24,
					  0x70, 0x01, 0x70, 0x02, 0x70, 0x03 };
	CHECK_MEM(out + 20 + 4 + 4 + 20, list, sizeof(list));

	n = mg_stun_build_error(out, txid, MG_STUN_ERROR_UNKNOWN_ATTRIBUTE, unknown, 1);
	CHECK_EQ(n, 20 + 28 + 8 + 8);
	CHECK_EQ(mg_stun_parse(&m, out, n), 0);
	n = mg_stun_build_error(out, txid, MG_STUN_ERROR_BAD_REQUEST, unknown, 3);
	CHECK_EQ(mg_stun_parse(&m, out, n), 0);
	CHECK_EQ(m.error_code, 400);
	CHECK_EQ(n, 20 + 4 + 4 + 12 + 8);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
	framing();
	error_builder();
	mg_test_pass("stun_parse_bounds");
	return 0;
}
