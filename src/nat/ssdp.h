/* The bit of SSDP (UPnP Device Architecture 1.1, 1.3) a port mapper needs:
 * an M-SEARCH for an Internet Gateway Device, sent unicast to the gateway,
 * and the LOCATION of its root description in the answer. Answers are
 * untrusted: the location must be a plain http URL whose host is the
 * gateway's literal IPv4 address, so a reply can never point us elsewhere. */
#ifndef MG_NAT_SSDP_H
#define MG_NAT_SSDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define MG_SSDP_PORT	  1900
#define MG_SSDP_MAX_REPLY 2048
/* Longest URL we keep: miniupnpc's own limit on description URLs. */
#define MG_SSDP_URL_MAX 256
#define MG_SSDP_IGD_ST	"urn:schemas-upnp-org:device:InternetGatewayDevice:1"

/* Writes the M-SEARCH request (NUL-terminated) into out; returns its
 * length without the NUL, or 0 if cap is too small. */
size_t mg_ssdp_msearch(char *out, size_t cap);

/* Finds the LOCATION header of a "HTTP/1.1 200" SSDP answer of len bytes
 * and copies it, NUL-terminated, into location (MG_SSDP_URL_MAX bytes).
 * Returns 0, -EBADMSG (not an SSDP answer, no or overlong LOCATION), or
 * -EPERM when the location's host is not gateway. */
int mg_ssdp_parse_reply(char location[MG_SSDP_URL_MAX], const uint8_t *buf, size_t len,
			struct in_addr gateway);

/* Checks that url is http://A.B.C.D[:PORT][/...] and returns its host in
 * host. -EINVAL when it is not of that form. */
int mg_ssdp_url_host(struct in_addr *host, const char *url);

#endif
