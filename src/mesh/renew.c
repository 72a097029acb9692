/* An issuer's renewals (see renew.h). */
#include "mesh/renew.h"

#include <string.h>

#include "crypto/primitives.h"

int mg_cert_renew(struct mg_cert *next, const struct mg_cert *c, uint64_t now,
		  const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	*next = *c;
	mg_random_bytes(&next->serial, sizeof(next->serial));
	next->not_before = now;
	next->not_after = now + MG_CERT_LIFETIME;
	return mg_cert_sign(next, sk);
}

size_t mg_renew_due(const struct mg_directory *d, const struct mg_cert *issuer,
		    const uint8_t sk[MG_ED25519_SECRET_LEN], uint64_t now, mg_renew_emit_cb *emit,
		    void *ctx)
{
	uint8_t id[MG_MESH_KEY_ID_LEN], item[MG_DIR_ITEM_MAX];
	struct mg_cert due[16], next;
	size_t n_due = 0, renewed = 0;
	int len;

	mg_mesh_key_id(id, issuer->key);
	/* Collected first: emitting changes the directory being walked. At
	 * most 16 a call; the next call takes the rest. */
	for (size_t i = 0; i < mg_directory_count(d) && n_due < 16; i++) {
		const struct mg_cert *c = &mg_directory_member(d, i)->cert;

		if (!memcmp(c->signer_id, id, MG_MESH_KEY_ID_LEN) && mg_cert_needs_renewal(c, now))
			due[n_due++] = *c;
	}
	for (size_t i = 0; i < n_due; i++) {
		if (mg_cert_renew(&next, &due[i], now, sk) < 0)
			continue;
		len = mg_dir_cert_item(item, sizeof(item), &next);
		if (len < 0)
			continue;
		emit(ctx, item, (size_t)len);
		renewed++;
	}
	return renewed;
}
