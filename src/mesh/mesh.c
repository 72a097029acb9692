/* What the mesh's formats share: key ids, the validity window, names, and
 * bounded cursors. */
#include "mesh/mesh.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "crypto/blake2s.h"

const char *mg_mesh_strerror(int err)
{
	switch (-err) {
	case MG_MESH_EMALFORMED:
		return "malformed";
	case MG_MESH_EVERSION:
		return "unknown format version";
	case MG_MESH_EPREFIX:
		return "not a meshguard token (expected 'mg1...')";
	case MG_MESH_ESIGNATURE:
		return "bad signature";
	case MG_MESH_EEXPIRED:
		return "expired";
	case MG_MESH_ENOTYET:
		return "not valid yet";
	case MG_MESH_EWRONGMESH:
		return "for another mesh";
	case MG_MESH_ENOTISSUER:
		return "signer is not an issuer";
	case MG_MESH_EREVOKED:
		return "revoked";
	case MG_MESH_ETOOBIG:
		return "too big";
	default:
		return strerror(-err);
	}
}

static void vmsg(char *msg, size_t msglen, const char *fmt, va_list ap)
{
	if (msg && msglen)
		vsnprintf(msg, msglen, fmt, ap);
}

void mg_mesh_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(msg, msglen, fmt, ap);
	va_end(ap);
}

enum mg_mesh_result mg_mesh_say(char *msg, size_t msglen, enum mg_mesh_result r, const char *fmt,
				...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(msg, msglen, fmt, ap);
	va_end(ap);
	return r;
}

uint64_t mg_mesh_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void mg_mesh_key_id(uint8_t id[MG_MESH_KEY_ID_LEN], const uint8_t pub[MG_ED25519_PUB_LEN])
{
	static const char ctx[] = "mg-key-id";
	struct mg_blake2s_state s;
	uint8_t h[MG_BLAKE2S_HASH_LEN];

	mg_blake2s_init(&s, sizeof(h), NULL, 0);
	mg_blake2s_update(&s, (const uint8_t *)ctx, sizeof(ctx) - 1);
	mg_blake2s_update(&s, pub, MG_ED25519_PUB_LEN);
	mg_blake2s_final(&s, h);
	memcpy(id, h, MG_MESH_KEY_ID_LEN);
}

int mg_mesh_check_time(uint64_t not_before, uint64_t not_after, uint64_t now)
{
	/* Both bounds are below MG_MESH_TIME_MAX, so neither sum overflows. */
	if (now + MG_MESH_SKEW < not_before)
		return -MG_MESH_ENOTYET;
	if (now > not_after + MG_MESH_SKEW)
		return -MG_MESH_EEXPIRED;
	return 0;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool mg_mesh_name_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

void mg_mesh_put(struct mg_mesh_buf *b, const void *src, size_t len)
{
	if (b->bad || len > b->left) {
		b->bad = true;
		return;
	}
	memcpy(b->p, src, len);
	b->p += len;
	b->left -= len;
}

void mg_mesh_put_u8(struct mg_mesh_buf *b, uint8_t v)
{
	mg_mesh_put(b, &v, 1);
}

void mg_mesh_put_u16(struct mg_mesh_buf *b, uint16_t v)
{
	uint8_t w[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	mg_mesh_put(b, w, sizeof(w));
}

void mg_mesh_put_u64(struct mg_mesh_buf *b, uint64_t v)
{
	uint8_t w[8];

	for (int i = 0; i < 8; i++)
		w[i] = (uint8_t)(v >> (56 - 8 * i));
	mg_mesh_put(b, w, sizeof(w));
}

void mg_mesh_put_str(struct mg_mesh_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT8_MAX) {
		b->bad = true;
		return;
	}
	mg_mesh_put_u8(b, (uint8_t)n);
	mg_mesh_put(b, s, n);
}

void mg_mesh_put_prefix(struct mg_mesh_buf *b, const struct mg_prefix *p)
{
	bool v4 = p->family == AF_INET;

	mg_mesh_put_u8(b, v4 ? 4 : 6);
	mg_mesh_put_u8(b, p->cidr);
	mg_mesh_put(b, p->addr, v4 ? 4 : 16);
}

void mg_mesh_get(struct mg_mesh_buf *b, void *dst, size_t len)
{
	if (b->bad || len > b->left) {
		b->bad = true;
		memset(dst, 0, len);
		return;
	}
	memcpy(dst, b->r, len);
	b->r += len;
	b->left -= len;
}

uint8_t mg_mesh_get_u8(struct mg_mesh_buf *b)
{
	uint8_t v;

	mg_mesh_get(b, &v, 1);
	return v;
}

uint16_t mg_mesh_get_u16(struct mg_mesh_buf *b)
{
	uint8_t w[2];

	mg_mesh_get(b, w, sizeof(w));
	return (uint16_t)(w[0] << 8 | w[1]);
}

uint64_t mg_mesh_get_u64(struct mg_mesh_buf *b)
{
	uint8_t w[8];
	uint64_t v = 0;

	mg_mesh_get(b, w, sizeof(w));
	for (int i = 0; i < 8; i++)
		v = v << 8 | w[i];
	return v;
}

void mg_mesh_get_str(struct mg_mesh_buf *b, char *out, size_t max)
{
	size_t n = mg_mesh_get_u8(b);

	out[0] = '\0';
	if (b->bad || n == 0 || n > max) {
		b->bad = true;
		return;
	}
	mg_mesh_get(b, out, n);
	out[b->bad ? 0 : n] = '\0';
	/* A NUL inside would shorten the string: it must be all n bytes. */
	if (!b->bad && (strlen(out) != n || !mg_mesh_name_valid(out, max)))
		b->bad = true;
}

void mg_mesh_get_prefix(struct mg_mesh_buf *b, struct mg_prefix *p)
{
	uint8_t fam = mg_mesh_get_u8(b);
	size_t len = fam == 4 ? 4 : 16;
	struct mg_prefix masked;

	memset(p, 0, sizeof(*p));
	p->cidr = mg_mesh_get_u8(b);
	if (b->bad || (fam != 4 && fam != 6) || p->cidr > len * 8) {
		b->bad = true;
		return;
	}
	p->family = fam == 4 ? AF_INET : AF_INET6;
	mg_mesh_get(b, p->addr, len);
	masked = *p;
	mg_prefix_mask(&masked);
	if (memcmp(&masked, p, sizeof(*p)) != 0)
		b->bad = true;
}
