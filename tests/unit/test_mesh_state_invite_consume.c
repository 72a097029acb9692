/* Invite records: a single-use invitation is consumed once, and the second
 * attempt gets -EUSERS also after the directory is closed and reopened (the
 * record on disk is the truth); an expired one -EKEYEXPIRED, an unknown one
 * -ENOENT; a failed consume writes nothing; listing walks every record. */
#include "mesh_state_fixture.h"

static void record(struct mg_invite_record *r, uint16_t uses, uint64_t expiry)
{
	memset(r, 0, sizeof(*r));
	mg_random_bytes(r->id, sizeof(r->id));
	mg_random_bytes(r->secret, sizeof(r->secret));
	r->expiry = expiry;
	r->uses = uses;
	strcpy(r->name, "bravo");
	r->n_groups = 1;
	strcpy(r->groups[0], "laptops");
}

static int count(void *ctx, const struct mg_invite_record *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

int main(void)
{
	struct mg_invite_record one, three, old, got;
	char dir[PATH_MAX], err[512], name[64];
	uint8_t before[512], after[512], unknown[16] = { 0 };
	struct mg_state st;
	int n = 0;
	long nb;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	record(&one, 1, SD_T0 + 3600);
	record(&three, 3, SD_T0 + 3600);
	record(&old, 1, SD_T0 - 1);

	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_consume(&st, unknown, SD_T0, &got, err, sizeof(err)), -ENOENT);
	CHECK_EQ(mg_state_invite_list(&st, count, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(mg_state_invite_save(&st, &one, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_save(&st, &three, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_save(&st, &old, err, sizeof(err)), 0);

	CHECK_EQ(mg_state_invite_consume(&st, one.id, SD_T0, &got, err, sizeof(err)), 0);
	CHECK_EQ(got.used, 1);
	CHECK_MEM(got.secret, one.secret, 32);
	CHECK_EQ(strcmp(got.name, "bravo"), 0);
	mg_invite_record_name(name, sizeof(name), one.id);
	nb = sd_slurp(dir, name, before, sizeof(before));
	CHECK(nb > 0);
	CHECK_EQ(mg_state_invite_consume(&st, one.id, SD_T0, &got, err, sizeof(err)), -EUSERS);
	CHECK_EQ(sd_slurp(dir, name, after, sizeof(after)), nb);
	CHECK_MEM(after, before, (size_t)nb);
	mg_state_close(&st);

	/* After reopening (as after a crash): still used up. */
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_consume(&st, one.id, SD_T0, NULL, err, sizeof(err)), -EUSERS);
	CHECK_EQ(mg_state_invite_load(&st, one.id, &got, err, sizeof(err)), 0);
	CHECK_EQ(got.used, 1);

	CHECK_EQ(mg_state_invite_consume(&st, old.id, SD_T0, &got, err, sizeof(err)), -EKEYEXPIRED);
	CHECK_EQ(mg_state_invite_load(&st, old.id, &got, err, sizeof(err)), 0);
	CHECK_EQ(got.used, 0);
	/* Valid up to and including its expiry second. */
	CHECK_EQ(mg_state_invite_consume(&st, three.id, three.expiry, NULL, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_consume(&st, three.id, SD_T0, NULL, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_consume(&st, three.id, SD_T0, &got, err, sizeof(err)), 0);
	CHECK_EQ(got.used, 3);
	CHECK_EQ(mg_state_invite_consume(&st, three.id, SD_T0, &got, err, sizeof(err)), -EUSERS);

	CHECK_EQ(mg_state_invite_list(&st, count, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(sd_count_tmp(dir), 0);
	mg_state_close(&st);

	/* Without the lock, no consume. */
	CHECK_EQ(mg_state_open(&st, dir, 0, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_consume(&st, three.id, SD_T0, &got, err, sizeof(err)), -ENOLCK);
	mg_state_close(&st);

	mg_invite_record_wipe(&got);
	sd_remove(dir);
	mg_test_pass("mesh_state_invite_consume");
	return 0;
}
