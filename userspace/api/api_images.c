// SPDX-License-Identifier: Apache-2.0
/* The bodies of POST /v1/images checked before the backend sees them: an import or a pull. */
#include "api_internal.h"

#include <stdio.h>
#include <string.h>

int api_image_ref_check(const char *ref)
{
	size_t n = strlen(ref);

	if (!n || n > API_IMAGE_REF_MAX)
		return -1;
	for (const char *p = ref; *p; p++)
		if (*p <= ' ' || *p > '~')
			return -1;
	return 0;
}

/* A string member of (j), NULL when absent; -1 after a 400 when not a string
 * without NUL bytes. */
static int body_string(json_t *j, const char *key, const char **out, struct api_reply *rep)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return api_error(rep, 400, key, "%s: must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return true;
	return false;
}

/*
 * The credentials, both or neither. A value is never quoted back: the
 * answer may end up in a log. Control characters are refused, a newline
 * above all (a password file's last line, read with it).
 */
static int credentials(const struct api_image_pull *p, struct api_reply *rep)
{
	if (!p->username != !p->password)
		return api_error(rep, 400, p->username ? "password" : "username",
				 "username, password: give both or neither");
	if (!p->username)
		return 0;
	if (!p->username[0] || strlen(p->username) > API_REGISTRY_USER_MAX ||
	    has_control(p->username) || strchr(p->username, ':'))
		return api_error(rep, 400, "username",
				 "username: must be 1-%d characters without ':' or control "
				 "characters",
				 API_REGISTRY_USER_MAX);
	if (!p->password[0] || strlen(p->password) > API_REGISTRY_PASS_MAX ||
	    has_control(p->password))
		return api_error(rep, 400, "password",
				 "password: must be 1-%d bytes without control characters",
				 API_REGISTRY_PASS_MAX);
	return 0;
}

/* {"pull": REF, "name": REF, "insecure": BOOL, "username": U, "password": P}. */
static int pull_check(json_t *j, struct api_image_post *p, struct api_reply *rep)
{
	json_t *insecure = json_object_get(j, "insecure");

	p->pull.name = p->name;
	if (body_string(j, "username", &p->pull.username, rep) ||
	    body_string(j, "password", &p->pull.password, rep))
		return -1;
	if (api_image_ref_check(p->pull.ref))
		return api_error(rep, 400, "pull",
				 "pull: must be a reference of 1-%d printable ASCII characters "
				 "without spaces",
				 API_IMAGE_REF_MAX);
	if (insecure && !json_is_boolean(insecure))
		return api_error(rep, 400, "insecure", "insecure: must be true or false");
	p->pull.insecure = json_is_true(insecure);
	return credentials(&p->pull, rep);
}

/* {"import": PATH, "name": REF}: nothing of a pull. */
static int import_check(json_t *j, struct api_image_post *p, struct api_reply *rep)
{
	static const char *const pull_only[] = {"insecure", "username", "password"};

	for (size_t i = 0; i < sizeof(pull_only) / sizeof(pull_only[0]); i++)
		if (json_object_get(j, pull_only[i]))
			return api_error(rep, 400, pull_only[i], "%s: only for a pull",
					 pull_only[i]);
	if (p->import[0] != '/' || strlen(p->import) > API_IMAGE_PATH_MAX)
		return api_error(rep, 400, "import",
				 "import: must be an absolute path of at most %d bytes",
				 API_IMAGE_PATH_MAX);
	return 0;
}

int api_image_post_check(json_t *j, struct api_image_post *p, struct api_reply *rep)
{
	static const char *const known[] = {"import",	"pull",	    "name",
					    "insecure", "username", "password"};
	const char *key;
	json_t *v;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(j))
		return api_error(rep, 400, NULL, "the body must be a JSON object");
	json_object_foreach(j, key, v)
	{
		size_t i = 0;

		while (i < sizeof(known) / sizeof(known[0]) && strcmp(key, known[i]))
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			return api_error(rep, 400, key, "%.64s: unknown field", key);
	}
	if (body_string(j, "import", &p->import, rep) ||
	    body_string(j, "pull", &p->pull.ref, rep) || body_string(j, "name", &p->name, rep))
		return -1;
	if (p->name && api_image_ref_check(p->name))
		return api_error(rep, 400, "name",
				 "name: must be 1-%d printable ASCII characters without spaces",
				 API_IMAGE_REF_MAX);
	if (p->import && p->pull.ref)
		return api_error(rep, 400, "pull",
				 "import, pull: give a path to import or a reference to pull, not "
				 "both");
	if (p->pull.ref)
		return pull_check(j, p, rep);
	if (!p->import)
		return api_error(rep, 400, "import",
				 "import: the path of the image to import (or pull: the "
				 "reference of one to pull) is required");
	return import_check(j, p, rep);
}
