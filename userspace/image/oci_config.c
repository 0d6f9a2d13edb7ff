/* SPDX-License-Identifier: Apache-2.0 */
/* The image config: its platform, what the container runs (argv, env, user, ...), its diff_ids. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci_json.h"

/* Go's encoding/json writes absent slices and maps as null: the same as missing. */
static const json_t *member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

static int env_check(const struct oci_strv *env, struct img_err *e)
{
	char p[OJ_PATH_MAX];

	for (size_t i = 0; i < env->n; i++) {
		const char *eq = strchr(env->v[i], '=');

		if (!eq || eq == env->v[i])
			return img_fail(e, -EINVAL, "%s: must be KEY=VALUE",
					oj_at(p, "config.Env", i));
	}
	return 0;
}

/* "6379/tcp", "53/udp", "80" (docker's default: tcp). */
static int port_parse(const char *key, struct oci_port *out)
{
	static const char *const protos[] = {"tcp", "udp", "sctp"};
	unsigned long port = 0;
	const char *s = key;

	for (; *s >= '0' && *s <= '9' && s - key < 5; s++)
		port = port * 10 + (unsigned long)(*s - '0');
	if (s == key || port < 1 || port > 65535 || (*s && *s != '/'))
		return -EINVAL;
	out->port = (uint16_t)port;
	out->proto = OCI_PROTO_TCP;
	if (!*s)
		return 0;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcmp(s + 1, protos[i])) {
			out->proto = (enum oci_proto)i;
			return 0;
		}
	return -EINVAL;
}

/* Adds (port) to (c) once: "80" and "80/tcp" are the same port. */
static void port_add(struct oci_config *c, const struct oci_port *port)
{
	for (size_t j = 0; j < c->nports; j++)
		if (c->ports[j].port == port->port && c->ports[j].proto == port->proto)
			return;
	c->ports[c->nports++] = *port;
}

static int ports_parse(const json_t *v, struct oci_config *c, struct img_err *e)
{
	char p[OJ_PATH_MAX];
	struct oci_port port;
	const char *key;
	size_t i = 0;
	json_t *m;
	int rc;

	if (!v)
		return 0;
	if ((rc = oj_object(v, "config.ExposedPorts", e)))
		return rc;
	if (json_object_size(v) > OCI_PORTS_MAX)
		return img_fail(e, -E2BIG, "config.ExposedPorts: more than %d ports",
				OCI_PORTS_MAX);
	json_object_foreach((json_t *)v, key, m)
	{
		/* The key's text is hostile: the error names its position. */
		if (port_parse(key, &port))
			return img_fail(e, -EINVAL,
					"%s: must be PORT, PORT/tcp, PORT/udp or PORT/sctp",
					oj_at(p, "config.ExposedPorts", i));
		port_add(c, &port);
		i++;
	}
	return 0;
}

static int workdir_parse(const json_t *v, struct oci_config *c, struct img_err *e)
{
	int rc = oj_str_opt(v, "config.WorkingDir", c->workdir, sizeof(c->workdir), e);

	if (!rc && c->workdir[0] && c->workdir[0] != '/')
		rc = img_fail(e, -EINVAL, "config.WorkingDir: must be an absolute path");
	return rc;
}

/* The "config" member: what the container runs. All of it is optional. */
static int run_parse(const json_t *v, struct oci_config *c, struct img_err *e)
{
	if (!v)
		return 0;
	return oj_object(v, "config", e)
		       ?: oj_strv(member(v, "Entrypoint"), "config.Entrypoint", OCI_ARGS_MAX,
				  OCI_ARG_MAX, &c->entrypoint, e)
		       ?: oj_strv(member(v, "Cmd"), "config.Cmd", OCI_ARGS_MAX, OCI_ARG_MAX,
				  &c->cmd, e)
		       ?: oj_strv(member(v, "Env"), "config.Env", OCI_ENV_MAX, OCI_ENV_ENTRY_MAX,
				  &c->env, e)
		       ?: env_check(&c->env, e) ?: workdir_parse(member(v, "WorkingDir"), c, e)
		       ?: oj_str_opt(member(v, "User"), "config.User", c->user, sizeof(c->user), e)
		       ?: ports_parse(member(v, "ExposedPorts"), c, e);
}

/* A layer's diff_id (oj_each_fn): the digest of its uncompressed tar. */
static int diff_id(const json_t *v, const char *path, size_t i, void *arg, struct img_err *e)
{
	struct oci_config *c = arg;

	c->ndiff_ids = i + 1;
	return oj_digest(v, path, c->diff_ids[i], e);
}

static int rootfs_parse(const json_t *v, struct oci_config *c, struct img_err *e)
{
	char type[16];
	int rc = oj_object(v, "rootfs", e)
			 ?: oj_str(json_object_get(v, "type"), "rootfs.type", type, sizeof(type),
				   false, e);

	if (!rc && strcmp(type, "layers"))
		rc = img_fail(e, -EINVAL, "rootfs.type: must be \"layers\"");
	return rc
		       ?: oj_each(json_object_get(v, "diff_ids"), "rootfs.diff_ids", OCI_LAYERS_MAX,
				  0, NULL, diff_id, c, e);
}

static int config_members(const json_t *root, void *out, struct img_err *e)
{
	struct oci_config *c = out;
	int rc;

	rc = oj_object(root, "image config", e)
		       ?: oj_platform(root, "", &c->platform, e)
		       ?: run_parse(member(root, "config"), c, e)
		       ?: rootfs_parse(json_object_get(root, "rootfs"), c, e);
	if (rc) /* what was parsed before the error */
		oci_config_free(c);
	return rc;
}

int oci_config_parse(const void *buf, size_t len, struct oci_config *c, struct img_err *e)
{
	memset(c, 0, sizeof(*c));
	return oj_parse(buf, len, OCI_CONFIG_MAX, "image config", config_members, c, e);
}

void oci_config_free(struct oci_config *c)
{
	oci_strv_free(&c->entrypoint);
	oci_strv_free(&c->cmd);
	oci_strv_free(&c->env);
	memset(c, 0, sizeof(*c));
}

int oci_config_check_layers(const struct oci_config *c, const struct oci_manifest *m,
			    struct img_err *e)
{
	if (c->ndiff_ids != m->nlayers)
		return img_fail(e, -EINVAL,
				"rootfs.diff_ids: %zu entries for the manifest's %zu layers",
				c->ndiff_ids, m->nlayers);
	return 0;
}

int oci_config_check_platform(const struct oci_config *c, const char *os, const char *arch,
			      struct img_err *e)
{
	if (strcmp(c->platform.os, os) || strcmp(c->platform.architecture, arch))
		return img_fail(e, -ENOEXEC, "image config: for %s/%s, not %s/%s", c->platform.os,
				c->platform.architecture, os, arch);
	return 0;
}
