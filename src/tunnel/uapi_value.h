/* The values of set lines, read the way wireguard-go 0.0.20220316 (built
 * with Go 1.19) reads them, since that is what wg(8) and other tools were
 * tested against: numbers are strconv.ParseUint (digits only, leading zeros
 * fine), prefix lengths strconv.Atoi (a sign is allowed), addresses
 * netip.ParseAddr, keys hex.DecodeString of exactly 32 bytes, booleans only
 * "true". Addresses are printed as netip prints them, which differs from
 * inet_ntop for "::1.2.3.4" (netip: "::102:304") and drops IPv6 zones.
 *
 * Every parser reads s[0, n), which need not end in a NUL, and returns 0 or
 * -EINVAL. */
#ifndef MG_TUNNEL_UAPI_VALUE_H
#define MG_TUNNEL_UAPI_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunnel/messages.h"
#include "util/ipaddr.h"

/* strconv.ParseUint(s, 10, bits): digits only, no sign, no '_'. max is at
 * most UINT32_MAX. */
int mg_uapi_value_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out);
bool mg_uapi_value_is_true(const char *s, size_t n);
/* Exactly 64 hex digits of either case. out is untouched on failure. */
int mg_uapi_value_parse_key(uint8_t out[MG_KEY_SIZE], const char *s, size_t n);
/* netip.ParsePrefix: "addr/len", the '/' required, no zone; bits past the
 * length are cleared. */
int mg_uapi_value_parse_prefix(struct mg_prefix *p, const char *s, size_t n);
/* netip.ParseAddrPort: split at the last ':'; brackets exactly when IPv6.
 * An IPv6 zone becomes the scope id. */
int mg_uapi_value_parse_endpoint(struct mg_endpoint *ep, const char *s, size_t n);
/* a holds 4 (AF_INET) or 16 (AF_INET6) bytes in network order. */
void mg_uapi_value_format_ip(char out[INET6_ADDRSTRLEN], int family, const uint8_t *a);

#endif
