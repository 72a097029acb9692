/* NAT-PMP reply checks (RFC 6886 3.2, 3.3, 3.5). */
#include "nat/natpmp_wire.h"
#include "util/bytes.h"

#include <errno.h>
#include <string.h>

int mg_natpmp_parse_reply(struct mg_natpmp_reply *reply, const uint8_t *buf, size_t len)
{
	memset(reply, 0, sizeof(*reply));
	if (len < MG_NATPMP_ERROR_LEN || len > MG_NATPMP_MAX_LEN)
		return -EBADMSG;
	if (buf[0] != MG_NATPMP_VERSION || buf[1] < MG_NATPMP_REPLY_BIT)
		return -EBADMSG;
	reply->opcode = buf[1] - MG_NATPMP_REPLY_BIT;
	if (reply->opcode > MG_NATPMP_OP_MAP_TCP)
		return -EBADMSG;
	reply->result = get16(buf + 2);
	reply->epoch = get32(buf + 4);
	if (reply->result != MG_NATPMP_SUCCESS)
		return 0;
	if (reply->opcode == MG_NATPMP_OP_ADDRESS) {
		if (len < MG_NATPMP_ADDRESS_LEN)
			return -EBADMSG;
		memcpy(&reply->external_addr.s_addr, buf + 8, 4);
		return 0;
	}
	if (len < MG_NATPMP_MAP_REPLY_LEN)
		return -EBADMSG;
	reply->internal_port = get16(buf + 8);
	reply->external_port = get16(buf + 10);
	reply->lifetime = get32(buf + 12);
	return 0;
}

size_t mg_natpmp_build_reply(uint8_t out[MG_NATPMP_MAP_REPLY_LEN],
			     const struct mg_natpmp_reply *reply)
{
	memset(out, 0, MG_NATPMP_MAP_REPLY_LEN);
	out[0] = MG_NATPMP_VERSION;
	out[1] = (uint8_t)(MG_NATPMP_REPLY_BIT + reply->opcode);
	put16(out + 2, reply->result);
	put32(out + 4, reply->epoch);
	if (reply->opcode == MG_NATPMP_OP_ADDRESS) {
		memcpy(out + 8, &reply->external_addr.s_addr, 4);
		return MG_NATPMP_ADDRESS_LEN;
	}
	put16(out + 8, reply->internal_port);
	put16(out + 10, reply->external_port);
	put32(out + 12, reply->lifetime);
	return MG_NATPMP_MAP_REPLY_LEN;
}

int mg_natpmp_result_errno(uint16_t result)
{
	switch (result) {
	case MG_NATPMP_SUCCESS:
		return 0;
	case MG_NATPMP_UNSUPP_VERSION:
		return -EPROTONOSUPPORT;
	case MG_NATPMP_NOT_AUTHORIZED:
		return -EACCES;
	case MG_NATPMP_NETWORK_FAILURE:
		return -ENETDOWN;
	case MG_NATPMP_NO_RESOURCES:
		return -ENOSPC;
	case MG_NATPMP_UNSUPP_OPCODE:
		return -EOPNOTSUPP;
	default:
		return -EPROTO;
	}
}
