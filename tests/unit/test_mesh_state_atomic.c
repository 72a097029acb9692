/* An atomic write leaves no temporary file, replaces the old content
 * whole, survives closing and reopening the directory, and clears a stale
 * temporary file a crash left; without the lock nothing is written. */
#include "mesh_state_fixture.h"

int main(void)
{
	char dir[PATH_MAX], err[512];
	uint8_t buf[64];
	struct mg_state st;
	size_t len;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_write(&st, "directory", "first", 5, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_write(&st, "directory", "second!", 7, err, sizeof(err)), 0);
	CHECK_EQ(sd_count_tmp(dir), 0);
	CHECK_EQ(mg_state_read(&st, "directory", buf, sizeof(buf), &len, err, sizeof(err)), 0);
	CHECK_EQ(len, 7);
	CHECK_MEM(buf, "second!", 7);

	/* A crash between open and rename leaves .directory.tmp behind. */
	sd_spit(dir, ".directory.tmp", "junk", 4, 0600);
	CHECK_EQ(mg_state_write(&st, "directory", "third", 5, err, sizeof(err)), 0);
	CHECK_EQ(sd_count_tmp(dir), 0);

	/* Files under invites/, which the first write there creates 0700. */
	CHECK_EQ(mg_state_write(&st, "invites/0123", "x", 1, err, sizeof(err)), 0);
	{
		char sub[PATH_MAX + 16];
		struct stat sb;
		snprintf(sub, sizeof(sub), "%s/invites", dir);
		CHECK_EQ(stat(sub, &sb), 0);
		CHECK_EQ(sb.st_mode & 0777, 0700);
		CHECK_EQ(sd_count_tmp(sub), 0);
		snprintf(sub, sizeof(sub), "%s/directory", dir);
		CHECK_EQ(stat(sub, &sb), 0);
		CHECK_EQ(sb.st_mode & 0777, 0600);
	}
	/* Names that would leave DIR, or collide with temporary files. */
	CHECK_EQ(mg_state_write(&st, "../x", "x", 1, err, sizeof(err)), -EINVAL);
	CHECK_EQ(mg_state_write(&st, ".x", "x", 1, err, sizeof(err)), -EINVAL);
	CHECK_EQ(mg_state_write(&st, "invites/../x", "x", 1, err, sizeof(err)), -EINVAL);
	CHECK_EQ(mg_state_write(&st, "a/b", "x", 1, err, sizeof(err)), -EINVAL);
	mg_state_close(&st);

	CHECK_EQ(mg_state_open(&st, dir, 0, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_read(&st, "directory", buf, sizeof(buf), &len, err, sizeof(err)), 0);
	CHECK_EQ(len, 5);
	CHECK_MEM(buf, "third", 5);
	CHECK_EQ(mg_state_read(&st, "member.cert", buf, sizeof(buf), &len, err, sizeof(err)),
		 -ENOENT);
	CHECK_EQ(mg_state_read(&st, "directory", buf, 4, &len, err, sizeof(err)), -EFBIG);
	/* Not locked: the one-writer rule refuses. */
	CHECK_EQ(mg_state_write(&st, "directory", "no", 2, err, sizeof(err)), -ENOLCK);
	CHECK(strstr(err, dir) != NULL);
	mg_state_close(&st);
	mg_state_close(&st); /* idempotent */

	sd_remove(dir);
	mg_test_pass("mesh_state_atomic");
	return 0;
}
