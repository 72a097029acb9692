/* One writer: a second locker of the same directory gets -EWOULDBLOCK,
 * from another process as from another open in this one, until the first
 * closes; reading without the lock stays possible meanwhile. */
#include <sys/wait.h>

#include "mesh_state_fixture.h"

static int child_lock(const char *dir)
{
	struct mg_state st;
	char err[512];
	int ret = mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err));

	if (ret == 0)
		mg_state_close(&st);
	else if (!strstr(err, dir))
		return 99;
	return ret == -EWOULDBLOCK ? 1 : ret == 0 ? 0 : 98;
}

static int lock_in_child(const char *dir)
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(child_lock(dir));
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

int main(void)
{
	char dir[PATH_MAX], err[512];
	struct mg_state a, b;

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	CHECK_EQ(mg_state_open(&a, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK(mg_state_locked(&a));
	CHECK_EQ(mg_state_open(&b, dir, MG_STATE_LOCK, err, sizeof(err)), -EWOULDBLOCK);
	CHECK(strstr(err, dir) != NULL);
	CHECK_EQ(lock_in_child(dir), 1);

	CHECK_EQ(mg_state_open(&b, dir, 0, err, sizeof(err)), 0);
	CHECK(!mg_state_locked(&b));
	mg_state_close(&b);

	mg_state_close(&a);
	CHECK_EQ(lock_in_child(dir), 0);
	CHECK_EQ(mg_state_open(&b, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	mg_state_close(&b);

	sd_remove(dir);
	mg_test_pass("mesh_state_lock");
	return 0;
}
