/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's pulls: a registry reference checked and queued as an image job, pulled in its child. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emberd.h"
#include "image/pull.h"

/*
 * What a pull job needs beyond an import's: the registry's options. The
 * credentials live here only: in emberd's memory from the POST until the
 * job's child is forked (the child has its copy), then wiped; never in a
 * log line, a job's JSON or a file.
 */
struct image_pull {
	char ref[API_IMAGE_REF_MAX + 1];
	bool insecure;
	unsigned int stall_s; /* 0: the client's default */
	char user[API_REGISTRY_USER_MAX + 1];
	char pass[API_REGISTRY_PASS_MAX + 1];
	bool auth; /* user and pass were given */
};

int images_pull(void *ctx, const struct api_image_pull *p, struct api_reply *rep)
{
	struct emberd *d = ctx;
	struct registry_opts ro = {
		.insecure = p->insecure, .username = p->username, .password = p->password};
	struct image_pull *ip;
	struct img_err e;
	int rc;

	/* Refused now, not in the job: a reference that does not parse or
	 * plain HTTP to another host is the request's fault (400). */
	rc = image_pull_check(p->ref, &ro, NULL, &e);
	if (rc)
		return api_error(rep, 400, rc == -EPERM ? "insecure" : "pull", "%s", e.msg);
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return api_error(rep, 500, NULL, "out of memory");
	snprintf(ip->ref, sizeof(ip->ref), "%s", p->ref);
	ip->insecure = p->insecure;
	ip->stall_s = d->o.pull_stall_s;
	ip->auth = p->username != NULL;
	if (ip->auth) {
		snprintf(ip->user, sizeof(ip->user), "%s", p->username);
		snprintf(ip->pass, sizeof(ip->pass), "%s", p->password);
	}
	return images_queue(d, p->ref, p->name, ip, rep);
}

void image_pull_forget(struct image_pull *p)
{
	if (p) {
		explicit_bzero(p->user, sizeof(p->user));
		explicit_bzero(p->pass, sizeof(p->pass));
	}
}

void image_pull_free(struct image_pull *p)
{
	image_pull_forget(p);
	free(p);
}

void image_pull_json(const struct image_pull *p, json_t *job)
{
	json_object_set_new(job, "pull", json_string(p->ref));
	json_object_set_new(job, "insecure", json_boolean(p->insecure));
}

int image_pull_run(struct store *st, const struct image_pull *p, const char *name,
		   const struct import_opts *io, struct import_result *ir, struct img_err *e)
{
	struct registry_opts ro = {.insecure = p->insecure,
				   .username = p->auth ? p->user : NULL,
				   .password = p->auth ? p->pass : NULL,
				   .stall_timeout_s = p->stall_s};

	return image_pull(st, p->ref, name, &ro, io, ir, e);
}
