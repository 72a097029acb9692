#include "nat/stun.h"
#include "util/bytes.h"

#include <errno.h>
#include <string.h>

#define ATTR_HEADER_SIZE 4
#define FAMILY_IPV4	 0x01
#define FAMILY_IPV6	 0x02

_Static_assert(MG_STUN_REQUEST_SIZE == 28, "header and FINGERPRINT");
_Static_assert(MG_STUN_RESPONSE_MAX == 52, "header, IPv6 XOR-MAPPED-ADDRESS, FINGERPRINT");
_Static_assert(MG_STUN_ERROR_MAX == 68, "header, ERROR-CODE, UNKNOWN-ATTRIBUTES, FINGERPRINT");

/* Reflected polynomial 0xEDB88320, four bits at a time. */
uint32_t mg_stun_crc32(const uint8_t *buf, size_t len)
{
	static const uint32_t table[16] = {
		0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
		0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
		0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
	};
	uint32_t crc = 0xFFFFFFFF;

	for (size_t i = 0; i < len; i++) {
		crc ^= buf[i];
		crc = (crc >> 4) ^ table[crc & 15];
		crc = (crc >> 4) ^ table[crc & 15];
	}
	return ~crc;
}

bool mg_stun_is_stun(const uint8_t *buf, size_t len)
{
	if (len < MG_STUN_HEADER_SIZE || len > MG_STUN_MAX_SIZE)
		return false;
	if (buf[0] & 0xC0)
		return false;
	if (get32(buf + 4) != MG_STUN_MAGIC_COOKIE)
		return false;
	return get16(buf + 2) == len - MG_STUN_HEADER_SIZE && (len & 3) == 0;
}

/* MAPPED-ADDRESS and XOR-MAPPED-ADDRESS (sections 14.1 and 14.2): a zero
 * byte, the family, the port and the address, the last two XORed with the
 * cookie (and for IPv6 the transaction id) when xored. */
static int parse_address(struct mg_endpoint *out, const uint8_t *v, size_t len, bool xored,
			 const uint8_t *header)
{
	uint16_t port;

	if (len < 4)
		return -EINVAL;
	port = get16(v + 2) ^ (xored ? (uint16_t)(MG_STUN_MAGIC_COOKIE >> 16) : 0);
	memset(out, 0, sizeof(*out));
	if (v[1] == FAMILY_IPV4 && len == 8) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(port);
		memcpy(&out->in4.sin_addr, v + 4, 4);
		if (xored)
			for (int i = 0; i < 4; i++)
				((uint8_t *)&out->in4.sin_addr)[i] ^= header[4 + i];
		return 0;
	}
	if (v[1] == FAMILY_IPV6 && len == 20) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		memcpy(&out->in6.sin6_addr, v + 4, 16);
		if (xored)
			for (int i = 0; i < 16; i++)
				out->in6.sin6_addr.s6_addr[i] ^= header[4 + i];
		return 0;
	}
	return -EINVAL;
}

/* ERROR-CODE (section 14.8): two zero bytes, the class (3-6) and the number
 * (0-99), then a reason we do not keep. */
static int parse_error_code(uint16_t *code, const uint8_t *v, size_t len)
{
	unsigned cls, number;

	if (len < 4)
		return -EINVAL;
	cls = v[2] & 7;
	number = v[3];
	if (cls < 3 || cls > 6 || number > 99)
		return -EINVAL;
	*code = (uint16_t)(cls * 100 + number);
	return 0;
}

static int check_fingerprint(const uint8_t *buf, size_t at, size_t value_len, size_t end)
{
	if (value_len != 4 || at + ATTR_HEADER_SIZE + 4 != end)
		return -EBADMSG; /* FINGERPRINT is four bytes and comes last */
	if (get32(buf + at + ATTR_HEADER_SIZE) !=
	    (mg_stun_crc32(buf, at) ^ MG_STUN_FINGERPRINT_XOR))
		return -EBADMSG;
	return 0;
}

static void note_unknown(struct mg_stun_message *m, uint16_t type)
{
	if (type >= 0x8000)
		return; /* comprehension-optional: nothing to report */
	if (m->unknown_count < MG_STUN_UNKNOWN_MAX)
		m->unknown[m->unknown_count] = type;
	m->unknown_count++;
}

/* One attribute whose value v of len bytes lies inside the message. */
static int parse_attribute(struct mg_stun_message *m, uint16_t type, const uint8_t *v, size_t len,
			   const uint8_t *header)
{
	struct mg_endpoint ep;
	int ret = 0;

	switch (type) {
	case MG_STUN_ATTR_XOR_MAPPED_ADDRESS:
	case MG_STUN_ATTR_XOR_MAPPED_ADDRESS_OLD:
		ret = parse_address(&ep, v, len, true, header);
		/* The first XOR-MAPPED-ADDRESS counts; it also beats MAPPED. */
		if (ret == 0 && !(m->present & MG_STUN_HAS_XOR_MAPPED)) {
			m->mapped = ep;
			m->present |= MG_STUN_HAS_XOR_MAPPED;
		}
		break;
	case MG_STUN_ATTR_MAPPED_ADDRESS:
		ret = parse_address(&ep, v, len, false, header);
		if (ret == 0 && !(m->present & (MG_STUN_HAS_XOR_MAPPED | MG_STUN_HAS_MAPPED)))
			m->mapped = ep;
		if (ret == 0)
			m->present |= MG_STUN_HAS_MAPPED;
		break;
	case MG_STUN_ATTR_ERROR_CODE:
		ret = parse_error_code(&m->error_code, v, len);
		if (ret == 0)
			m->present |= MG_STUN_HAS_ERROR_CODE;
		break;
	case MG_STUN_ATTR_MESSAGE_INTEGRITY:
		m->present |= MG_STUN_HAS_INTEGRITY; /* seen, not checked */
		break;
	case MG_STUN_ATTR_USERNAME:
	case MG_STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case MG_STUN_ATTR_SOFTWARE:
		break;
	default:
		note_unknown(m, type);
	}
	return ret;
}

int mg_stun_parse(struct mg_stun_message *out, const uint8_t *buf, size_t len)
{
	size_t at = MG_STUN_HEADER_SIZE;

	if (!mg_stun_is_stun(buf, len))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->type = get16(buf);
	memcpy(out->txid, buf + 8, MG_STUN_TXID_SIZE);
	while (at < len) {
		uint16_t type, value_len;
		size_t padded;
		int ret;

		if (len - at < ATTR_HEADER_SIZE)
			return -EINVAL;
		type = get16(buf + at);
		value_len = get16(buf + at + 2);
		padded = ((size_t)value_len + 3) & ~(size_t)3;
		if (padded > len - at - ATTR_HEADER_SIZE)
			return -EINVAL;
		if (type == MG_STUN_ATTR_FINGERPRINT) {
			ret = check_fingerprint(buf, at, value_len, len);
			if (ret == 0)
				out->present |= MG_STUN_HAS_FINGERPRINT;
			return ret;
		}
		ret = parse_attribute(out, type, buf + at + ATTR_HEADER_SIZE, value_len, buf);
		if (ret < 0)
			return ret;
		at += ATTR_HEADER_SIZE + padded;
	}
	return 0;
}

/* The header; body_len counts every attribute after it, FINGERPRINT too. */
static size_t put_header(uint8_t *out, uint16_t type, size_t body_len,
			 const uint8_t txid[MG_STUN_TXID_SIZE])
{
	put16(out, type);
	put16(out + 2, (uint16_t)body_len);
	put32(out + 4, MG_STUN_MAGIC_COOKIE);
	memcpy(out + 8, txid, MG_STUN_TXID_SIZE);
	return MG_STUN_HEADER_SIZE;
}

static size_t put_attr(uint8_t *out, uint16_t type, const uint8_t *value, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;

	put16(out, type);
	put16(out + 2, (uint16_t)len);
	memcpy(out + ATTR_HEADER_SIZE, value, len);
	memset(out + ATTR_HEADER_SIZE + len, 0, padded - len);
	return ATTR_HEADER_SIZE + padded;
}

/* Appends FINGERPRINT over the at bytes before it; returns the total. */
static size_t put_fingerprint(uint8_t *out, size_t at)
{
	uint8_t v[4];

	put32(v, mg_stun_crc32(out, at) ^ MG_STUN_FINGERPRINT_XOR);
	return at + put_attr(out + at, MG_STUN_ATTR_FINGERPRINT, v, sizeof(v));
}

size_t mg_stun_build_request(uint8_t out[MG_STUN_REQUEST_SIZE],
			     const uint8_t txid[MG_STUN_TXID_SIZE])
{
	size_t at = put_header(out, MG_STUN_BINDING_REQUEST, MG_STUN_FINGERPRINT_SIZE, txid);
	return put_fingerprint(out, at);
}

/* The XOR-MAPPED-ADDRESS value for mapped; its length, or 0. The port is
 * XORed with the cookie's top half, the address with the cookie and txid. */
static size_t xor_address(uint8_t v[20], const uint8_t txid[MG_STUN_TXID_SIZE],
			  const struct mg_endpoint *mapped)
{
	uint8_t mask[4 + MG_STUN_TXID_SIZE];
	size_t n;

	put32(mask, MG_STUN_MAGIC_COOKIE);
	memcpy(mask + 4, txid, MG_STUN_TXID_SIZE);
	v[0] = 0;
	if (mapped->sa.sa_family == AF_INET) {
		v[1] = FAMILY_IPV4;
		put16(v + 2, ntohs(mapped->in4.sin_port));
		memcpy(v + 4, &mapped->in4.sin_addr, 4);
		n = 4;
	} else if (mapped->sa.sa_family == AF_INET6) {
		v[1] = FAMILY_IPV6;
		put16(v + 2, ntohs(mapped->in6.sin6_port));
		memcpy(v + 4, &mapped->in6.sin6_addr, 16);
		n = 16;
	} else {
		return 0;
	}
	v[2] ^= mask[0];
	v[3] ^= mask[1];
	for (size_t i = 0; i < n; i++)
		v[4 + i] ^= mask[i];
	return 4 + n;
}

size_t mg_stun_build_response(uint8_t out[MG_STUN_RESPONSE_MAX],
			      const uint8_t txid[MG_STUN_TXID_SIZE],
			      const struct mg_endpoint *mapped, bool fingerprint)
{
	uint8_t v[20];
	size_t n = xor_address(v, txid, mapped), at;

	if (!n)
		return 0;
	at = put_header(out, MG_STUN_BINDING_SUCCESS,
			ATTR_HEADER_SIZE + n + (fingerprint ? MG_STUN_FINGERPRINT_SIZE : 0), txid);
	at += put_attr(out + at, MG_STUN_ATTR_XOR_MAPPED_ADDRESS, v, n);
	return fingerprint ? put_fingerprint(out, at) : at;
}

static const char *reason(uint16_t code)
{
	switch (code) {
	case MG_STUN_ERROR_BAD_REQUEST:
		return "Bad Request";
	case MG_STUN_ERROR_UNKNOWN_ATTRIBUTE:
		return "Unknown Attribute";
	}
	return "";
}

size_t mg_stun_build_error(uint8_t out[MG_STUN_ERROR_MAX], const uint8_t txid[MG_STUN_TXID_SIZE],
			   uint16_t code, const uint16_t *unknown, size_t n)
{
	const char *why = reason(code);
	uint8_t v[4 + 20], list[2 * MG_STUN_UNKNOWN_MAX];
	size_t why_len = strlen(why), body, at;

	_Static_assert(sizeof("Unknown Attribute") - 1 <= 20, "reason fits its room");
	if (n > MG_STUN_UNKNOWN_MAX)
		n = MG_STUN_UNKNOWN_MAX;
	if (code != MG_STUN_ERROR_UNKNOWN_ATTRIBUTE)
		n = 0;
	v[0] = v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, why, why_len);
	for (size_t i = 0; i < n; i++)
		put16(list + 2 * i, unknown[i]);
	body = ATTR_HEADER_SIZE + ((4 + why_len + 3) & ~(size_t)3);
	if (n)
		body += ATTR_HEADER_SIZE + ((2 * n + 3) & ~(size_t)3);
	at = put_header(out, MG_STUN_BINDING_ERROR, body + MG_STUN_FINGERPRINT_SIZE, txid);
	at += put_attr(out + at, MG_STUN_ATTR_ERROR_CODE, v, 4 + why_len);
	if (n)
		at += put_attr(out + at, MG_STUN_ATTR_UNKNOWN_ATTRIBUTES, list, 2 * n);
	return put_fingerprint(out, at);
}
