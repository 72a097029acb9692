/* Symbolic links planted in the state directory are never followed: a
 * state file that is a link is refused with a message saying so, a link
 * where the temporary file goes is replaced (nothing is written through
 * it), and a link (or a FIFO) in place of the lock refuses the open at
 * once instead of locking or blocking on something elsewhere. */
#include <sys/stat.h>

#include "mesh_state_fixture.h"

static void spit_outside(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	CHECK(fputs(text, f) >= 0);
	CHECK_EQ(fclose(f), 0);
	CHECK_EQ(chmod(path, 0600), 0);
}

static void file_is(const char *path, const char *text)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	CHECK(strcmp(buf, text) == 0);
}

int main(void)
{
	char dir[PATH_MAX], other[PATH_MAX], victim[PATH_MAX + 16], link[PATH_MAX + 32];
	char err[1024] = "";
	uint8_t buf[64];
	struct mg_state st;
	struct stat sb;
	size_t len;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	sd_make(other);
	snprintf(victim, sizeof(victim), "%s/victim", other);
	spit_outside(victim, "elsewhere");
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);

	/* A state file that is a link: refused, and said so. */
	snprintf(link, sizeof(link), "%s/directory", dir);
	CHECK_EQ(symlink(victim, link), 0);
	CHECK_EQ(mg_state_read(&st, "directory", buf, sizeof(buf), &len, err, sizeof(err)), -ELOOP);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK(strstr(err, link) != NULL);
	CHECK_EQ(mg_state_exists(&st, "directory"), 0); /* the link itself, not followed */

	/* A link where the temporary file goes: written beside, never through. */
	snprintf(link, sizeof(link), "%s/.mesh.json.tmp", dir);
	CHECK_EQ(symlink(victim, link), 0);
	CHECK_EQ(mg_state_write(&st, "mesh.json", "new", 3, err, sizeof(err)), 0);
	file_is(victim, "elsewhere");
	snprintf(link, sizeof(link), "%s/mesh.json", dir);
	CHECK_EQ(lstat(link, &sb), 0);
	CHECK(S_ISREG(sb.st_mode));
	CHECK_EQ(sd_count_tmp(dir), 0);

	/* Writing over a state file that is a link replaces the link. */
	CHECK_EQ(mg_state_write(&st, "directory", "mine", 4, err, sizeof(err)), 0);
	file_is(victim, "elsewhere");
	mg_state_close(&st);

	/* The lock as a link, then as a FIFO: refused at once. */
	snprintf(link, sizeof(link), "%s/lock", dir);
	CHECK_EQ(unlink(link), 0);
	CHECK_EQ(symlink(victim, link), 0);
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), -ELOOP);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK_EQ(unlink(link), 0);
	CHECK_EQ(mkfifo(link, 0600), 0);
	alarm(10); /* a blocking open would hang the test: fail it instead */
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	alarm(0);

	sd_remove(dir);
	sd_remove(other);
	mg_test_pass("mesh_state_symlink");
	return 0;
}
