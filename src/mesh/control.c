/* The control socket's request parser (see control.h). */
#include "mesh/control.h"

#include <errno.h>
#include <string.h>

static bool name_ok(const char *s, size_t n, const char *extra)
{
	if (n == 0 || n > MG_CONTROL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(extra && strchr(extra, s[i]) && s[i]))
			return false;
	return true;
}

static int parse_pair(struct mg_control_request *r, const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n);
	struct mg_control_pair *p;
	size_t klen;

	if (!eq || r->n_pairs == MG_CONTROL_PAIRS_MAX)
		return -EINVAL;
	klen = (size_t)(eq - line);
	if (!name_ok(line, klen, "_") || n - klen - 1 > MG_CONTROL_VALUE_MAX ||
	    memchr(eq + 1, '\0', n - klen - 1))
		return -EINVAL;
	p = &r->pairs[r->n_pairs++];
	p->key = line;
	p->key_len = klen;
	p->value = eq + 1;
	p->value_len = n - klen - 1;
	return 0;
}

int mg_control_parse(struct mg_control_request *r, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t n;

	memset(r, 0, sizeof(*r));
	nl = memchr(p, '\n', len);
	if (!nl)
		return len > MG_CONTROL_NAME_MAX ? -EINVAL : -ENODATA;
	n = (size_t)(nl - p);
	if (!name_ok(p, n, NULL))
		return -EINVAL;
	memcpy(r->command, p, n);
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return (size_t)(end - p) > MG_CONTROL_NAME_MAX + 1 + MG_CONTROL_VALUE_MAX
				       ? -EINVAL
				       : -ENODATA;
		if (nl == p)
			return (int)(nl + 1 - buf);
		if (parse_pair(r, p, (size_t)(nl - p)) < 0)
			return -EINVAL;
	}
	return -ENODATA;
}

bool mg_control_get(const struct mg_control_request *r, const char *key, size_t *from, char *out,
		    size_t cap)
{
	size_t klen = strlen(key);

	for (size_t i = from ? *from : 0; i < r->n_pairs; i++) {
		const struct mg_control_pair *p = &r->pairs[i];

		if (p->key_len != klen || memcmp(p->key, key, klen))
			continue;
		if (p->value_len >= cap)
			return false;
		memcpy(out, p->value, p->value_len);
		out[p->value_len] = '\0';
		if (from)
			*from = i + 1;
		return true;
	}
	return false;
}
