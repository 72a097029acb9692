#include "cli/runner.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void on_node_closed(struct mg_node *node, void *user)
{
	struct mg_cli_runner *r = user;

	(void)node;
	r->node = NULL;
	r->closed = true;
	if (r->sigint.loop && !uv_is_closing((uv_handle_t *)&r->sigint))
		uv_close((uv_handle_t *)&r->sigint, NULL);
	if (r->sigterm.loop && !uv_is_closing((uv_handle_t *)&r->sigterm))
		uv_close((uv_handle_t *)&r->sigterm, NULL);
}

static void stop(struct mg_cli_runner *r)
{
	if (r->node)
		mg_node_close(r->node, on_node_closed);
}

void mg_cli_runner_on_event(void *user, const struct mg_event *e)
{
	if (e->type == MG_EVENT_STOPPED)
		stop(user);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct mg_cli_runner *r = s->data;

	fprintf(stderr, "received %s, shutting down\n", strsignal(signum));
	stop(r);
}

int mg_cli_runner_init(struct mg_cli_runner *r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	/* A UAPI client that hangs up early must cost that connection, not
	 * the process: the library sends with MSG_NOSIGNAL, and this keeps
	 * any other write of the program's safe as well. */
	signal(SIGPIPE, SIG_IGN);
	ret = uv_loop_init(&r->loop);
	r->loop_ready = ret == 0;
	return ret;
}

static int watch_signals(struct mg_cli_runner *r)
{
	int ret;

	r->sigint.data = r->sigterm.data = r;
	ret = uv_signal_init(&r->loop, &r->sigint);
	if (ret == 0)
		ret = uv_signal_init(&r->loop, &r->sigterm);
	if (ret == 0)
		ret = uv_signal_start(&r->sigint, on_signal, SIGINT);
	if (ret == 0)
		ret = uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	return ret;
}

int mg_cli_runner_run(struct mg_cli_runner *r)
{
	int ret = mg_node_start(r->node);

	if (ret == 0)
		ret = watch_signals(r);
	if (ret < 0) {
		fprintf(stderr, "meshguard: cannot start the event loop: %s\n", strerror(-ret));
		stop(r);
	}
	uv_run(&r->loop, UV_RUN_DEFAULT);
	return ret;
}

void mg_cli_runner_close(struct mg_cli_runner *r)
{
	if (!r->loop_ready)
		return;
	stop(r);
	if (r->sigint.loop && !uv_is_closing((uv_handle_t *)&r->sigint))
		uv_close((uv_handle_t *)&r->sigint, NULL);
	if (r->sigterm.loop && !uv_is_closing((uv_handle_t *)&r->sigterm))
		uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	uv_loop_close(&r->loop);
	r->loop_ready = false;
}
