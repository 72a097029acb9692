/* What the mesh calls of meshguard.h (mesh_api.c) share inside src/node. */
#ifndef MG_NODE_MESH_API_H
#define MG_NODE_MESH_API_H

#include "meshguard.h"

#include <stdint.h>

/* A state error (state.h, admin.h; its message in text) as a result. */
enum mg_mesh_result mg_mesh_state_result(int err, const char *text, char *msg, size_t msglen);
uint64_t mg_mesh_wall_now(void);
/* One request to the node running dir (control socket): -ENOENT when none
 * runs, else the reply's result with its message in msg and *payload
 * pointing into *reply (free() it). */
int mg_mesh_control(const char *dir, const char *request, char **reply, char **payload, char *msg,
		    size_t msglen);

#endif
