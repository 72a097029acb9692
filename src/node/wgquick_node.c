/* A parsed wg-quick file applied to a node: the keys and peers through the
 * node's UAPI (as `wg setconf`), the kernel side through
 * mg_node_configure_interface (as wg-quick). The translations themselves
 * are in wgquick_api.c. */
#include "meshguard.h"

#include "node/wgquick.h"

#include <errno.h>
#include <stdlib.h>

int mg_node_apply_wgquick(struct mg_node *node, const struct mg_wgquick *q)
{
	char *request, *reply = NULL;
	size_t len;
	int ret = mg_config_uapi_text(&q->config, &request, &len);

	if (ret < 0)
		return ret;
	ret = mg_node_uapi(node, request, len, &reply);
	mg_node_uapi_free(reply);
	/* The request holds the private and preshared keys. */
	mg_secret_wipe(request, len);
	free(request);
	return ret;
}

int mg_node_configure_wgquick_interface(struct mg_node *node, const struct mg_wgquick *q)
{
	struct mg_interface_config c = MG_INTERFACE_CONFIG_INIT;
	void *storage;
	int ret = mg_config_interface(&q->config, &c, &storage);

	if (ret < 0)
		return ret;
	ret = mg_node_configure_interface(node, &c);
	free(storage);
	return ret;
}
