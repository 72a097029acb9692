/* Invite tokens: the codec, sealing to fit and verification (format in
 * token.h). */
#include "mesh/token.h"

#include <string.h>
#include <sys/socket.h>

static const char invite_ctx[] = "mg-invite-v1";
#define CTX_LEN	 (sizeof(invite_ctx) - 1)
#define BODY_MAX (MG_TOKEN_BIN_MAX - MG_ED25519_SIG_LEN)

void mg_token_wipe(struct mg_token *t)
{
	mg_wipe(t, sizeof(*t));
}

static bool host_valid(const char *s)
{
	size_t n = strnlen(s, MG_TOKEN_HOST_MAX + 1);

	if (n == 0 || n > MG_TOKEN_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool endpoint_valid(const struct mg_token_endpoint *e)
{
	if (e->family == 0)
		return host_valid(e->host);
	return e->family == AF_INET || e->family == AF_INET6;
}

static bool fields_valid(const struct mg_token *t)
{
	if (t->expiry >= MG_MESH_TIME_MAX || t->uses == 0)
		return false;
	if (t->name[0] && !mg_mesh_name_valid(t->name, MG_MESH_NAME_MAX))
		return false;
	if (t->n_groups > MG_MESH_GROUPS_MAX || t->n_endpoints == 0 ||
	    t->n_endpoints > MG_TOKEN_ENDPOINTS_MAX)
		return false;
	for (size_t i = 0; i < t->n_groups; i++)
		if (!mg_mesh_name_valid(t->groups[i], MG_MESH_GROUP_MAX))
			return false;
	for (size_t i = 0; i < t->n_endpoints; i++)
		if (!endpoint_valid(&t->endpoints[i]))
			return false;
	return true;
}

static void put_endpoint(struct mg_mesh_buf *b, const struct mg_token_endpoint *e)
{
	if (e->family == 0) {
		mg_mesh_put_u8(b, MG_TOKEN_EP_HOST);
		mg_mesh_put_str(b, e->host);
	} else {
		mg_mesh_put_u8(b, e->family == AF_INET ? 4 : 6);
		mg_mesh_put(b, e->addr, e->family == AF_INET ? 4 : 16);
	}
	mg_mesh_put_u16(b, e->port);
}

static void put_body(struct mg_mesh_buf *b, const struct mg_token *t)
{
	mg_mesh_put_u8(b, MG_TOKEN_VERSION);
	mg_mesh_put(b, t->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_put(b, t->authority, MG_ED25519_PUB_LEN);
	mg_mesh_put(b, t->signer_id, MG_MESH_KEY_ID_LEN);
	mg_mesh_put(b, t->invite_id, MG_TOKEN_INVITE_ID_LEN);
	mg_mesh_put_u64(b, t->expiry);
	mg_mesh_put_u16(b, t->uses);
	mg_mesh_put(b, t->inviter_key, MG_ED25519_PUB_LEN);
	mg_mesh_put(b, t->secret, MG_TOKEN_SECRET_LEN);
	if (t->name[0])
		mg_mesh_put_str(b, t->name);
	else
		mg_mesh_put_u8(b, 0);
	mg_mesh_put_u8(b, t->n_groups);
	for (size_t i = 0; i < t->n_groups; i++)
		mg_mesh_put_str(b, t->groups[i]);
	mg_mesh_put_u8(b, t->n_endpoints);
	for (size_t i = 0; i < t->n_endpoints; i++)
		put_endpoint(b, &t->endpoints[i]);
}

/* The signed message into out[CTX_LEN + BODY_MAX]: the context, then the
 * body. Its length, or a negative error. Holds the secret: the caller
 * wipes out. */
static int signed_message(uint8_t *out, const struct mg_token *t)
{
	struct mg_mesh_buf b = { .p = out + CTX_LEN, .left = BODY_MAX };

	if (!fields_valid(t))
		return -MG_MESH_EMALFORMED;
	memcpy(out, invite_ctx, CTX_LEN);
	put_body(&b, t);
	if (b.bad)
		return -MG_MESH_ETOOBIG;
	return (int)(b.p - out);
}

static void to_text(char out[MG_TOKEN_TEXT_MAX + 1], const uint8_t *bin, size_t len)
{
	memcpy(out, MG_TOKEN_PREFIX, MG_TOKEN_PREFIX_LEN);
	mg_base64url_encode(out + MG_TOKEN_PREFIX_LEN, bin, len);
}

int mg_token_encode(char out[MG_TOKEN_TEXT_MAX + 1], const struct mg_token *t)
{
	uint8_t msg[CTX_LEN + BODY_MAX + MG_ED25519_SIG_LEN];
	int n = signed_message(msg, t);

	if (n >= 0) {
		memcpy(msg + n, t->signature, MG_ED25519_SIG_LEN);
		to_text(out, msg + CTX_LEN, (size_t)n - CTX_LEN + MG_ED25519_SIG_LEN);
		n = 0;
	}
	mg_wipe(msg, sizeof(msg));
	return n;
}

int mg_token_seal(char out[MG_TOKEN_TEXT_MAX + 1], struct mg_token *t,
		  const uint8_t sk[MG_ED25519_SECRET_LEN], size_t *dropped)
{
	uint8_t msg[CTX_LEN + BODY_MAX], pub[MG_ED25519_PUB_LEN];
	size_t endpoints = t->n_endpoints;
	int n;

	*dropped = 0;
	mg_ed25519_public(pub, sk);
	mg_mesh_key_id(t->signer_id, pub);
	/* Only the total size can fail once the fields are valid: each endpoint
	 * dropped makes the body shorter, down to the last one. */
	while ((n = signed_message(msg, t)) == -MG_MESH_ETOOBIG && t->n_endpoints > 1) {
		t->n_endpoints--;
		(*dropped)++;
	}
	if (n >= 0)
		mg_ed25519_sign(t->signature, msg, (size_t)n, sk);
	mg_wipe(msg, sizeof(msg));
	if (n < 0) {
		/* Not even one endpoint fits: t is left as it came. */
		t->n_endpoints = endpoints;
		*dropped = 0;
		return n;
	}
	return mg_token_encode(out, t);
}

static void get_endpoint(struct mg_mesh_buf *b, struct mg_token_endpoint *e)
{
	uint8_t type = mg_mesh_get_u8(b);
	size_t n;

	if (type == MG_TOKEN_EP_HOST) {
		n = mg_mesh_get_u8(b);
		if (n == 0 || n > MG_TOKEN_HOST_MAX)
			b->bad = true;
		mg_mesh_get(b, e->host, b->bad ? 0 : n);
		e->host[b->bad ? 0 : n] = '\0';
		if (!b->bad && (strlen(e->host) != n || !host_valid(e->host)))
			b->bad = true;
	} else if (type == 4 || type == 6) {
		e->family = type == 4 ? AF_INET : AF_INET6;
		mg_mesh_get(b, e->addr, type == 4 ? 4 : 16);
	} else {
		b->bad = true;
	}
	e->port = mg_mesh_get_u16(b);
}

static void get_list_count(struct mg_mesh_buf *b, uint8_t *n, size_t max)
{
	*n = mg_mesh_get_u8(b);
	if (*n > max)
		b->bad = true;
}

static void get_body(struct mg_mesh_buf *b, struct mg_token *t)
{
	mg_mesh_get(b, t->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_get(b, t->authority, MG_ED25519_PUB_LEN);
	mg_mesh_get(b, t->signer_id, MG_MESH_KEY_ID_LEN);
	mg_mesh_get(b, t->invite_id, MG_TOKEN_INVITE_ID_LEN);
	t->expiry = mg_mesh_get_u64(b);
	t->uses = mg_mesh_get_u16(b);
	mg_mesh_get(b, t->inviter_key, MG_ED25519_PUB_LEN);
	mg_mesh_get(b, t->secret, MG_TOKEN_SECRET_LEN);
	/* A zero length means "not pinned"; mg_mesh_get_str refuses it. */
	if (!b->bad && b->left > 0 && b->r[0] == 0)
		(void)mg_mesh_get_u8(b);
	else
		mg_mesh_get_str(b, t->name, MG_MESH_NAME_MAX);
	get_list_count(b, &t->n_groups, MG_MESH_GROUPS_MAX);
	for (size_t i = 0; i < t->n_groups && !b->bad; i++)
		mg_mesh_get_str(b, t->groups[i], MG_MESH_GROUP_MAX);
	get_list_count(b, &t->n_endpoints, MG_TOKEN_ENDPOINTS_MAX);
	for (size_t i = 0; i < t->n_endpoints && !b->bad; i++)
		get_endpoint(b, &t->endpoints[i]);
	mg_mesh_get(b, t->signature, MG_ED25519_SIG_LEN);
}

/* The binary token after the prefix; bin[MG_TOKEN_BIN_MAX] is wiped by the
 * caller. */
static int decode_bin(struct mg_token *t, const uint8_t *bin, size_t len)
{
	struct mg_mesh_buf b = { .r = bin, .left = len };

	if (len >= 1 && bin[0] != MG_TOKEN_VERSION)
		return -MG_MESH_EVERSION;
	(void)mg_mesh_get_u8(&b);
	get_body(&b, t);
	if (b.bad || b.left != 0 || !fields_valid(t))
		return -MG_MESH_EMALFORMED;
	return 0;
}

int mg_token_decode(struct mg_token *t, const char *text, size_t len)
{
	uint8_t bin[MG_TOKEN_BIN_MAX];
	size_t n;
	int err;

	memset(t, 0, sizeof(*t));
	if (len < MG_TOKEN_PREFIX_LEN || memcmp(text, MG_TOKEN_PREFIX, MG_TOKEN_PREFIX_LEN) != 0)
		return -MG_MESH_EPREFIX;
	if (len > MG_TOKEN_TEXT_MAX)
		return -MG_MESH_EMALFORMED;
	err = mg_base64url_decode(bin, sizeof(bin), &n, text + MG_TOKEN_PREFIX_LEN,
				  len - MG_TOKEN_PREFIX_LEN);
	if (err == 0)
		err = decode_bin(t, bin, n);
	if (err < 0) {
		mg_token_wipe(t);
		err = err == -MG_MESH_EVERSION ? err : -MG_MESH_EMALFORMED;
	}
	mg_wipe(bin, sizeof(bin));
	return err;
}

bool mg_token_signed_by_authority(const struct mg_token *t)
{
	uint8_t id[MG_MESH_KEY_ID_LEN];

	mg_mesh_key_id(id, t->authority);
	return memcmp(id, t->signer_id, sizeof(id)) == 0;
}

static bool signed_by(const struct mg_token *t, const uint8_t pub[MG_ED25519_PUB_LEN])
{
	uint8_t msg[CTX_LEN + BODY_MAX], id[MG_MESH_KEY_ID_LEN];
	int n = signed_message(msg, t);
	bool ok;

	mg_mesh_key_id(id, pub);
	ok = n >= 0 && memcmp(id, t->signer_id, sizeof(id)) == 0 &&
	     mg_ed25519_verify(t->signature, msg, (size_t)n, pub);
	mg_wipe(msg, sizeof(msg));
	return ok;
}

int mg_token_verify(const struct mg_token *t, const struct mg_cert *issuer, uint64_t now,
		    const struct mg_cert_revocations *rev)
{
	const uint8_t *pub = t->authority;
	int err;

	if (issuer) {
		err = mg_cert_verify_issuer(issuer, t->authority, t->mesh_id, now, rev);
		if (err < 0)
			return err;
		pub = issuer->key;
	}
	if (!signed_by(t, pub))
		return -MG_MESH_ESIGNATURE;
	return mg_mesh_check_time(0, t->expiry, now) == -MG_MESH_EEXPIRED ? -MG_MESH_EEXPIRED : 0;
}
