/* The control messages' header (see ctl.h). */
#include "mesh/ctl.h"

int mg_ctl_parse_header(const uint8_t *buf, size_t len)
{
	if (len < MG_CTL_HEADER_LEN || len > MG_CTL_MAX_LEN || buf[0] != MG_CTL_MAGIC)
		return -MG_MESH_EMALFORMED;
	if (buf[1] != MG_CTL_VERSION)
		return -MG_MESH_EVERSION;
	if (buf[3] != 0 || buf[2] == 0)
		return -MG_MESH_EMALFORMED;
	return buf[2];
}

void mg_ctl_start(struct mg_mesh_buf *b, uint8_t *out, uint8_t type)
{
	b->p = out;
	b->r = NULL;
	b->left = MG_CTL_MAX_LEN;
	b->bad = false;
	mg_mesh_put_u8(b, MG_CTL_MAGIC);
	mg_mesh_put_u8(b, MG_CTL_VERSION);
	mg_mesh_put_u8(b, type);
	mg_mesh_put_u8(b, 0);
}

int mg_ctl_finish(const struct mg_mesh_buf *b, const uint8_t *out)
{
	if (b->bad)
		return -MG_MESH_ETOOBIG;
	return (int)(b->p - out);
}
