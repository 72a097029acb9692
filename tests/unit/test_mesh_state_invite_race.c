/* Of several processes that race to consume one single-use invitation,
 * each taking the lock for one transaction as an offline command does,
 * exactly one wins and the others get -EUSERS; a winner that dies right
 * after (no close, as a crash) has still used it up. */
#include <sys/wait.h>
#include <time.h>

#include "mesh_state_fixture.h"

#define RACERS 6

static int consume_once(const char *dir, const uint8_t id[16])
{
	struct timespec pause = { 0, 1000000 };
	struct mg_state st;
	char err[512];
	int ret;

	for (int tries = 0; tries < 5000; tries++) {
		ret = mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err));
		if (ret != -EWOULDBLOCK)
			break;
		nanosleep(&pause, NULL);
	}
	if (ret < 0)
		return 3;
	ret = mg_state_invite_consume(&st, id, SD_T0, NULL, err, sizeof(err));
	/* Exit without closing: the kernel drops the lock as for a crash. */
	return ret == 0 ? 0 : ret == -EUSERS ? 1 : 2;
}

int main(void)
{
	struct mg_invite_record r;
	struct mg_state st;
	char dir[PATH_MAX], err[512];
	int wins = 0, losses = 0, status;
	pid_t pids[RACERS];

	CHECK_EQ(mg_crypto_init(), 0);
	sd_make(dir);
	memset(&r, 0, sizeof(r));
	mg_random_bytes(r.id, sizeof(r.id));
	mg_random_bytes(r.secret, sizeof(r.secret));
	r.expiry = SD_T0 + 60;
	r.uses = 1;
	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_save(&st, &r, err, sizeof(err)), 0);
	mg_state_close(&st);

	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(consume_once(dir, r.id));
	}
	for (int i = 0; i < RACERS; i++) {
		CHECK_EQ(waitpid(pids[i], &status, 0), pids[i]);
		CHECK(WIFEXITED(status));
		wins += WEXITSTATUS(status) == 0;
		losses += WEXITSTATUS(status) == 1;
	}
	CHECK_EQ(wins, 1);
	CHECK_EQ(losses, RACERS - 1);

	CHECK_EQ(mg_state_open(&st, dir, MG_STATE_LOCK, err, sizeof(err)), 0);
	CHECK_EQ(mg_state_invite_load(&st, r.id, &r, err, sizeof(err)), 0);
	CHECK_EQ(r.used, 1);
	mg_state_close(&st);
	mg_invite_record_wipe(&r);
	sd_remove(dir);
	mg_test_pass("mesh_state_invite_race");
	return 0;
}
