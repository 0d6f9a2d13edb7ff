/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of image_import(): one image in three forms imported alike, hostile ones refused. */
#include <errno.h>
#include <ftw.h>
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

#include "image/import.h"
#include "image/oci.h"
#include "image/store.h"
#include "import_fixture.h"

#define NAME "fx/app:v1"

struct t {
	char dir[64];
	struct store *st;
	struct fx_image im;
	char path[3][128]; /* scratch paths under dir */
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	char p[128];

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_image_import.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(p, sizeof(p), "%s/store", t->dir);
	assert_int_equal(store_open(p, &t->st, NULL), 0);
	fx_make(&t->im, NULL);
	*state = t;
	return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	chmod(p, 0700); /* blobs are 0444; their directory needs no help, but be sure */
	return remove(p);
}

static int teardown(void **state)
{
	struct t *t = *state;

	store_close(t->st);
	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fx_free(&t->im);
	free(t);
	return 0;
}

/* (t)'s scratch path (i): DIR/(name). */
static const char *at(struct t *t, int i, const char *name)
{
	char p[sizeof(t->path[i])]; /* (name) never is t's, but the compiler cannot tell */

	snprintf(p, sizeof(p), "%s/%s", t->dir, name);
	memcpy(t->path[i], p, sizeof(p));
	return t->path[i];
}

/* Replaces the fixture with one made with (o). */
static void remake(struct t *t, const struct fx_opts *o)
{
	fx_free(&t->im);
	fx_make(&t->im, o);
}

static void import_ok(struct t *t, const char *path, const char *name, struct import_result *res)
{
	struct img_err e = {""};
	int rc = image_import(t->st, path, name, NULL, res, &e);

	if (rc)
		fail_msg("import %s: %d: %s", path, rc, e.msg);
}

/* (path) refused with (why) in the message; the store's blobs and references unchanged. */
static void refused(struct t *t, const char *path, const struct import_opts *o, const char *why)
{
	struct import_result res;
	struct img_err e = {""};
	char d[DIGEST_BUF_LEN];
	int before = fx_store_blobs(t->st), rc = image_import(t->st, path, NAME, o, &res, &e);

	if (rc >= 0 || !strstr(e.msg, why))
		fail_msg("import %s: %d \"%s\", expected a refusal saying \"%s\"", path, rc, e.msg,
			 why);
	print_message("refused: %s\n", e.msg);
	assert_int_equal(fx_store_blobs(t->st), before);
	assert_int_equal(store_ref_get(t->st, NAME, d, NULL), -ENOENT);
	assert_string_equal(res.ref, "");
}

static uint64_t image_bytes(const struct fx_image *im)
{
	return im->layer[0].len + im->layer[1].len + im->config.len + im->manifest.len;
}

/* ---- good images ---- */

struct prog {
	unsigned calls, last_layer;
	uint64_t last_done, last_total;
};

static void progress(void *ctx, unsigned layer, unsigned layers, uint64_t done, uint64_t total)
{
	struct prog *p = ctx;

	assert_int_equal(layers, 2);
	assert_true(done <= total);
	if (layer == p->last_layer) /* each call of a layer a MiB or more after the one before */
		assert_true(done == total || done >= p->last_done + (1 << 20));
	p->calls++;
	p->last_layer = layer;
	p->last_done = done;
	p->last_total = total;
}

static void test_layout_import(void **state)
{
	struct t *t = *state;
	struct prog p = {0};
	struct import_opts o = {.progress = progress, .progress_ctx = &p};
	struct import_result res;
	struct img_err e = {""};
	char d[DIGEST_BUF_LEN], *m;

	fx_layout(&t->im, at(t, 0, "layout"));
	assert_int_equal(image_import(t->st, t->path[0], NAME, &o, &res, &e), 0);
	assert_int_equal(res.format, IMPORT_OCI_LAYOUT);
	assert_string_equal(res.ref, NAME);
	assert_string_equal(res.manifest, t->im.manifest.digest);
	assert_string_equal(res.config, t->im.config.digest);
	assert_int_equal(res.layers, 2);
	assert_int_equal(res.bytes_written, image_bytes(&t->im));
	assert_int_equal(res.bytes_skipped, 0);
	assert_int_equal(p.calls, 2); /* small layers: one call each, when it is in */
	assert_int_equal(p.last_layer, 2);
	assert_int_equal(p.last_done, t->im.layer[1].len);
	assert_int_equal(p.last_total, t->im.layer[1].len);

	assert_int_equal(store_ref_get(t->st, NAME, d, NULL), 0);
	assert_string_equal(d, t->im.manifest.digest);
	m = fx_store_read(t->st, d);
	assert_string_equal(m, t->im.manifest.data);
	free(m);

	/* Again: everything is there, nothing is copied. */
	assert_int_equal(image_import(t->st, t->path[0], NAME, &o, &res, &e), 0);
	assert_int_equal(res.bytes_written, 0);
	assert_int_equal(res.bytes_skipped, image_bytes(&t->im));
	assert_int_equal(fx_store_blobs(t->st), 4);
}

/* A 3 MiB layer is reported as it goes in: about a call a MiB, from both kinds of source. */
static void test_progress(void **state)
{
	struct t *t = *state;
	struct fx_opts fo = {.big = 3 << 20};
	struct prog p = {0};
	struct import_opts o = {.progress = progress, .progress_ctx = &p};

	remake(t, &fo);
	fx_layout(&t->im, at(t, 0, "layout"));
	fx_oci_archive(&t->im, at(t, 1, "oci.tar.gz"), true);
	assert_int_equal(image_import(t->st, t->path[1], NAME, &o, NULL, NULL), 0);
	assert_in_range(p.calls, 1 + 3, 1 + 4);
	assert_int_equal(p.last_done, t->im.layer[1].len);
	assert_int_equal(store_ref_del(t->st, NAME, NULL), 0);
	assert_int_equal(store_blob_remove(t->st, t->im.layer[1].digest, NULL), 0);
	p = (struct prog){0};
	assert_int_equal(image_import(t->st, t->path[0], NAME, &o, NULL, NULL), 0);
	assert_in_range(p.calls, 1 + 3, 1 + 4);
}

/* The docker import's manifest, read back: its layers are the diff_ids. */
static void docker_manifest_check(struct t *t, const struct import_result *res)
{
	struct oci_manifest m;
	char *buf = fx_store_read(t->st, res->manifest);

	assert_int_equal(oci_manifest_parse(buf, strlen(buf), &m, NULL), 0);
	assert_string_equal(m.media_type, OCI_MT_MANIFEST);
	assert_string_equal(m.config.digest, t->im.config.digest);
	assert_int_equal(m.nlayers, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(m.layers[i].media_type, OCI_MT_LAYER);
		assert_string_equal(m.layers[i].digest, t->im.tar[i].digest);
		assert_int_equal(m.layers[i].size, t->im.tar[i].len);
	}
	oci_manifest_free(&m);
	free(buf);
}

static void test_three_forms_agree(void **state)
{
	struct t *t = *state;
	struct import_result lay, arc, gz, dock, again;
	char cmd[512];

	fx_layout(&t->im, at(t, 0, "layout"));
	fx_oci_archive(&t->im, at(t, 1, "oci.tar"), false);
	fx_oci_archive(&t->im, at(t, 2, "oci.tar.gz"), true);
	import_ok(t, t->path[0], "a:1", &lay);
	import_ok(t, t->path[1], "b:1", &arc);
	import_ok(t, t->path[2], "c:1", &gz);
	assert_int_equal(arc.format, IMPORT_OCI_ARCHIVE);
	assert_string_equal(arc.manifest, lay.manifest);
	assert_string_equal(gz.manifest, lay.manifest);
	assert_int_equal(arc.bytes_written, 0);

	/* As a user would pack a layout: "./" names, directories. */
	snprintf(cmd, sizeof(cmd), "tar -C %s -cf %s .", t->path[0], at(t, 1, "by-hand.tar"));
	assert_int_equal(system(cmd), 0);
	import_ok(t, t->path[1], "e:1", &arc);
	assert_string_equal(arc.manifest, lay.manifest);

	fx_docker_archive(&t->im, at(t, 0, "docker.tar"));
	import_ok(t, t->path[0], "d:1", &dock);
	assert_int_equal(dock.format, IMPORT_DOCKER_ARCHIVE);
	assert_string_equal(dock.config, lay.config);
	assert_int_equal(dock.layers, 2);
	docker_manifest_check(t, &dock);
	import_ok(t, t->path[0], "d:1", &again);
	assert_string_equal(again.manifest, dock.manifest);
	assert_int_equal(again.bytes_written, 0);
}

/* docker save (25 and later) writes an OCI layout and manifest.json: the index wins. */
static void test_docker_save_both(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.docker_too = true};
	struct import_result res;

	remake(t, &o);
	fx_oci_archive(&t->im, at(t, 0, "both.tar"), false);
	import_ok(t, t->path[0], NULL, &res);
	assert_int_equal(res.format, IMPORT_OCI_ARCHIVE);
	assert_string_equal(res.manifest, t->im.manifest.digest);
}

/* docker save writes a layer it wrote already as a symlink to the first copy. */
static void test_docker_symlinked_layer(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.docker_link = "../real/layer.tar"};
	struct import_result res;

	remake(t, &o);
	fx_docker_archive(&t->im, at(t, 0, "docker.tar"));
	import_ok(t, t->path[0], NAME, &res);
	docker_manifest_check(t, &res);
}

static void test_names(void **state)
{
	struct t *t = *state;
	struct import_result res;
	struct fx_opts o = {.no_names = true};

	fx_layout(&t->im, at(t, 0, "layout"));
	import_ok(t, t->path[0], NULL, &res);
	assert_string_equal(res.ref, FX_REF_NAME);
	fx_docker_archive(&t->im, at(t, 1, "docker.tar"));
	import_ok(t, t->path[1], NULL, &res);
	assert_string_equal(res.ref, FX_REPO_TAG);
	import_ok(t, t->path[1], "renamed:2", &res); /* the only image, under another name */
	assert_string_equal(res.ref, "renamed:2");

	remake(t, &o);
	fx_docker_archive(&t->im, at(t, 2, "nameless.tar"));
	assert_int_equal(image_import(t->st, t->path[2], NULL, NULL, &res, NULL), -EINVAL);
}

/* A real docker-archive writer, offline: skopeo from the layout this test wrote. */
static void test_skopeo_docker_archive(void **state)
{
	struct t *t = *state;
	struct oci_config c;
	struct import_result res;
	char cmd[512], *buf;

	if (system("command -v skopeo >/dev/null 2>&1")) {
		print_message("skopeo is not installed: skipped\n");
		skip();
	}
	fx_layout(&t->im, at(t, 0, "layout"));
	snprintf(cmd, sizeof(cmd),
		 "skopeo --insecure-policy copy -q oci:%s:" FX_REF_NAME " docker-archive:%s:" NAME
		 " >%s 2>&1",
		 t->path[0], at(t, 1, "skopeo.tar"), at(t, 2, "skopeo.log"));
	if (system(cmd))
		fail_msg("%s failed (see its log)", cmd);
	import_ok(t, t->path[1], NULL, &res);
	assert_int_equal(res.format, IMPORT_DOCKER_ARCHIVE);
	/* skopeo writes the tag fully qualified: "docker.io/fx/app:v1". */
	assert_non_null(strstr(res.ref, NAME));
	buf = fx_store_read(t->st, res.config);
	assert_int_equal(oci_config_parse(buf, strlen(buf), &c, NULL), 0);
	assert_int_equal(c.ndiff_ids, 2);
	assert_string_equal(c.diff_ids[0], t->im.tar[0].digest);
	assert_string_equal(c.diff_ids[1], t->im.tar[1].digest);
	oci_config_free(&c);
	free(buf);
}

/* ---- hostile images ---- */

static void test_refuse_layer_bytes(void **state)
{
	struct t *t = *state;
	struct store_writer *w;
	char p[256];

	/* Layer 1 stored beforehand: it stays; layer 2 does not match its digest. */
	assert_int_equal(store_writer_open(t->st, t->im.layer[0].digest, -1, &w, NULL), 0);
	assert_int_equal(store_writer_write(w, t->im.layer[0].data, t->im.layer[0].len, NULL), 0);
	assert_int_equal(store_writer_commit(w, NULL, NULL), 0);
	fx_layout(&t->im, at(t, 0, "layout"));
	t->im.layer[1].data[100] ^= 1;
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", t->path[0], digest_hex(t->im.layer[1].digest));
	fx_write_file(p, t->im.layer[1].data, t->im.layer[1].len);
	refused(t, t->path[0], NULL, "digest mismatch");
	assert_true(store_has(t->st, t->im.layer[0].digest));
	assert_int_equal(fx_store_blobs(t->st), 1);
}

static void test_refuse_truncated(void **state)
{
	struct t *t = *state;
	struct stat sb;
	char p[256];

	fx_layout(&t->im, at(t, 0, "layout"));
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", t->path[0], digest_hex(t->im.layer[1].digest));
	assert_int_equal(truncate(p, (off_t)t->im.layer[1].len - 10), 0);
	refused(t, t->path[0], NULL, "the manifest says");

	fx_oci_archive(&t->im, at(t, 1, "oci.tar"), false);
	assert_int_equal(stat(t->path[1], &sb), 0);
	assert_int_equal(truncate(t->path[1], sb.st_size / 2), 0);
	refused(t, t->path[1], NULL, "runcated");
}

static void test_refuse_missing_blob(void **state)
{
	struct t *t = *state;
	char p[256];

	fx_layout(&t->im, at(t, 0, "layout"));
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", t->path[0], digest_hex(t->im.layer[0].digest));
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "manifest names blob %s which is not in the layout",
		 t->im.layer[0].digest);
	refused(t, t->path[0], NULL, p);
}

static void test_refuse_arm64(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.arch = "arm64", .index_platform = true};

	remake(t, &o);
	fx_layout(&t->im, at(t, 0, "layout"));
	refused(t, t->path[0], NULL, "no manifest for linux/amd64 (it has: linux/arm64)");
	o.index_platform = false; /* the index does not say: the config does */
	remake(t, &o);
	fx_oci_archive(&t->im, at(t, 1, "oci.tar"), false);
	refused(t, t->path[1], NULL, "for linux/arm64, not linux/amd64");
}

static void test_refuse_docker_dotdot(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.docker_layer = "../x"};

	remake(t, &o);
	fx_docker_archive(&t->im, at(t, 0, "docker.tar"));
	refused(t, t->path[0], NULL, "\"..\"");
}

static void test_refuse_docker_diff_id(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.swap_diff_ids = true};

	remake(t, &o);
	fx_docker_archive(&t->im, at(t, 0, "docker.tar"));
	refused(t, t->path[0], NULL, "layer 1 (");
}

static void test_refuse_docker_links_config(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.docker_link = "../../x/layer.tar"};
	char name[128];

	remake(t, &o);
	fx_docker_archive(&t->im, at(t, 0, "docker.tar"));
	refused(t, t->path[0], NULL, "a link that leaves the archive");

	/* A config named by a digest that is not its own. */
	snprintf(name, sizeof(name), "%s.json", digest_hex(t->im.tar[0].digest));
	o = (struct fx_opts){.docker_config = name};
	remake(t, &o);
	fx_docker_archive(&t->im, at(t, 1, "docker2.tar"));
	refused(t, t->path[1], NULL, "its bytes hash to");
}

static void test_refuse_env_huge(void **state)
{
	struct t *t = *state;
	struct fx_opts o = {.env_big = 1 << 20};

	remake(t, &o);
	fx_layout(&t->im, at(t, 0, "layout"));
	refused(t, t->path[0], NULL, "manifest.config.size");
	/* Under the config's own bound, the entry's is what refuses it. */
	o.env_big = (1 << 20) - 4096;
	remake(t, &o);
	fx_docker_archive(&t->im, at(t, 1, "docker.tar"));
	refused(t, t->path[1], NULL, "config.Env[2]: longer than");
}

static void test_refuse_limits(void **state)
{
	struct t *t = *state;
	struct import_opts blob = {.max_blob = 200}, total = {.max_total = 1000};

	fx_layout(&t->im, at(t, 0, "layout"));
	refused(t, t->path[0], &blob, "more than the limit of 200");
	fx_docker_archive(&t->im, at(t, 1, "docker.tar"));
	refused(t, t->path[1], &total, "more than the limit of 1000");
}

static void test_refuse_layout_v2(void **state)
{
	struct t *t = *state;
	static const char v2[] = "{\"imageLayoutVersion\":\"2.0.0\"}";

	fx_layout(&t->im, at(t, 0, "layout"));
	fx_write_file(at(t, 1, "layout/oci-layout"), v2, strlen(v2));
	refused(t, t->path[0], NULL, "not 1.0.0");
}

static void test_refuse_symlink_blob(void **state)
{
	struct t *t = *state;
	char p[256];

	/* The same bytes outside: only the symlink is wrong. */
	fx_layout(&t->im, at(t, 0, "layout"));
	fx_write_file(at(t, 1, "outside"), t->im.layer[1].data, t->im.layer[1].len);
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", t->path[0], digest_hex(t->im.layer[1].digest));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(t->path[1], p), 0);
	refused(t, t->path[0], NULL, "a symlink");
}

/* A check after the blobs are in: it sees them stored and no reference yet;
 * its refusal removes what the import wrote and sets no reference. */
struct check_seen {
	int calls;
	bool stored, named;
	int rc;
};

static int check(void *ctx, struct store *st, const char *manifest, struct img_err *e)
{
	struct check_seen *c = ctx;
	char d[DIGEST_BUF_LEN];

	c->calls++;
	c->stored = store_has(st, manifest);
	c->named = store_ref_get(st, NAME, d, NULL) == 0;
	return c->rc ? img_fail(e, c->rc, "the root filesystem cannot be built") : 0;
}

static void test_check(void **state)
{
	struct t *t = *state;
	struct check_seen c = {.rc = -EXDEV};
	struct import_opts o = {.check = check, .check_ctx = &c};
	struct import_result res;
	struct img_err e = {""};
	struct store_writer *w;

	/* Layer 1 stored beforehand: a refusal leaves it. */
	assert_int_equal(store_writer_open(t->st, t->im.layer[0].digest, -1, &w, NULL), 0);
	assert_int_equal(store_writer_write(w, t->im.layer[0].data, t->im.layer[0].len, NULL), 0);
	assert_int_equal(store_writer_commit(w, NULL, NULL), 0);
	fx_layout(&t->im, at(t, 0, "layout"));
	refused(t, t->path[0], &o, "the root filesystem cannot be built");
	assert_int_equal(c.calls, 1);
	assert_true(c.stored);
	assert_false(c.named);
	assert_true(store_has(t->st, t->im.layer[0].digest));
	assert_int_equal(fx_store_blobs(t->st), 1);

	c = (struct check_seen){0};
	assert_int_equal(image_import(t->st, t->path[0], NAME, &o, &res, &e), 0);
	assert_int_equal(c.calls, 1);
	assert_true(c.stored && !c.named);
	assert_int_equal(fx_store_blobs(t->st), 4);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_layout_import),
		T(test_three_forms_agree),
		T(test_progress),
		T(test_docker_save_both),
		T(test_docker_symlinked_layer),
		T(test_names),
		T(test_skopeo_docker_archive),
		T(test_refuse_layer_bytes),
		T(test_refuse_truncated),
		T(test_refuse_missing_blob),
		T(test_refuse_arm64),
		T(test_refuse_docker_dotdot),
		T(test_refuse_docker_diff_id),
		T(test_refuse_docker_links_config),
		T(test_refuse_env_huge),
		T(test_refuse_limits),
		T(test_refuse_layout_v2),
		T(test_refuse_symlink_blob),
		T(test_check),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
