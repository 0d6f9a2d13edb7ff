/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: OCI/docker index, manifest, oci-layout, media types; the fixture helpers, main(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/oci.h"
#include "test_image_oci.h"

char *J(const char *q)
{
	char *s = strdup(q);

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

char *docf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return s;
}

char *repeat(const char *item, size_t n)
{
	size_t len = strlen(item);
	char *s = malloc(n * (len + 1) + 1), *p = s;

	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		memcpy(p, item, len);
		p += len;
		*p++ = ',';
	}
	*(n ? p - 1 : p) = '\0';
	return s;
}

char *fill(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

void expect(int rc, int want, const struct img_err *e, const char *frag, const char *what)
{
	if (rc != want)
		fail_msg("%s: rc %d, want %d (%s)", what, rc, want, e->msg);
	if (want && frag && !strstr(e->msg, frag))
		fail_msg("%s: error \"%s\" lacks \"%s\"", what, e->msg, frag);
}

/* --- image index --- */

#define PLATFORM(os, arch) "'platform':{'architecture':'" arch "','os':'" os "'}"
#define ENTRY(mt, c, plat) "{'mediaType':'" mt "','digest':" QDIG(c) ",'size':1234," plat "}"

/* docker.io/library/redis's index as the hub serves it: three platforms and
 * a buildkit attestation (platform unknown/unknown). */
static const char *hub_index =
	"{'schemaVersion':2,'mediaType':'" OCI_MT_INDEX "','manifests':["
	"{'annotations':{'com.docker.official-images.bashbrew.arch':'arm32v7'},"
	"'mediaType':'" OCI_MT_MANIFEST "','digest':" QDIG(
		"1") ",'size':2155,"
		     "'platform':{'architecture':'arm','os':'linux','variant':'v7'}},"
		     "{'mediaType':'" OCI_MT_MANIFEST
		     "','digest':" QDIG("2") ",'size':2155," PLATFORM(
			     "linux",
			     "amd64") "},"
				      "{'annotations':{'vnd.docker.reference.type':'attestation-"
				      "manifest'},"
				      "'mediaType':'" OCI_MT_MANIFEST
				      "','digest':" QDIG("3") ",'size':841," PLATFORM(
					      "unknown",
					      "unknown") "},"
							 "{'mediaType':'" OCI_MT_MANIFEST
							 "','digest':" QDIG(
								 "4") ",'size':2155,"
								      "'platform':{'architecture':'"
								      "arm64','os':'linux','"
								      "variant':'v8'}}]}";

static void test_index_pick(void **state)
{
	struct oci_index ix;
	struct img_err e;
	int i;

	(void)state;
	assert_int_equal(PARSE_Q(oci_index_parse, hub_index, &ix, &e), 0);
	assert_int_equal(ix.n, 4);
	i = oci_index_pick(&ix, "linux", "amd64", NULL, &e);
	assert_int_equal(i, 1);
	assert_string_equal(ix.manifests[i].digest, DIG("2"));
	assert_int_equal(ix.manifests[i].size, 2155);
	assert_string_equal(ix.manifests[i].media_type, OCI_MT_MANIFEST);
	i = oci_index_pick(&ix, "linux", "arm64", NULL, &e);
	assert_int_equal(i, 3);
	assert_string_equal(ix.manifests[i].platform.variant, "v8");
	expect(oci_index_pick(&ix, "linux", "s390x", NULL, &e), -ENOENT, &e,
	       "no manifest for linux/s390x (it has: linux/arm/v7, linux/amd64, unknown/unknown, "
	       "linux/arm64/v8)",
	       "s390x");
	oci_index_free(&ix);
	assert_null(ix.manifests);
}

static void test_index_docker_list(void **state)
{
	struct oci_index ix;
	struct img_err e;

	(void)state;
	assert_int_equal(
		PARSE_Q(oci_index_parse,
			"{'schemaVersion':2,'mediaType':'" DOCKER_MT_LIST "',"
			"'manifests':[" ENTRY(
				DOCKER_MT_MANIFEST, "a",
				PLATFORM("windows", "amd64")) "," ENTRY(DOCKER_MT_MANIFEST, "b",
									PLATFORM("linux",
										 "amd64")) "]}",
			&ix, &e),
		0);
	assert_int_equal(oci_index_pick(&ix, "linux", "amd64", NULL, &e), 1);
	oci_index_free(&ix);
}

/* An oci-layout's index.json names manifests; it need not give platforms. */
static void test_index_layout_names(void **state)
{
	struct oci_index ix;
	struct img_err e;

	(void)state;
	assert_int_equal(PARSE_Q(oci_index_parse,
				 "{'schemaVersion':2,'manifests':["
				 "{'mediaType':'" OCI_MT_MANIFEST "','digest':" QDIG(
					 "c") ","
					      "'size':500,'annotations':{'" OCI_ANNOTATION_REF_NAME
					      "':'6'}},"
					      "{'mediaType':'" OCI_MT_MANIFEST "','digest':" QDIG(
						      "d") ","
							   "'size':501,'annotations':{"
							   "'" OCI_ANNOTATION_REF_NAME "':'7'}}]}",
				 &ix, &e),
			 0);
	assert_string_equal(ix.manifests[1].ref_name, "7");
	assert_int_equal(oci_index_pick(&ix, "linux", "amd64", "7", &e), 1);
	assert_int_equal(oci_index_pick(&ix, "linux", "amd64", NULL, &e), 0);
	expect(oci_index_pick(&ix, "linux", "amd64", "8", &e), -ENOENT, &e,
	       "no manifest named \"8\"", "ref.name");
	oci_index_free(&ix);
}

#define IDX(entries) "{'schemaVersion':2,'manifests':[" entries "]}"
#define M1	     "'mediaType':'" OCI_MT_MANIFEST "'"

static const struct bad_case bad_indexes[] = {
	{"[]", -EINVAL, "index: must be an object"},
	{"{'schemaVersion':2,", -EINVAL, "index: not JSON"},
	{"{'schemaVersion':2,'manifests':[]} x", -EINVAL, "not JSON"},
	{"{'schemaVersion':2,'schemaVersion':2,'manifests':[]}", -EINVAL, "duplicate"},
	{"{'manifests':[]}", -EINVAL, "index.schemaVersion: must be the integer 2"},
	{"{'schemaVersion':'2','manifests':[]}", -EINVAL, "index.schemaVersion"},
	{"{'schemaVersion':3,'manifests':[]}", -ENOTSUP, "index.schemaVersion: must be 2"},
	{"{'schemaVersion':2,'mediaType':'" OCI_MT_MANIFEST "','manifests':[]}", -EINVAL,
	 "index.mediaType: \"" OCI_MT_MANIFEST "\" is not an image index"},
	{"{'schemaVersion':2}", -EINVAL, "index.manifests: is required"},
	{"{'schemaVersion':2,'manifests':{}}", -EINVAL, "index.manifests: must be an array"},
	{IDX("7"), -EINVAL, "index.manifests[0]: must be an object"},
	{IDX("{'digest':" QDIG("a") ",'size':1}"), -EINVAL,
	 "index.manifests[0].mediaType: is required"},
	{IDX("{" M1 ",'size':1}"), -EINVAL, "index.manifests[0].digest: is required"},
	{IDX("{" M1 ",'digest':'sha256:ABC','size':1}"), -EINVAL,
	 "index.manifests[0].digest: must be \"sha256:\" and 64 lowercase hex digits"},
	{IDX("{" M1 ",'digest':'" DIG("A") "','size':1}"), -EINVAL, "lowercase hex"},
	{IDX("{" M1 ",'digest':'sha512:" X64("ab") "','size':1}"), -ENOTSUP,
	 "index.manifests[0].digest: only sha256 digests are supported"},
	{IDX("{" M1 ",'digest':" QDIG("a") "}"), -EINVAL, "index.manifests[0].size: is required"},
	{IDX("{" M1 ",'digest':" QDIG("a") ",'size':-1}"), -EINVAL, "must not be negative"},
	{IDX("{" M1 ",'digest':" QDIG("a") ",'size':1.5}"), -EINVAL,
	 "index.manifests[0].size: must be an integer"},
	{IDX("{" M1 ",'digest':" QDIG("a") ",'size':'1'}"), -EINVAL, "must be an integer"},
	{IDX("{" M1 ",'digest':" QDIG("a") ",'size':4194305}"), -E2BIG,
	 "index.manifests[0].size: larger than 4194304"},
	{IDX("{" M1 ",'digest':" QDIG("a") ",'size':1,'platform':{'os':'linux'}}"), -EINVAL,
	 "index.manifests[0].platform.architecture: is required"},
	{IDX("{" M1 ",'digest':" QDIG("a") ",'size':1,'platform':'linux/amd64'}"), -EINVAL,
	 "index.manifests[0].platform: must be an object"},
	{IDX("{" M1 ",'digest':" QDIG("a") ",'size':1,'annotations':{'" OCI_ANNOTATION_REF_NAME
					   "':7}}"),
	 -EINVAL, "index.manifests[0].annotations." OCI_ANNOTATION_REF_NAME ": must be a string"},
	{IDX("{'mediaType':'a\\nb','digest':" QDIG("a") ",'size':1}"), -EINVAL,
	 "control characters"},
};

static void test_index_bad(void **state)
{
	struct oci_index ix;

	(void)state;
	EXPECT_BAD(bad_indexes, oci_index_parse, ix, manifests);
}

static void test_index_bounds(void **state)
{
	char *entries = repeat(ENTRY(OCI_MT_MANIFEST, "e", PLATFORM("linux", "amd64")), 257);
	char *q = docf("{'schemaVersion':2,'manifests':[%s]}", entries), *big;
	struct oci_index ix;
	struct img_err e;

	(void)state;
	expect(PARSE_Q(oci_index_parse, q, &ix, &e), -E2BIG, &e,
	       "index.manifests: more than 256 elements", "257");
	big = fill(' ', OCI_MANIFEST_MAX + 1);
	expect(oci_index_parse(big, OCI_MANIFEST_MAX + 1, &ix, &e), -E2BIG, &e,
	       "index: larger than 4194304 bytes", "4 MiB");
	free(big);
	free(q);
	free(entries);
}

/* --- manifest --- */

#define LAYER(mt, c, size) "{'mediaType':'" mt "','digest':" QDIG(c) ",'size':" size "}"
#define CONFIG(mt, size)   "'config':" LAYER(mt, "0", size)
#define MANIFEST(mt, config, layers)                                                               \
	"{'schemaVersion':2,'mediaType':'" mt "'," config ",'layers':[" layers "]}"

static void test_manifest_oci(void **state)
{
	struct oci_manifest m;
	struct img_err e;

	(void)state;
	assert_int_equal(
		PARSE_Q(oci_manifest_parse,
			MANIFEST(OCI_MT_MANIFEST, CONFIG(OCI_MT_CONFIG, "7023"),
				 LAYER(OCI_MT_LAYER_GZ, "1", "29126484") "," LAYER(
					 OCI_MT_LAYER_ZST, "2", "1736") "," LAYER(OCI_MT_LAYER, "3",
										  "68719476736")),
			&m, &e),
		0);
	assert_string_equal(m.media_type, OCI_MT_MANIFEST);
	assert_string_equal(m.config.digest, DIG("0"));
	assert_int_equal(m.config.size, 7023);
	assert_int_equal(m.nlayers, 3);
	assert_int_equal(m.layers[0].compression, OCI_COMP_GZIP);
	assert_int_equal(m.layers[0].size, 29126484);
	assert_int_equal(m.layers[1].compression, OCI_COMP_ZSTD);
	assert_int_equal(m.layers[2].compression, OCI_COMP_NONE);
	assert_int_equal(m.layers[2].size, OCI_BLOB_MAX);
	assert_string_equal(m.layers[2].digest, DIG("3"));
	oci_manifest_free(&m);
	assert_null(m.layers);
}

static void test_manifest_docker(void **state)
{
	struct oci_manifest m;
	struct img_err e;

	(void)state;
	assert_int_equal(PARSE_Q(oci_manifest_parse,
				 MANIFEST(DOCKER_MT_MANIFEST, CONFIG(DOCKER_MT_CONFIG, "1469"),
					  LAYER(DOCKER_MT_LAYER_GZ, "a", "3408729")),
				 &m, &e),
			 0);
	assert_int_equal(m.nlayers, 1);
	assert_int_equal(m.layers[0].compression, OCI_COMP_GZIP);
	oci_manifest_free(&m);
	/* mediaType is optional in an OCI manifest; no layers is FROM scratch. */
	assert_int_equal(PARSE_Q(oci_manifest_parse,
				 "{'schemaVersion':2," CONFIG(OCI_MT_CONFIG, "2") ",'layers':[]}",
				 &m, &e),
			 0);
	assert_int_equal(m.nlayers, 0);
	assert_string_equal(m.media_type, "");
	oci_manifest_free(&m);
}

#define CFG_OK	 CONFIG(OCI_MT_CONFIG, "100")
#define LAYER_OK LAYER(OCI_MT_LAYER_GZ, "1", "100")

static const struct bad_case bad_manifests[] = {
	{"{'schemaVersion':1,'name':'redis','fsLayers':[]}", -ENOTSUP,
	 "manifest.schemaVersion: 1 (docker's old format) is not supported"},
	{MANIFEST(OCI_MT_INDEX, CFG_OK, LAYER_OK), -EINVAL,
	 "manifest.mediaType: \"" OCI_MT_INDEX "\" is not an image manifest"},
	{"{'schemaVersion':2,'layers':[]}", -EINVAL, "manifest.config: is required"},
	{"{'schemaVersion':2," CFG_OK "}", -EINVAL, "manifest.layers: is required"},
	{"{'schemaVersion':2," CFG_OK ",'layers':{}}", -EINVAL,
	 "manifest.layers: must be an array"},
	{MANIFEST(OCI_MT_MANIFEST, CONFIG("application/vnd.cncf.helm.config.v1+json", "1"),
		  LAYER_OK),
	 -ENOTSUP,
	 "manifest.config.mediaType: \"application/vnd.cncf.helm.config.v1+json\" is not"},
	{MANIFEST(OCI_MT_MANIFEST, CONFIG(OCI_MT_CONFIG, "1048577"), LAYER_OK), -E2BIG,
	 "manifest.config.size: larger than 1048576"},
	{MANIFEST(OCI_MT_MANIFEST, CFG_OK, LAYER(OCI_MT_LAYER_GZ, "1", "68719476737")), -E2BIG,
	 "manifest.layers[0].size: larger than 68719476736"},
	{MANIFEST(OCI_MT_MANIFEST, CFG_OK,
		  LAYER_OK "," LAYER(OCI_MT_LAYER_NONDIST "+gzip", "2", "1")),
	 -ENOTSUP,
	 "manifest.layers[1].mediaType: \"" OCI_MT_LAYER_NONDIST "+gzip\" is a "
	 "non-distributable layer"},
	{MANIFEST(DOCKER_MT_MANIFEST, CONFIG(DOCKER_MT_CONFIG, "1"),
		  LAYER(DOCKER_MT_LAYER_FOREIGN, "2", "1")),
	 -ENOTSUP, "non-distributable layer: its blob is not in the registry"},
	{MANIFEST(OCI_MT_MANIFEST, CFG_OK,
		  LAYER("application/vnd.oci.image.layer.v1.tar+bzip2", "2", "1")),
	 -ENOTSUP, "is not a layer type ember can unpack"},
	{MANIFEST(OCI_MT_MANIFEST, CFG_OK, LAYER(OCI_MT_CONFIG, "2", "1")), -ENOTSUP,
	 "manifest.layers[0].mediaType: \"" OCI_MT_CONFIG "\" is not a layer"},
	{MANIFEST(OCI_MT_MANIFEST, CFG_OK, "{'mediaType':'" OCI_MT_LAYER "','size':1}"), -EINVAL,
	 "manifest.layers[0].digest: is required"},
};

static void test_manifest_bad(void **state)
{
	char *layers = repeat(LAYER_OK, 129), *q;
	struct oci_manifest m;
	struct img_err e;

	(void)state;
	EXPECT_BAD(bad_manifests, oci_manifest_parse, m, layers);
	q = docf("{'schemaVersion':2," CFG_OK ",'layers':[%s]}", layers);
	expect(PARSE_Q(oci_manifest_parse, q, &m, &e), -E2BIG, &e,
	       "manifest.layers: more than 128 elements", "129");
	free(q);
	free(layers);
}

static void test_media_types(void **state)
{
	enum oci_compression c = OCI_COMP_NONE;
	struct img_err e;

	(void)state;
	assert_int_equal(oci_media_kind(DOCKER_MT_LIST), OCI_KIND_INDEX);
	assert_int_equal(oci_media_kind(OCI_MT_MANIFEST), OCI_KIND_MANIFEST);
	assert_int_equal(oci_media_kind(DOCKER_MT_CONFIG), OCI_KIND_CONFIG);
	assert_int_equal(oci_media_kind(DOCKER_MT_LAYER_GZ), OCI_KIND_LAYER);
	assert_int_equal(oci_media_kind("text/plain"), OCI_KIND_UNKNOWN);
	assert_int_equal(oci_media_kind(NULL), OCI_KIND_UNKNOWN);
	assert_int_equal(oci_layer_compression(OCI_MT_LAYER_ZST, &c, &e), 0);
	assert_int_equal(c, OCI_COMP_ZSTD);
	expect(oci_layer_compression(OCI_MT_LAYER_NONDIST, &c, &e), -ENOTSUP, &e,
	       "non-distributable", "nondist");
}

static void test_layout(void **state)
{
	static const struct bad_case cases[] = {
		{"{'imageLayoutVersion':'1.0.0'}", 0, NULL},
		{"{'imageLayoutVersion':'1.1.0'}", -ENOTSUP, "\"1.1.0\", not 1.0.0"},
		{"{}", -EINVAL, "oci-layout.imageLayoutVersion: is required"},
		{"{'imageLayoutVersion':1}", -EINVAL, "must be a string"},
		{"[1]", -EINVAL, "oci-layout: must be an object"},
		{"imageLayoutVersion", -EINVAL, "oci-layout: not JSON"},
	};
	struct img_err e;

	(void)state;
	for (size_t i = 0; i < N_OF(cases); i++) {
		char *s = J(cases[i].q);

		expect(oci_layout_check(s, strlen(s), &e), cases[i].rc, &e, cases[i].frag,
		       cases[i].q);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_pick),	   cmocka_unit_test(test_index_docker_list),
		cmocka_unit_test(test_index_layout_names), cmocka_unit_test(test_index_bad),
		cmocka_unit_test(test_index_bounds),	   cmocka_unit_test(test_manifest_oci),
		cmocka_unit_test(test_manifest_docker),	   cmocka_unit_test(test_manifest_bad),
		cmocka_unit_test(test_media_types),	   cmocka_unit_test(test_layout),
	};

	int failed = cmocka_run_group_tests_name("oci", tests, NULL, NULL);

	return failed + test_image_oci_config() + test_image_ref_user();
}
