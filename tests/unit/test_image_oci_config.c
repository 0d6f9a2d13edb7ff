/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the image config (a full one, every bound, bad types), docker save manifest.json. */
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

/* redis:7's config as `docker save` writes it (Go nulls included). */
static const char *redis_config =
	"{'architecture':'amd64','config':{'Hostname':'','User':'redis:redis',"
	"'ExposedPorts':{'6379/tcp':{},'53/udp':{},'8080':{},'8080/tcp':{}},"
	"'Env':['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',"
	"'GOSU_VERSION=1.17','EMPTY='],'Entrypoint':['docker-entrypoint.sh'],"
	"'Cmd':['redis-server','--save',''],'Volumes':{'/data':{}},'WorkingDir':'/data',"
	"'Labels':null,'OnBuild':null},'created':'2024-01-09T22:02:35.5Z',"
	"'history':[{'created_by':'/bin/sh -c #(nop) ADD file:abc in / '}],'os':'linux',"
	"'rootfs':{'type':'layers','diff_ids':[" QDIG("1") "," QDIG("2") "]}}";

static void test_config_full(void **state)
{
	struct oci_manifest m = {.nlayers = 2};
	struct oci_config c;
	struct img_err e;

	(void)state;
	assert_int_equal(PARSE_Q(oci_config_parse, redis_config, &c, &e), 0);
	assert_string_equal(c.platform.os, "linux");
	assert_string_equal(c.platform.architecture, "amd64");
	assert_int_equal(c.entrypoint.n, 1);
	assert_string_equal(c.entrypoint.v[0], "docker-entrypoint.sh");
	assert_null(c.entrypoint.v[1]);
	assert_int_equal(c.cmd.n, 3);
	assert_string_equal(c.cmd.v[2], "");
	assert_int_equal(c.env.n, 3);
	assert_string_equal(c.env.v[1], "GOSU_VERSION=1.17");
	assert_string_equal(c.user, "redis:redis");
	assert_string_equal(c.workdir, "/data");
	assert_int_equal(c.nports, 3); /* "8080" and "8080/tcp" are one port */
	assert_int_equal(c.ports[0].port, 6379);
	assert_int_equal(c.ports[0].proto, OCI_PROTO_TCP);
	assert_int_equal(c.ports[1].port, 53);
	assert_int_equal(c.ports[1].proto, OCI_PROTO_UDP);
	assert_int_equal(c.ports[2].port, 8080);
	assert_int_equal(c.ndiff_ids, 2);
	assert_string_equal(c.diff_ids[1], DIG("2"));
	assert_int_equal(oci_config_check_layers(&c, &m, &e), 0);
	m.nlayers = 3;
	expect(oci_config_check_layers(&c, &m, &e), -EINVAL, &e,
	       "rootfs.diff_ids: 2 entries for the manifest's 3 layers", "count");
	assert_int_equal(oci_config_check_platform(&c, "linux", "amd64", &e), 0);
	expect(oci_config_check_platform(&c, "linux", "arm64", &e), -ENOEXEC, &e,
	       "for linux/amd64, not linux/arm64", "platform");
	oci_config_free(&c);
	assert_null(c.env.v);
}

/* A config of (run) as its "config" member. */
#define RUN(run)                                                                                   \
	"{'architecture':'amd64','os':'linux','config':" run                                       \
	",'rootfs':{'type':'layers','diff_ids':[]}}"

static const struct bad_case bad_configs[] = {
	{"{'os':'linux','rootfs':{'type':'layers','diff_ids':[]}}", -EINVAL,
	 "architecture: is required"},
	{"{'architecture':'amd64','os':1,'rootfs':{'type':'layers','diff_ids':[]}}", -EINVAL,
	 "os: must be a string"},
	{"{'architecture':'amd64','os':'linux'}", -EINVAL, "rootfs: is required"},
	{"{'architecture':'amd64','os':'linux','rootfs':{'type':'foo','diff_ids':[]}}", -EINVAL,
	 "rootfs.type: must be \"layers\""},
	{"{'architecture':'amd64','os':'linux','rootfs':{'type':'layers'}}", -EINVAL,
	 "rootfs.diff_ids: is required"},
	{"{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':['sha256:1']}}",
	 -EINVAL, "rootfs.diff_ids[0]: must be \"sha256:\""},
	{RUN("[]"), -EINVAL, "config: must be an object"},
	{RUN("{'Env':'A=1'}"), -EINVAL, "config.Env: must be an array"},
	{RUN("{'Env':['A=1',2]}"), -EINVAL, "config.Env[1]: must be a string"},
	{RUN("{'Env':['A=1','NOVALUE']}"), -EINVAL, "config.Env[1]: must be KEY=VALUE"},
	{RUN("{'Env':['=x']}"), -EINVAL, "config.Env[0]: must be KEY=VALUE"},
	{RUN("{'Cmd':'redis-server'}"), -EINVAL, "config.Cmd: must be an array"},
	{RUN("{'Entrypoint':[null]}"), -EINVAL, "config.Entrypoint[0]: must be a string"},
	{RUN("{'WorkingDir':'data'}"), -EINVAL, "config.WorkingDir: must be an absolute path"},
	{RUN("{'User':1000}"), -EINVAL, "config.User: must be a string"},
	{RUN("{'ExposedPorts':['80/tcp']}"), -EINVAL, "config.ExposedPorts: must be an object"},
	{RUN("{'ExposedPorts':{'80/tcp':{},'0/tcp':{}}}"), -EINVAL,
	 "config.ExposedPorts[1]: must be"},
	{RUN("{'ExposedPorts':{'65536/tcp':{}}}"), -EINVAL, "config.ExposedPorts[0]"},
	{RUN("{'ExposedPorts':{'80/icmp':{}}}"), -EINVAL, "config.ExposedPorts[0]"},
	{RUN("{'ExposedPorts':{'http':{}}}"), -EINVAL, "config.ExposedPorts[0]"},
	{RUN("{'ExposedPorts':{'80-90/tcp':{}}}"), -EINVAL, "config.ExposedPorts[0]"},
};

static void test_config_bad(void **state)
{
	struct oci_config c;

	(void)state;
	EXPECT_BAD(bad_configs, oci_config_parse, c, env.v);
}

/* Nulls where Go writes them, and no "config" at all, are an image without a command. */
static void test_config_nulls(void **state)
{
	struct oci_config c;
	struct img_err e;

	(void)state;
	assert_int_equal(PARSE_Q(oci_config_parse,
				 RUN("{'Entrypoint':null,'Cmd':null,'Env':null,"
				     "'ExposedPorts':null,'User':'','WorkingDir':''}"),
				 &c, &e),
			 0);
	assert_int_equal(c.cmd.n + c.entrypoint.n + c.env.n + c.nports, 0);
	oci_config_free(&c);
	assert_int_equal(PARSE_Q(oci_config_parse,
				 "{'architecture':'arm64','variant':'v8','os':'linux',"
				 "'rootfs':{'type':'layers','diff_ids':[" QDIG("9") "]}}",
				 &c, &e),
			 0);
	assert_string_equal(c.platform.variant, "v8");
	assert_int_equal(c.ndiff_ids, 1);
	oci_config_free(&c);
}

/* Parses RUN((run)) built with printf, expecting (rc) and (frag). */
static void config_bound(int want, const char *frag, const char *fmt, const char *arg)
{
	char *run = docf(fmt, arg), *q = docf(RUN("%s"), run);
	struct oci_config c;
	struct img_err e;

	expect(PARSE_Q(oci_config_parse, q, &c, &e), want, &e, frag,
	       frag ? frag : "within the bound");
	if (!want)
		oci_config_free(&c);
	free(q);
	free(run);
}

static void test_config_bounds(void **state)
{
	char *val = fill('v', OCI_ENV_ENTRY_MAX - 2), *big = fill('v', 1 << 20);
	char *arg = fill('a', OCI_ARG_MAX), *list;

	(void)state;
	config_bound(0, NULL, "{'Env':['A=1','B=%s']}", val); /* 32768 bytes exactly */
	config_bound(-E2BIG, "config.Env[1]: longer than 32768 bytes", "{'Env':['A=1','BB=%s']}",
		     val);
	config_bound(-E2BIG, "image config: larger than 1048576 bytes", "{'Env':['B=%s']}", big);
	config_bound(0, NULL, "{'Entrypoint':['%s']}", arg);
	config_bound(-E2BIG, "config.Entrypoint[0]: longer than 4096 bytes",
		     "{'Entrypoint':['%s!']}", arg);
	list = repeat("'A=1'", OCI_ENV_MAX + 1);
	config_bound(-E2BIG, "config.Env: more than 1024 elements", "{'Env':[%s]}", list);
	free(list);
	list = repeat("'x'", OCI_ARGS_MAX + 1);
	config_bound(-E2BIG, "config.Cmd: more than 256 elements", "{'Cmd':[%s]}", list);
	free(list);
	list = repeat("'x'", OCI_ARGS_MAX);
	config_bound(0, NULL, "{'Cmd':[%s]}", list);
	free(list);
	config_bound(-E2BIG, "config.ExposedPorts: more than 32 ports",
		     "{'ExposedPorts':{%s'33/tcp':{}}}",
		     "'1':{},'2':{},'3':{},'4':{},'5':{},'6':{},'7':{},'8':{},'9':{},'10':{},"
		     "'11':{},'12':{},'13':{},'14':{},'15':{},'16':{},'17':{},'18':{},'19':{},"
		     "'20':{},'21':{},'22':{},'23':{},'24':{},'25':{},'26':{},'27':{},'28':{},"
		     "'29':{},'30':{},'31':{},'32':{},");
	free(arg);
	free(big);
	free(val);
}

/* --- docker-archive manifest.json --- */

static const char *docker_save = "[{'Config':'" X64(
	"c") ".json','RepoTags':['redis:7','redis:latest'],"
	     "'Layers':['" X64("1") "/layer.tar','" X64(
		     "2") "/layer.tar']},"
			  "{'Config':'blobs/sha256/" X64(
				  "d") "','RepoTags':['ghcr.io/acme/app:v1'],"
				       "'Layers':['blobs/sha256/" X64(
					       "3") "'],'LayerSources':{}},"
						    "{'Config':'" X64("e") ".json','RepoTags':null,"
									   "'Layers':[]}]";

static void test_docker_archive(void **state)
{
	struct docker_manifest dm;
	struct img_err e;

	(void)state;
	assert_int_equal(PARSE_Q(docker_manifest_parse, docker_save, &dm, &e), 0);
	assert_int_equal(dm.n, 3);
	assert_string_equal(dm.images[0].config, X64("c") ".json");
	assert_int_equal(dm.images[0].layers.n, 2);
	assert_string_equal(dm.images[0].layers.v[1], X64("2") "/layer.tar");
	assert_string_equal(dm.images[1].layers.v[0], "blobs/sha256/" X64("3"));
	assert_int_equal(dm.images[2].repo_tags.n, 0);
	assert_int_equal(docker_manifest_pick(&dm, NULL, &e), 0);
	assert_int_equal(docker_manifest_pick(&dm, "redis:7", &e), 0);
	assert_int_equal(docker_manifest_pick(&dm, "redis", &e), 0);
	assert_int_equal(docker_manifest_pick(&dm, "ghcr.io/acme/app:v1", &e), 1);
	expect(docker_manifest_pick(&dm, "ghcr.io/acme/app", &e), -ENOENT, &e,
	       "no image tagged \"ghcr.io/acme/app\" (it has: redis:7, redis:latest, "
	       "ghcr.io/acme/app:v1)",
	       "untagged");
	docker_manifest_free(&dm);
	assert_null(dm.images);
}

#define IMG(config, layers) "[{'Config':'" config "','RepoTags':['a:1'],'Layers':[" layers "]}]"

static const struct bad_case bad_dockers[] = {
	{IMG("c.json", "'../x'"), -EINVAL,
	 "manifest.json[0].Layers[0]: must not have \".\" or \"..\" components"},
	{IMG("c.json", "'a/layer.tar','a/../../x'"), -EINVAL, "manifest.json[0].Layers[1]"},
	{IMG("/abs.json", "'a/layer.tar'"), -EINVAL,
	 "manifest.json[0].Config: must be relative, not absolute"},
	{IMG("c.json", "'/etc/shadow'"), -EINVAL, "Layers[0]: must be relative"},
	{IMG("c.json", "'a//layer.tar'"), -EINVAL, "must not have empty components"},
	{IMG("c.json", "'a/'"), -EINVAL, "must not have empty components"},
	{IMG("c.json", "''"), -EINVAL, "must not have empty components"},
	{IMG("./c.json", "'a'"), -EINVAL, "Config: must not have \".\""},
	{IMG("c.json", "'a\\tb'"), -EINVAL, "control characters"},
	{IMG("", "'a'"), -EINVAL, "manifest.json[0].Config: must not be empty"},
	{IMG("c.json", "7"), -EINVAL, "manifest.json[0].Layers[0]: must be a string"},
	{"{}", -EINVAL, "manifest.json: must be an array"},
	{"[]", -EINVAL, "manifest.json: lists no image"},
	{"[{'RepoTags':[],'Layers':[]}]", -EINVAL, "manifest.json[0].Config: is required"},
	{"[{'Config':'c.json','RepoTags':[]}]", -EINVAL, "manifest.json[0].Layers: is required"},
	{"[{'Config':'c.json','RepoTags':'a:1','Layers':[]}]", -EINVAL,
	 "manifest.json[0].RepoTags: must be an array"},
	{"[{'Config':'c.json','Layers':[]},{'Config':'../c.json','Layers':[]}]", -EINVAL,
	 "manifest.json[1].Config"},
};

static void test_docker_archive_bad(void **state)
{
	char *images = repeat("{'Config':'c.json','Layers':[]}", DOCKER_IMAGES_MAX + 1);
	char *q = docf("[%s]", images);
	struct docker_manifest dm;
	struct img_err e;

	(void)state;
	EXPECT_BAD(bad_dockers, docker_manifest_parse, dm, images);
	expect(PARSE_Q(docker_manifest_parse, q, &dm, &e), -E2BIG, &e,
	       "manifest.json: more than 64 elements", "65");
	free(q);
	free(images);
}

int test_image_oci_config(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_full),    cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_config_nulls),   cmocka_unit_test(test_config_bounds),
		cmocka_unit_test(test_docker_archive), cmocka_unit_test(test_docker_archive_bad),
	};

	return cmocka_run_group_tests_name("oci_config", tests, NULL, NULL);
}
