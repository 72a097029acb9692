/* A state directory or file that group or others may access is refused
 * with its path; a missing directory is made 0700 only when asked. */
#include "mesh_state_fixture.h"

int main(void)
{
	char dir[PATH_MAX], sub[PATH_MAX + 16], err[512];
	uint8_t key[32], buf[8];
	struct mg_state st;
	struct stat sb;
	size_t len;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);

	CHECK_EQ(chmod(dir, 0755), 0);
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, dir) != NULL);
	CHECK(strstr(err, "0755") != NULL);
	CHECK_EQ(chmod(dir, 0710), 0);
	CHECK_EQ(mg_state_open(&st, dir, 0, err, sizeof(err)), -EACCES);
	CHECK_EQ(chmod(dir, 0700), 0);

	/* A key file readable by others. */
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	mg_random_bytes(key, sizeof(key));
	CHECK_EQ(mg_state_key_save(&st, MG_STATE_MEMBER, key, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/%s", dir, MG_STATE_MEMBER);
	CHECK_EQ(chmod(sub, 0644), 0);
	CHECK_EQ(mg_state_key_load(&st, MG_STATE_MEMBER, key, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, sub) != NULL);
	CHECK_EQ(chmod(sub, 0600), 0);
	CHECK_EQ(mg_state_key_load(&st, MG_STATE_MEMBER, key, err, sizeof(err)), 0);
	mg_state_close(&st);

	/* Missing: refused without CREATE, made 0700 with it. */
	snprintf(sub, sizeof(sub), "%s/node", dir);
	CHECK_EQ(mg_state_open(&st, sub, MG_STATE_LOCK, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, sub) != NULL);
	umask(022);
	CHECK_EQ(mg_state_open(&st, sub, MG_STATE_CREATE | MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(stat(sub, &sb), 0);
	CHECK_EQ(sb.st_mode & 0777, 0700);
	/* A file that is not regular. */
	CHECK_EQ(mkdirat(st.dirfd, "directory", 0700), 0);
	CHECK_EQ(mg_state_read(&st, "directory", buf, sizeof(buf), &len, err, sizeof(err)),
		 -EINVAL);
	mg_state_close(&st);

	sd_remove(dir);
	mg_test_pass("mesh_state_perms");
	return 0;
}
