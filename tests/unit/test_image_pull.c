/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of image_pull(): the fixture image served by a fake registry in this process. */
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "image/pull.h"
#include "image/store.h"
#include "import_fixture.h"

/* How the fake registry departs from a good one; all zero serves the image as it is. */
enum mode {
	GOOD,
	LIE_DIGEST,    /* the manifest's Docker-Content-Digest names other bytes */
	BAD_LAYER,     /* the second layer's bytes changed, its length kept */
	FAIL_LAYER,    /* 500 for the second layer */
	MANIFEST_ONLY, /* the tag names the manifest, not the index */
};

struct t {
	char dir[64];
	struct store *st;
	struct fx_image im;
	struct MHD_Daemon *d;
	unsigned port;
	enum mode mode;
	int blob_gets; /* blob requests seen (the server's thread writes it) */
	char ref[128];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const void *body, size_t len, const char *digest)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	if (digest)
		MHD_add_response_header(r, "Docker-Content-Digest", digest);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result not_found(struct MHD_Connection *c)
{
	static const char body[] = "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"no\"}]}";

	return reply(c, 404, "application/json", body, strlen(body), NULL);
}

static enum MHD_Result manifest(struct t *t, struct MHD_Connection *c, const char *ref)
{
	const struct fx_blob *m = &t->im.manifest, *ix = &t->im.index;

	if (!strcmp(ref, m->digest) || (!strcmp(ref, FX_REF_NAME) && t->mode == MANIFEST_ONLY))
		return reply(c, 200, "application/vnd.oci.image.manifest.v1+json", m->data, m->len,
			     t->mode == LIE_DIGEST ? ix->digest : m->digest);
	if (!strcmp(ref, FX_REF_NAME) || !strcmp(ref, ix->digest))
		return reply(c, 200, "application/vnd.oci.image.index.v1+json", ix->data, ix->len,
			     ix->digest);
	return not_found(c);
}

static enum MHD_Result blob(struct t *t, struct MHD_Connection *c, const char *digest)
{
	const struct fx_blob *b[] = {&t->im.config, &t->im.layer[0], &t->im.layer[1]};
	enum MHD_Result ret;
	char *copy;

	__atomic_add_fetch(&t->blob_gets, 1, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(digest, b[i]->digest))
			continue;
		if (i == 2 && t->mode == FAIL_LAYER)
			return reply(c, 500, "text/plain", "down", 4, NULL);
		if (i < 2 || t->mode != BAD_LAYER)
			return reply(c, 200, "application/octet-stream", b[i]->data, b[i]->len,
				     NULL);
		copy = malloc(b[i]->len);
		memcpy(copy, b[i]->data, b[i]->len);
		copy[b[i]->len / 2] ^= 1;
		ret = reply(c, 200, "application/octet-stream", copy, b[i]->len, NULL);
		free(copy);
		return ret;
	}
	return not_found(c);
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_len, void **state)
{
	static const char repo[] = "/v2/fx/app/";

	(void)method, (void)version, (void)upload, (void)upload_len, (void)state;
	if (!strncmp(url, repo, strlen(repo)) && !strncmp(url + strlen(repo), "manifests/", 10))
		return manifest(cls, c, url + strlen(repo) + 10);
	if (!strncmp(url, repo, strlen(repo)) && !strncmp(url + strlen(repo), "blobs/", 6))
		return blob(cls, c, url + strlen(repo) + 6);
	return not_found(c);
}

static int setup(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct fx_opts o = {.index_platform = true};
	struct t *t = calloc(1, sizeof(*t));
	char p[128];

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_image_pull.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(p, sizeof(p), "%s/store", t->dir);
	assert_int_equal(store_open(p, &t->st, NULL), 0);
	fx_make(&t->im, &o);
	t->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve, t,
				MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
	assert_non_null(t->d);
	t->port = MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_BIND_PORT)->port;
	snprintf(t->ref, sizeof(t->ref), "127.0.0.1:%u/fx/app:" FX_REF_NAME, t->port);
	*state = t;
	return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct t *t = *state;

	MHD_stop_daemon(t->d);
	store_close(t->st);
	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fx_free(&t->im);
	free(t);
	return 0;
}

static const struct registry_opts insecure = {.insecure = 1, .stall_timeout_s = 5};

/* Pulls (ref) expecting (rc); on failure, that (e) says (msg), the store is as it was. */
static void pull_fails(struct t *t, const char *ref, int rc, const char *msg)
{
	int before = fx_store_blobs(t->st);
	struct import_result res;
	struct img_err e;
	char digest[DIGEST_BUF_LEN];

	assert_int_equal(image_pull(t->st, ref, NULL, &insecure, NULL, &res, &e), rc);
	if (!strstr(e.msg, msg))
		fail_msg("error '%s' does not say '%s'", e.msg, msg);
	assert_int_equal(fx_store_blobs(t->st), before);
	assert_int_equal(store_ref_get(t->st, t->ref, digest, NULL), -ENOENT);
	assert_int_equal(res.bytes_written, 0);
}

/* Through the index to the manifest, every blob stored; again, nothing fetched but manifests. */
static void test_pull_and_again(void **state)
{
	struct t *t = *state;
	struct import_result res;
	char digest[DIGEST_BUF_LEN];
	struct img_err e;
	uint64_t size =
		t->im.config.len + t->im.layer[0].len + t->im.layer[1].len + t->im.manifest.len;

	assert_int_equal(image_pull(t->st, t->ref, NULL, &insecure, NULL, &res, &e), 0);
	assert_int_equal(res.format, IMPORT_REGISTRY);
	assert_string_equal(res.ref, t->ref);
	assert_string_equal(res.manifest, t->im.manifest.digest);
	assert_string_equal(res.config, t->im.config.digest);
	assert_int_equal(res.layers, 2);
	assert_int_equal(res.bytes_written, size);
	assert_int_equal(fx_store_blobs(t->st), 4);
	assert_int_equal(store_ref_get(t->st, t->ref, digest, NULL), 0);
	assert_string_equal(digest, t->im.manifest.digest);
	assert_int_equal(t->blob_gets, 3);

	assert_int_equal(image_pull(t->st, t->ref, "again:1", &insecure, NULL, &res, &e), 0);
	assert_int_equal(res.bytes_written, 0);
	assert_int_equal(res.bytes_skipped, size);
	assert_string_equal(res.ref, "again:1");
	assert_int_equal(t->blob_gets, 3);
}

/* By digest, the name as given; without a tag, ":latest" is added (and is unknown). */
static void test_by_digest(void **state)
{
	struct t *t = *state;
	struct import_result res;
	struct img_err e;
	char ref[256];

	snprintf(ref, sizeof(ref), "127.0.0.1:%u/fx/app@%s", t->port, t->im.manifest.digest);
	assert_int_equal(image_pull(t->st, ref, NULL, &insecure, NULL, &res, &e), 0);
	assert_string_equal(res.ref, ref);
	snprintf(ref, sizeof(ref), "127.0.0.1:%u/fx/app", t->port);
	assert_int_equal(image_pull(t->st, ref, NULL, &insecure, NULL, &res, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "404 BLOB_UNKNOWN for fx/app:latest"));
	t->mode = MANIFEST_ONLY;
	assert_int_equal(image_pull(t->st, t->ref, NULL, &insecure, NULL, &res, &e), 0);
	assert_string_equal(res.manifest, t->im.manifest.digest);
}

/* Bytes that are not what their digest says: nothing stays, no reference. */
static void test_lies(void **state)
{
	struct t *t = *state;

	t->mode = LIE_DIGEST;
	pull_fails(t, t->ref, -EBADMSG, "the registry says Docker-Content-Digest");
	t->mode = BAD_LAYER;
	pull_fails(t, t->ref, -EBADMSG, "layer 2 of 2: ");
	t->mode = FAIL_LAYER;
	pull_fails(t, t->ref, -EIO, "layer 2 of 2: registry 127.0.0.1:");
}

/* Limits are checked before a layer is fetched. */
static void test_limits(void **state)
{
	struct t *t = *state;
	struct import_opts o = {.max_blob = 16};
	struct import_result res;
	struct img_err e;

	assert_int_equal(image_pull(t->st, t->ref, NULL, &insecure, &o, &res, &e), -EFBIG);
	assert_non_null(strstr(e.msg, "more than the limit of 16"));
	assert_int_equal(t->blob_gets, 1); /* the config only */
	assert_int_equal(fx_store_blobs(t->st), 0);
}

/* An index without linux/amd64. */
static void test_platform(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.index_platform = true, .arch = "arm64"};

	fx_free(&t->im);
	fx_make(&t->im, &o);
	pull_fails(t, t->ref, -ENOENT, "linux/arm64");
}

/* What is refused before anything is sent. */
static void test_check(void **state)
{
	struct registry_opts ro = {.insecure = 1};
	struct img_err e;
	char host[REF_NAME_MAX + 1];

	(void)state;
	assert_int_equal(image_pull_check("localhost:5000/a:1", &ro, host, &e), 0);
	assert_string_equal(host, "localhost:5000");
	assert_int_equal(image_pull_check("example.com/a:1", &ro, host, &e), -EPERM);
	assert_non_null(strstr(e.msg, "only for localhost"));
	assert_int_equal(image_pull_check("busybox", &ro, host, &e), -EPERM);
	assert_int_equal(image_pull_check("busybox", NULL, host, &e), 0);
	assert_string_equal(host, REF_DOCKER_HUB);
	assert_int_equal(image_pull_check("Bad/Ref::", NULL, host, &e), -EINVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pull_and_again), T(test_by_digest), T(test_lies),
		T(test_limits),		T(test_platform),  T(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
