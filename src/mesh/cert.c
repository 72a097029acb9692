/* Certificates: the codec, signing and chain verification (format in
 * cert.h). */
#include "mesh/cert.h"

#include <string.h>
#include <sys/socket.h>

static const char cert_ctx[] = "mg-cert-v1";
#define CTX_LEN (sizeof(cert_ctx) - 1)

static bool prefix_valid(const struct mg_prefix *p)
{
	struct mg_prefix masked = *p;

	if (p->family != AF_INET && p->family != AF_INET6)
		return false;
	if (p->cidr > (p->family == AF_INET ? 32 : 128))
		return false;
	mg_prefix_mask(&masked);
	return memcmp(&masked, p, sizeof(*p)) == 0;
}

/* What the encoder refuses, so that every certificate it writes decodes. */
static bool fields_valid(const struct mg_cert *c)
{
	bool member = c->role == MG_CERT_ROLE_MEMBER;

	if (!member && c->role != MG_CERT_ROLE_ISSUER)
		return false;
	if (c->not_before > c->not_after || c->not_after >= MG_MESH_TIME_MAX)
		return false;
	if (!mg_mesh_name_valid(c->name, MG_MESH_NAME_MAX))
		return false;
	if (c->n_addresses > (member ? MG_CERT_ADDRESSES_MAX : 0) ||
	    c->n_routes > (member ? MG_CERT_ROUTES_MAX : 0) || c->n_groups > MG_MESH_GROUPS_MAX)
		return false;
	for (size_t i = 0; i < c->n_addresses; i++)
		if (!prefix_valid(&c->addresses[i]))
			return false;
	for (size_t i = 0; i < c->n_routes; i++)
		if (!prefix_valid(&c->routes[i]))
			return false;
	for (size_t i = 0; i < c->n_groups; i++)
		if (!mg_mesh_name_valid(c->groups[i], MG_MESH_GROUP_MAX))
			return false;
	return true;
}

/* Everything before the signature. */
static void put_body(struct mg_mesh_buf *b, const struct mg_cert *c)
{
	mg_mesh_put_u8(b, MG_CERT_VERSION);
	mg_mesh_put_u8(b, c->role);
	mg_mesh_put_u64(b, c->serial);
	mg_mesh_put(b, c->mesh_id, MG_MESH_ID_LEN);
	mg_mesh_put_u64(b, c->not_before);
	mg_mesh_put_u64(b, c->not_after);
	mg_mesh_put(b, c->wg_key, MG_KEY_LEN);
	mg_mesh_put(b, c->key, MG_ED25519_PUB_LEN);
	mg_mesh_put(b, c->signer_id, MG_MESH_KEY_ID_LEN);
	mg_mesh_put_str(b, c->name);
	mg_mesh_put_u8(b, c->n_addresses);
	for (size_t i = 0; i < c->n_addresses; i++)
		mg_mesh_put_prefix(b, &c->addresses[i]);
	mg_mesh_put_u8(b, c->n_groups);
	for (size_t i = 0; i < c->n_groups; i++)
		mg_mesh_put_str(b, c->groups[i]);
	mg_mesh_put_u8(b, c->n_routes);
	for (size_t i = 0; i < c->n_routes; i++)
		mg_mesh_put_prefix(b, &c->routes[i]);
}

/* The signed message: the context, then the body. out has room for
 * CTX_LEN + MG_CERT_MAX_LEN. The message length, or a negative error. */
static int signed_message(uint8_t *out, const struct mg_cert *c)
{
	struct mg_mesh_buf b = { .p = out + CTX_LEN, .left = MG_CERT_MAX_LEN - MG_ED25519_SIG_LEN };

	if (!fields_valid(c))
		return -MG_MESH_EMALFORMED;
	memcpy(out, cert_ctx, CTX_LEN);
	put_body(&b, c);
	if (b.bad)
		return -MG_MESH_ETOOBIG;
	return (int)(b.p - out);
}

int mg_cert_encode(uint8_t *out, size_t outlen, const struct mg_cert *c)
{
	uint8_t msg[CTX_LEN + MG_CERT_MAX_LEN];
	int n = signed_message(msg, c);
	size_t body;

	if (n < 0)
		return n;
	body = (size_t)n - CTX_LEN;
	if (outlen < body + MG_ED25519_SIG_LEN)
		return -MG_MESH_ETOOBIG;
	memcpy(out, msg + CTX_LEN, body);
	memcpy(out + body, c->signature, MG_ED25519_SIG_LEN);
	return (int)(body + MG_ED25519_SIG_LEN);
}

int mg_cert_sign(struct mg_cert *c, const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	uint8_t msg[CTX_LEN + MG_CERT_MAX_LEN], pub[MG_ED25519_PUB_LEN];
	int n;

	mg_ed25519_public(pub, sk);
	mg_mesh_key_id(c->signer_id, pub);
	n = signed_message(msg, c);
	if (n < 0)
		return n;
	mg_ed25519_sign(c->signature, msg, (size_t)n, sk);
	return 0;
}

static void get_prefixes(struct mg_mesh_buf *b, struct mg_prefix *p, uint8_t *n, size_t max)
{
	*n = mg_mesh_get_u8(b);
	if (*n > max) {
		b->bad = true;
		return;
	}
	for (size_t i = 0; i < *n && !b->bad; i++)
		mg_mesh_get_prefix(b, &p[i]);
}

static void get_body(struct mg_mesh_buf *b, struct mg_cert *c)
{
	c->role = mg_mesh_get_u8(b);
	c->serial = mg_mesh_get_u64(b);
	mg_mesh_get(b, c->mesh_id, MG_MESH_ID_LEN);
	c->not_before = mg_mesh_get_u64(b);
	c->not_after = mg_mesh_get_u64(b);
	mg_mesh_get(b, c->wg_key, MG_KEY_LEN);
	mg_mesh_get(b, c->key, MG_ED25519_PUB_LEN);
	mg_mesh_get(b, c->signer_id, MG_MESH_KEY_ID_LEN);
	mg_mesh_get_str(b, c->name, MG_MESH_NAME_MAX);
	get_prefixes(b, c->addresses, &c->n_addresses, MG_CERT_ADDRESSES_MAX);
	c->n_groups = mg_mesh_get_u8(b);
	if (c->n_groups > MG_MESH_GROUPS_MAX)
		b->bad = true;
	for (size_t i = 0; i < c->n_groups && !b->bad; i++)
		mg_mesh_get_str(b, c->groups[i], MG_MESH_GROUP_MAX);
	get_prefixes(b, c->routes, &c->n_routes, MG_CERT_ROUTES_MAX);
	mg_mesh_get(b, c->signature, MG_ED25519_SIG_LEN);
}

int mg_cert_decode(struct mg_cert *c, const uint8_t *in, size_t len)
{
	struct mg_mesh_buf b = { .r = in, .left = len };

	memset(c, 0, sizeof(*c));
	if (len > MG_CERT_MAX_LEN)
		return -MG_MESH_EMALFORMED;
	if (len >= 1 && in[0] != MG_CERT_VERSION)
		return -MG_MESH_EVERSION;
	(void)mg_mesh_get_u8(&b);
	get_body(&b, c);
	/* fields_valid also holds the role and time rules the cursor cannot. */
	if (b.bad || b.left != 0 || !fields_valid(c)) {
		memset(c, 0, sizeof(*c));
		return -MG_MESH_EMALFORMED;
	}
	return 0;
}

static bool signed_by(const struct mg_cert *c, const uint8_t pub[MG_ED25519_PUB_LEN])
{
	uint8_t msg[CTX_LEN + MG_CERT_MAX_LEN], id[MG_MESH_KEY_ID_LEN];
	int n = signed_message(msg, c);

	mg_mesh_key_id(id, pub);
	if (n < 0 || memcmp(id, c->signer_id, sizeof(id)) != 0)
		return false;
	return mg_ed25519_verify(c->signature, msg, (size_t)n, pub);
}

/* The checks every certificate of a chain passes, whatever its place. */
static int check_one(const struct mg_cert *c, const uint8_t pub[MG_ED25519_PUB_LEN],
		     const uint8_t mesh_id[MG_MESH_ID_LEN], uint64_t now,
		     const struct mg_cert_revocations *rev)
{
	int err;

	if (!signed_by(c, pub))
		return -MG_MESH_ESIGNATURE;
	if (memcmp(c->mesh_id, mesh_id, MG_MESH_ID_LEN) != 0)
		return -MG_MESH_EWRONGMESH;
	err = mg_mesh_check_time(c->not_before, c->not_after, now);
	if (err < 0)
		return err;
	if (rev && rev->is_revoked && rev->is_revoked(rev->ctx, c))
		return -MG_MESH_EREVOKED;
	return 0;
}

int mg_cert_verify_issuer(const struct mg_cert *issuer, const uint8_t authority[MG_ED25519_PUB_LEN],
			  const uint8_t mesh_id[MG_MESH_ID_LEN], uint64_t now,
			  const struct mg_cert_revocations *rev)
{
	int err = check_one(issuer, authority, mesh_id, now, rev);

	if (err < 0)
		return err;
	return issuer->role == MG_CERT_ROLE_ISSUER ? 0 : -MG_MESH_ENOTISSUER;
}

int mg_cert_verify(const struct mg_cert *leaf, const struct mg_cert *issuer,
		   const uint8_t authority[MG_ED25519_PUB_LEN],
		   const uint8_t mesh_id[MG_MESH_ID_LEN], uint64_t now,
		   const struct mg_cert_revocations *rev)
{
	int err;

	if (leaf->role != MG_CERT_ROLE_MEMBER)
		return -MG_MESH_ENOTISSUER;
	if (!issuer)
		return check_one(leaf, authority, mesh_id, now, rev);
	err = mg_cert_verify_issuer(issuer, authority, mesh_id, now, rev);
	if (err < 0)
		return err;
	return check_one(leaf, issuer->key, mesh_id, now, rev);
}

bool mg_cert_needs_renewal(const struct mg_cert *c, uint64_t now)
{
	return now >= c->not_after || c->not_after - now < MG_CERT_RENEW_BEFORE;
}
