/* Renewals an issuer makes by itself: a member certificate it signed with
 * fewer than MG_CERT_RENEW_BEFORE seconds left is signed again, the same in
 * everything (keys, name, addresses, groups, routes) but a new serial and a
 * new validity of MG_CERT_LIFETIME from now, and spread as a directory item;
 * the directory keeps the later certificate of a member (directory.h), so
 * every member moves to it. Certificates other signers made are theirs to
 * renew; an issuer's own certificate is the authority's. */
#ifndef MG_MESH_RENEW_H
#define MG_MESH_RENEW_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/cert.h"
#include "mesh/directory.h"

/* Makes next from c: new serial, validity [now, now + MG_CERT_LIFETIME],
 * signed with sk. 0 or mg_cert_sign's error. */
int mg_cert_renew(struct mg_cert *next, const struct mg_cert *c, uint64_t now,
		  const uint8_t sk[MG_ED25519_SECRET_LEN]) __attribute__((warn_unused_result));

typedef void mg_renew_emit_cb(void *ctx, const uint8_t *item, size_t len);

/* Renews every live member of d that issuer (whose secret key is sk) signed
 * and that needs it at now, passing each new certificate item to emit
 * (which adds it to d, normally through gossip). The number renewed. */
size_t mg_renew_due(const struct mg_directory *d, const struct mg_cert *issuer,
		    const uint8_t sk[MG_ED25519_SECRET_LEN], uint64_t now, mg_renew_emit_cb *emit,
		    void *ctx);

#endif
