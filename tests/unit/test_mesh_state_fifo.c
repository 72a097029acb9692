/* A FIFO (or any file that is not a regular one) put where a state file
 * belongs is refused at once: reading the state never blocks on it. */
#include <sys/stat.h>

#include "mesh_state_fixture.h"

int main(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], err[512] = "", buf[64];
	struct mg_state st;
	size_t len;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/mesh.json", dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	alarm(10); /* a blocking open would hang the test: fail it instead */
	CHECK_EQ(mg_state_read(&st, "mesh.json", (uint8_t *)buf, sizeof(buf), &len, err,
			       sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	alarm(0);
	mg_state_close(&st);
	sd_remove(dir);
	mg_test_pass("mesh_state_fifo");
	return 0;
}
