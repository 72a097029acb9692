/* SSDP M-SEARCH and answer parsing; answers are bounded to
 * MG_SSDP_MAX_REPLY bytes and parsed line by line without copying more than
 * one URL. */
#include "nat/ssdp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

size_t mg_ssdp_msearch(char *out, size_t cap)
{
	/* MX 1: miniupnpd delays its answer by up to MX seconds. */
	int n = snprintf(out, cap,
			 "M-SEARCH * HTTP/1.1\r\n"
			 "HOST: 239.255.255.250:1900\r\n"
			 "MAN: \"ssdp:discover\"\r\n"
			 "MX: 1\r\n"
			 "ST: %s\r\n"
			 "\r\n",
			 MG_SSDP_IGD_ST);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

int mg_ssdp_url_host(struct in_addr *host, const char *url)
{
	static const char scheme[] = "http://";
	char addr[INET_ADDRSTRLEN];
	size_t n = 0;

	if (strncasecmp(url, scheme, sizeof(scheme) - 1))
		return -EINVAL;
	url += sizeof(scheme) - 1;
	while (url[n] && (isdigit((unsigned char)url[n]) || url[n] == '.')) {
		if (n + 1 >= sizeof(addr))
			return -EINVAL;
		addr[n] = url[n];
		n++;
	}
	addr[n] = '\0';
	if (url[n] != '\0' && url[n] != ':' && url[n] != '/')
		return -EINVAL;
	if (inet_pton(AF_INET, addr, host) != 1)
		return -EINVAL;
	if (url[n] == ':') {
		const char *p = url + n + 1;
		unsigned long port = 0;
		size_t digits = 0;
		while (digits < 6 && isdigit((unsigned char)p[digits]))
			port = port * 10 + (unsigned long)(p[digits++] - '0');
		if (!digits || port == 0 || port > 65535 || (p[digits] && p[digits] != '/'))
			return -EINVAL;
	}
	return 0;
}

/* Returns the value of header name on line [p, end), or NULL. */
static const uint8_t *header_value(const uint8_t *p, const uint8_t *end, const char *name)
{
	size_t n = strlen(name);

	if ((size_t)(end - p) <= n || strncasecmp((const char *)p, name, n) || p[n] != ':')
		return NULL;
	p += n + 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static bool copy_value(char *out, size_t cap, const uint8_t *v, const uint8_t *end)
{
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t n = (size_t)(end - v);
	if (n == 0 || n >= cap || memchr(v, '\0', n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < 0x21 || v[i] > 0x7e)
			return false;
	}
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

int mg_ssdp_parse_reply(char location[MG_SSDP_URL_MAX], const uint8_t *buf, size_t len,
			struct in_addr gateway)
{
	static const char status[] = "HTTP/1.1 200";
	const uint8_t *p = buf, *end = buf + len;
	bool found = false;

	location[0] = '\0';
	if (len > MG_SSDP_MAX_REPLY || len < sizeof(status) - 1 ||
	    strncasecmp((const char *)buf, status, sizeof(status) - 1))
		return -EBADMSG;
	while (p < end) {
		const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *line_end = eol ? eol : end;
		if (line_end > p && line_end[-1] == '\r')
			line_end--;
		const uint8_t *v = header_value(p, line_end, "LOCATION");
		if (v) {
			if (found || !copy_value(location, MG_SSDP_URL_MAX, v, line_end)) {
				location[0] = '\0';
				return -EBADMSG;
			}
			found = true;
		}
		p = eol ? eol + 1 : end;
	}
	if (!found)
		return -EBADMSG;
	struct in_addr host;
	if (mg_ssdp_url_host(&host, location) < 0) {
		location[0] = '\0';
		return -EBADMSG;
	}
	if (host.s_addr != gateway.s_addr) {
		location[0] = '\0';
		return -EPERM;
	}
	return 0;
}
