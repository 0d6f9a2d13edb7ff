// SPDX-License-Identifier: Apache-2.0
/* Unit tests: the app model's JSON parser (every field, valid and invalid), serialiser, scale. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "api/app_spec.h"

/* The smallest valid app; each case below changes it with a JSON patch. */
static const char *base = "{\"name\": \"hello\", \"image\": \"hello:1\","
			  " \"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80}]}";

/* (patch): a JSON object whose members replace the base's; a member whose
 * value is null removes the key instead (test-only convention). */
static json_t *patched(const char *patch)
{
	json_t *j = json_loads(base, 0, NULL), *p = json_loads(patch, JSON_ALLOW_NUL, NULL);
	const char *k;
	json_t *v;

	assert_non_null(j);
	if (!p)
		fail_msg("bad test patch: %s", patch);
	json_object_foreach(p, k, v)
	{
		if (json_is_null(v))
			json_object_del(j, k);
		else
			json_object_set(j, k, v);
	}
	json_decref(p);
	return j;
}

static int parse(const char *patch, struct app_spec *spec, struct app_err *err)
{
	json_t *j = patched(patch);
	int rc = app_spec_from_json(spec, j, NULL, err);

	json_decref(j);
	return rc;
}

/* Appends (pre), (n) copies of (c), then (post) to the string (dst). */
static char *fill(char *dst, const char *pre, char c, size_t n, const char *post)
{
	size_t at = strlen(dst);

	strcpy(dst + at, pre);
	at += strlen(pre);
	memset(dst + at, c, n);
	strcpy(dst + at + n, post);
	return dst;
}

struct bad {
	const char *patch;
	const char *field;
	const char *msg; /* a substring the message must contain */
};

static void expect_bad(const struct bad *cases, size_t n)
{
	struct app_spec spec;
	struct app_err err;

	for (size_t i = 0; i < n; i++) {
		int rc = parse(cases[i].patch, &spec, &err);

		if (rc != -EINVAL)
			fail_msg("accepted: %s", cases[i].patch);
		if (strcmp(err.field, cases[i].field) || !strstr(err.msg, cases[i].msg))
			fail_msg("%s\n  got field '%s' msg '%s'\n  want field '%s' msg ~'%s'",
				 cases[i].patch, err.field, err.msg, cases[i].field, cases[i].msg);
		/* Every message starts with the field it names. */
		if (err.field[0])
			assert_int_equal(strncmp(err.msg, err.field, strlen(err.field)), 0);
	}
}

#define EXPECT_BAD(...)                                                                            \
	do {                                                                                       \
		const struct bad c_[] = {__VA_ARGS__};                                             \
		expect_bad(c_, sizeof(c_) / sizeof(c_[0]));                                        \
	} while (0)

static void test_defaults(void **state)
{
	struct app_spec spec;
	struct app_err err;

	(void)state;
	assert_int_equal(parse("{}", &spec, &err), 0);
	assert_string_equal(spec.name, "hello");
	assert_string_equal(spec.image, "hello:1");
	assert_string_equal(spec.host_image, "");
	assert_string_equal(spec.boot.kernel, ""); /* emberd's, at deploy */
	assert_false(spec.has_command);
	assert_false(spec.has_args);
	assert_int_equal(spec.nenv, 0);
	assert_string_equal(spec.workdir, "");
	assert_string_equal(spec.user, "");
	assert_int_equal(spec.nservices, 1);
	assert_int_equal(spec.services[0].family, AF_INET);
	assert_memory_equal(spec.services[0].vip, "\x0a\x01\x00\x01", 4);
	assert_int_equal(spec.services[0].port, 80);
	assert_int_equal(spec.services[0].proto, APP_PROTO_TCP);
	assert_int_equal(spec.mem_mib, 128);
	assert_int_equal(spec.vcpus, 1);
	assert_int_equal(spec.min_instances, 0);
	assert_int_equal(spec.max_instances, 4);
	assert_int_equal(spec.target_concurrency, 32);
	assert_int_equal(spec.idle_timeout_ms, 5000);
	assert_int_equal(spec.standby, 1);
	assert_int_equal(spec.nargs, 0);
	assert_string_equal(spec.cmdline, "");
}

static const char *full =
	"{\"name\": \"a-9\", \"image\": \"reg.example:5000/team/app@sha256:"
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	" \"command\": [\"/bin/sh\", \"-c\"], \"env\": {\"A\": \"1\", \"EMPTY\": \"\", \"Q\": "
	"\"x=\\\"y\\\"\"},"
	" \"workdir\": \"/srv\", \"user\": \"app:staff\","
	" \"cmdline\": \"console=ttyS0 quiet x=\\\"a b\\\"\", \"args\": [\"--x=1\", \"a b\", \"\"],"
	" \"services\": [{\"vip\": \"2001:DB8::0001\", \"port\": 65535, \"proto\": \"udp\"},"
	" {\"vip\": \"10.1.0.1\", \"port\": 1, \"proto\": \"tcp\"},"
	" {\"vip\": \"10.1.0.1\", \"port\": 1, \"proto\": \"udp\"}],"
	" \"mem_mib\": 524288, \"vcpus\": 8, \"min_instances\": 16, \"max_instances\": 16,"
	" \"target_concurrency\": 65535, \"idle_timeout_ms\": 3600000, \"standby\": 16}";

static void test_full(void **state)
{
	struct app_spec spec;
	struct app_err err;
	json_t *j = json_loads(full, 0, NULL);

	(void)state;
	assert_int_equal(app_spec_from_json(&spec, j, NULL, &err), 0);
	json_decref(j);
	assert_string_equal(spec.name, "a-9");
	assert_string_equal(spec.image,
			    "reg.example:5000/team/app@sha256:"
			    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_true(spec.has_command);
	assert_int_equal(spec.ncommand, 2);
	assert_string_equal(spec.command[1], "-c");
	assert_int_equal(spec.nenv, 3);
	assert_memory_equal(spec.env, "A=1\0EMPTY=\0Q=x=\"y\"\0", 20);
	assert_string_equal(spec.workdir, "/srv");
	assert_string_equal(spec.user, "app:staff");
	assert_string_equal(spec.cmdline, "console=ttyS0 quiet x=\"a b\"");
	assert_int_equal(spec.nargs, 3);
	assert_string_equal(spec.args[1], "a b");
	assert_int_equal(spec.nservices, 3);
	assert_int_equal(spec.services[0].family, AF_INET6);
	assert_int_equal(spec.services[0].proto, APP_PROTO_UDP);
	assert_int_equal(spec.services[0].port, 65535);
	assert_int_equal(spec.mem_mib, 524288);
	assert_int_equal(spec.vcpus, 8);
	assert_int_equal(spec.min_instances, 16);
	assert_int_equal(spec.target_concurrency, 65535);
	assert_int_equal(spec.idle_timeout_ms, 3600000);
	assert_int_equal(spec.standby, 16);
}

static void test_low_edges(void **state)
{
	struct app_spec spec;
	struct app_err err;

	(void)state;
	assert_int_equal(parse("{\"mem_mib\": 16, \"vcpus\": 1, \"min_instances\": 0,"
			       " \"max_instances\": 1, \"target_concurrency\": 1,"
			       " \"idle_timeout_ms\": 100, \"standby\": 0, \"args\": [],"
			       " \"cmdline\": \"\"}",
			       &spec, &err),
			 0);
	assert_int_equal(spec.mem_mib, 16);
	assert_int_equal(spec.idle_timeout_ms, 100);
	assert_int_equal(spec.standby, 0);
	/* 63 characters is the longest name. */
	{
		char p[128];

		p[0] = '\0';
		fill(p, "{\"name\": \"a", 'z', 62, "\"}");
		assert_int_equal(parse(p, &spec, &err), 0);
		assert_int_equal(strlen(spec.name), 63);
	}
}

static void test_roundtrip(void **state)
{
	struct app_spec a, b;
	struct app_err err;
	json_t *j = json_loads(full, 0, NULL), *out;
	char *s;

	(void)state;
	assert_int_equal(app_spec_from_json(&a, j, NULL, &err), 0);
	json_decref(j);
	out = app_spec_to_json(&a);
	assert_non_null(out);
	s = json_dumps(out, JSON_COMPACT);
	/* Canonical forms: IPv6 in lower case, shortest; proto spelled out. */
	assert_non_null(strstr(s, "\"vip\":\"2001:db8::1\",\"port\":65535,\"proto\":\"udp\""));
	free(s);
	assert_int_equal(app_spec_from_json(&b, out, NULL, &err), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	json_decref(out);

	/* The minimal app serialises with every default spelled out. */
	assert_int_equal(parse("{}", &a, &err), 0);
	out = app_spec_to_json(&a);
	s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"idle_timeout_ms\":5000,\"image\":\"hello:1\","
			       "\"max_instances\":4,\"mem_mib\":128,"
			       "\"min_instances\":0,\"name\":\"hello\",\"services\":[{\"port\":80,"
			       "\"proto\":\"tcp\",\"vip\":\"10.1.0.1\"}],\"standby\":1,"
			       "\"target_concurrency\":32,\"vcpus\":1}");
	free(s);
	assert_int_equal(app_spec_from_json(&b, out, NULL, &err), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	json_decref(out);
}

static void test_top_level(void **state)
{
	struct app_spec spec;
	struct app_err err;
	json_t *arr = json_array();

	(void)state;
	assert_int_equal(app_spec_from_json(&spec, arr, NULL, &err), -EINVAL);
	assert_string_equal(err.field, "");
	assert_non_null(strstr(err.msg, "must be a JSON object"));
	json_decref(arr);
	EXPECT_BAD({"{\"bogus\": 1}", "bogus", "bogus: unknown field"},
		   {"{\"Name\": \"x\"}", "Name", "unknown field"});
}

static void test_name(void **state)
{
	char long_name[128];

	(void)state;
	long_name[0] = '\0';
	fill(long_name, "{\"name\": \"", 'a', 64, "\"}");
	EXPECT_BAD({"{\"name\": null}", "name", "is required"},
		   {"{\"name\": 12}", "name", "must be a string"},
		   {"{\"name\": \"\"}", "name", "must not be empty"},
		   {"{\"name\": \"Hello\"}", "name", "only a-z, 0-9 and '-'"},
		   {"{\"name\": \"a_b\"}", "name", "only a-z, 0-9 and '-'"},
		   {"{\"name\": \"a.b\"}", "name", "only a-z, 0-9 and '-'"},
		   {"{\"name\": \"1abc\"}", "name", "must start with a letter"},
		   {"{\"name\": \"-abc\"}", "name", "must start with a letter"},
		   {"{\"name\": \"abc-\"}", "name", "must not end with '-'"},
		   {long_name, "name", "at most 63 characters"});
}

static void test_name_from_path(void **state)
{
	struct app_spec spec;
	struct app_err err;
	json_t *j = patched("{\"name\": null}");

	(void)state;
	assert_int_equal(app_spec_from_json(&spec, j, "web", &err), 0);
	assert_string_equal(spec.name, "web");
	assert_int_equal(app_spec_from_json(&spec, j, "Web", &err), -EINVAL);
	assert_string_equal(err.field, "name");
	json_decref(j);
	j = patched("{}"); /* body says "hello" */
	assert_int_equal(app_spec_from_json(&spec, j, "hello", &err), 0);
	assert_int_equal(app_spec_from_json(&spec, j, "web", &err), -EINVAL);
	assert_string_equal(err.field, "name");
	assert_non_null(strstr(err.msg, "must match the name in the path"));
	json_decref(j);
}

static void test_image(void **state)
{
	char long_ref[1024];

	(void)state;
	long_ref[0] = '\0';
	fill(long_ref, "{\"image\": \"", 'r', 512, "\"}");
	EXPECT_BAD({"{\"image\": null}", "image", "is required"},
		   {"{\"image\": 1}", "image", "an image reference"},
		   {"{\"image\": \"\"}", "image", "must not be empty"},
		   {"{\"image\": \"a b\"}", "image", "spaces"},
		   {"{\"image\": \"a\\nb\"}", "image", "control characters"},
		   {long_ref, "image", "at most 511 bytes"},
		   /* Host paths are the operator's (emberd's configuration), never a caller's. */
		   {"{\"image\": {\"kernel\": \"/k\"}}", "image", "host paths are not accepted"},
		   {"{\"image\": {}}", "image.host", "is required"},
		   {"{\"image\": {\"host\": \"\"}}", "image.host", "must not be empty"},
		   {"{\"image\": {\"host\": 1}}", "image.host", "must be a string"});
}

static void test_image_oci_fields(void **state)
{
	char many_env[4096] = "{\"env\": {", big_env[8192] = "{\"env\": {\"A\": \"";
	char long_user[128] = "";

	(void)state;
	for (int i = 0; i < 65; i++)
		snprintf(many_env + strlen(many_env), sizeof(many_env) - strlen(many_env),
			 "%s\"V%d\": \"x\"", i ? ", " : "", i);
	strcat(many_env, "}}");
	fill(big_env, "", 'v', 4096, "\"}}");
	fill(long_user, "{\"user\": \"", 'u', 64, "\"}");
	EXPECT_BAD(
		{"{\"command\": \"/bin/sh\"}", "command", "must be an array"},
		{"{\"command\": [1]}", "command[0]", "must be a string"},
		{"{\"env\": [\"A=1\"]}", "env", "must be an object"},
		{"{\"env\": {\"A=B\": \"1\"}}", "env.A=B", "without '='"},
		{"{\"env\": {\"\": \"1\"}}", "env.", "non-empty"},
		{"{\"env\": {\"A\": 1}}", "env.A", "must be a string"},
		{many_env, "env", "at most 64 entries"}, {big_env, "env.A", "at most"},
		{"{\"workdir\": \"srv\"}", "workdir", "absolute path"},
		{"{\"workdir\": \"\"}", "workdir", "must not be empty"},
		{"{\"user\": \"\"}", "user", "must not be empty"},
		{long_user, "user", "at most 63 bytes"},
		/* A host image runs ember-init's own workload: none of them apply. */
		{"{\"image\": {\"host\": \"demo\"}, \"command\": []}", "command", "OCI image only"},
		{"{\"image\": {\"host\": \"demo\"}, \"env\": {\"A\": \"\"}}", "env",
		 "OCI image only"},
		{"{\"image\": {\"host\": \"demo\"}, \"workdir\": \"/\"}", "workdir",
		 "OCI image only"},
		{"{\"image\": {\"host\": \"demo\"}, \"user\": \"1\"}", "user", "OCI image only"},
		{"{\"image\": {\"host\": \"demo\"}, \"services\": [{\"vip\": \"10.1.0.1\"}]}",
		 "services[0].port", "a host image exposes no ports"});
}

static void test_image_ok(void **state)
{
	struct app_spec spec;
	struct app_err err;

	(void)state;
	assert_int_equal(parse("{\"image\": {\"host\": \"demo\"}}", &spec, &err), 0);
	assert_string_equal(spec.host_image, "demo");
	assert_string_equal(spec.image, "");
	/* An OCI image's service may leave the port to the image's ExposedPorts. */
	assert_int_equal(parse("{\"services\": [{\"vip\": \"10.1.0.1\"}], \"command\": [],"
			       " \"args\": [\"a\\\"b\"]}",
			       &spec, &err),
			 0);
	assert_int_equal(spec.services[0].port, 0);
	assert_true(spec.has_command);
	assert_int_equal(spec.ncommand, 0);
	assert_string_equal(spec.args[0], "a\"b"); /* no command line word: any byte but NUL */
}

static void test_boot_record(void **state)
{
	struct app_boot b = {.kernel = "/k",
			     .initrd = "/d/initrd.cpio",
			     .rootfs = "/r.erofs",
			     .digest = "sha256:00"},
			c;
	struct app_err err;
	json_t *j = app_boot_to_json(&b), *bad;

	(void)state;
	assert_int_equal(app_boot_from_json(&c, j, &err), 0);
	assert_memory_equal(&b, &c, sizeof(b));
	json_decref(j);
	bad = json_pack("{s:s}", "initrd", "/i");
	assert_int_equal(app_boot_from_json(&c, bad, &err), -EINVAL);
	assert_string_equal(err.field, "boot.kernel");
	json_decref(bad);
	bad = json_pack("{s:s,s:s}", "kernel", "/k", "disk", "/d");
	assert_int_equal(app_boot_from_json(&c, bad, &err), -EINVAL);
	assert_string_equal(err.field, "boot.disk");
	json_decref(bad);
}

static void test_services(void **state)
{
	char many[2048] = "{\"services\": [";

	(void)state;
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s{\"vip\": \"10.1.0.1\", \"port\": %d}", i ? ", " : "", i + 1);
	strcat(many, "]}");
	EXPECT_BAD({"{\"services\": null}", "services", "is required"},
		   {"{\"services\": {}}", "services", "must be an array"},
		   {"{\"services\": []}", "services", "must have 1-16 elements"},
		   {many, "services", "must have 1-16 elements"},
		   {"{\"services\": [80]}", "services[0]", "must be an object"},
		   {"{\"services\": [{\"port\": 80}]}", "services[0].vip", "is required"},
		   {"{\"image\": {\"host\": \"d\"}, \"services\": [{\"vip\": \"10.1.0.1\"}]}",
		    "services[0].port", "is required"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80, \"x\": 1}]}",
		    "services[0].x", "unknown field"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80},"
		    " {\"vip\": \"10.1.0.1\", \"port\": 70000}]}",
		    "services[1].port", "services[1].port: must be 1-65535"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80},"
		    " {\"vip\": \"10.1.0.1\", \"port\": 80, \"proto\": \"tcp\"}]}",
		    "services[1]", "same vip, port and proto as services[0]"});
}

static void test_service_port_proto(void **state)
{
	(void)state;
	EXPECT_BAD({"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 0}]}", "services[0].port",
		    "must be 1-65535"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 65536}]}",
		    "services[0].port", "must be 1-65535"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": -1}]}", "services[0].port",
		    "must be 1-65535"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": \"80\"}]}",
		    "services[0].port", "must be an integer"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80.0}]}", "services[0].port",
		    "must be an integer"},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80, \"proto\": \"sctp\"}]}",
		    "services[0].proto", "\"tcp\" or \"udp\""},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80, \"proto\": \"TCP\"}]}",
		    "services[0].proto", "\"tcp\" or \"udp\""},
		   {"{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 80, \"proto\": 6}]}",
		    "services[0].proto", "must be a string"});
}

static void test_service_vip(void **state)
{
	static const struct {
		const char *vip, *msg;
	} bad[] = {
		{"1.2.3", "IPv4 or IPv6"},
		{"10.1.0.01", "IPv4 or IPv6"},
		{"host.example", "IPv4 or IPv6"},
		{"10.1.0.1/32", "IPv4 or IPv6"},
		{" 10.1.0.1", "IPv4 or IPv6"},
		{"0.0.0.0", "0.0.0.0/8"},
		{"127.0.0.1", "loopback"},
		{"224.0.0.1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"::", ":: and ::1"},
		{"::1", ":: and ::1"},
		{"ff02::1", "multicast"},
		{"fe80::1", "link-local"},
		{"::ffff:10.1.0.1", "IPv4 form"},
	};
	struct app_spec spec;
	struct app_err err;
	char p[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(p, sizeof(p), "{\"services\": [{\"vip\": \"%s\", \"port\": 80}]}",
			 bad[i].vip);
		assert_int_equal(parse(p, &spec, &err), -EINVAL);
		assert_string_equal(err.field, "services[0].vip");
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: %s", bad[i].vip, err.msg);
	}
	EXPECT_BAD({"{\"services\": [{\"vip\": 10, \"port\": 80}]}", "services[0].vip",
		    "must be a string"});
	assert_int_equal(
		parse("{\"services\": [{\"vip\": \"fd00::10\", \"port\": 443}]}", &spec, &err), 0);
	assert_int_equal(spec.services[0].family, AF_INET6);
	assert_int_equal(spec.services[0].vip[0], 0xfd);
	assert_int_equal(spec.services[0].vip[15], 0x10);
}

static void test_numbers(void **state)
{
	(void)state;
	EXPECT_BAD({"{\"mem_mib\": 15}", "mem_mib", "mem_mib: must be 16-524288"},
		   {"{\"mem_mib\": 524289}", "mem_mib", "must be 16-524288"},
		   {"{\"mem_mib\": \"128\"}", "mem_mib", "must be an integer"},
		   {"{\"mem_mib\": 128.5}", "mem_mib", "must be an integer"},
		   {"{\"mem_mib\": true}", "mem_mib", "must be an integer"},
		   {"{\"vcpus\": 0}", "vcpus", "must be 1-8"},
		   {"{\"vcpus\": 9}", "vcpus", "must be 1-8"});
}

static void test_scaling_fields(void **state)
{
	struct app_spec spec;
	struct app_err err;

	(void)state;
	/* A null member is removed by the patch helper: the default applies. */
	assert_int_equal(parse("{\"vcpus\": null}", &spec, &err), 0);
	EXPECT_BAD({"{\"min_instances\": -1}", "min_instances", "must be 0-16"},
		   {"{\"min_instances\": 17}", "min_instances", "must be 0-16"},
		   {"{\"min_instances\": 5}", "min_instances", "must not exceed max_instances (4)"},
		   {"{\"max_instances\": 0}", "max_instances", "must be 1-16"},
		   {"{\"max_instances\": 17}", "max_instances", "must be 1-16"},
		   {"{\"max_instances\": []}", "max_instances", "must be an integer"},
		   {"{\"target_concurrency\": 0}", "target_concurrency", "must be 1-65535"},
		   {"{\"target_concurrency\": 65536}", "target_concurrency", "must be 1-65535"},
		   {"{\"idle_timeout_ms\": 99}", "idle_timeout_ms", "must be 100-3600000"},
		   {"{\"idle_timeout_ms\": 3600001}", "idle_timeout_ms", "must be 100-3600000"},
		   {"{\"idle_timeout_ms\": \"5s\"}", "idle_timeout_ms", "must be an integer"},
		   {"{\"standby\": -1}", "standby", "must be 0-16"},
		   {"{\"standby\": 17}", "standby", "must be 0-16"},
		   {"{\"standby\": false}", "standby", "must be an integer"});
	assert_int_equal(parse("{\"min_instances\": 2, \"max_instances\": 2}", &spec, &err), 0);
	assert_int_equal(spec.min_instances, 2);
}

static void test_cmdline(void **state)
{
	char long_cmd[1024];

	(void)state;
	long_cmd[0] = '\0';
	fill(long_cmd, "{\"cmdline\": \"", 'x', 512, "\"}");
	EXPECT_BAD({"{\"cmdline\": 5}", "cmdline", "must be a string"},
		   {"{\"cmdline\": [\"quiet\"]}", "cmdline", "must be a string"},
		   {long_cmd, "cmdline", "at most 511 bytes"},
		   {"{\"cmdline\": \"a\\\"b\"}", "cmdline", "unbalanced"},
		   {"{\"cmdline\": \"quiet -- x\"}", "cmdline", "'--'"},
		   {"{\"cmdline\": \"ember.ip=10.0.0.2/24\"}", "cmdline", "ember.*"},
		   {"{\"cmdline\": \"quiet \\\"ember.port=81\\\"\"}", "cmdline", "ember.*"},
		   {"{\"cmdline\": \"a\\tb\"}", "cmdline", "control characters"},
		   {"{\"cmdline\": \"caf\\u00e9\"}", "cmdline", "printable ASCII"});
}

static void test_args(void **state)
{
	char many[512] = "{\"args\": [", long_arg[512], total[2048] = "{\"args\": [";

	(void)state;
	for (int i = 0; i < 17; i++)
		strcat(many, i ? ", \"a\"" : "\"a\"");
	strcat(many, "]}");
	long_arg[0] = '\0';
	fill(long_arg, "{\"args\": [\"", 'a', 256, "\"]}");
	for (int i = 0; i < 5; i++)
		fill(total, i ? ", \"" : "\"", 'a', 205, "\"");
	strcat(total, "]}");
	EXPECT_BAD({"{\"args\": \"--x\"}", "args", "must be an array"},
		   {many, "args", "must have 0-16 elements"},
		   {"{\"args\": [\"ok\", 1]}", "args[1]", "must be a string"},
		   {"{\"image\": {\"host\": \"d\"}, \"args\": [\"a\\\"b\"]}", "args[0]", "'\"'"},
		   {"{\"args\": [\"a\\nb\"]}", "args[0]", "control characters"},
		   {long_arg, "args[0]", "at most 255 bytes"},
		   {total, "args", "must total at most 1024 bytes"});
}

static void test_scale(void **state)
{
	struct app_spec spec, before;
	struct app_scale sc;
	struct app_err err;
	json_t *j;

	(void)state;
	assert_int_equal(parse("{}", &spec, &err), 0);
	before = spec;
	j = json_loads("{\"min_instances\": 1, \"standby\": 3}", 0, NULL);
	assert_int_equal(app_scale_from_json(&sc, j, false, &err), 0);
	assert_int_equal(sc.set, APP_SCALE_MIN | APP_SCALE_STANDBY);
	assert_int_equal(app_scale_apply(&spec, &sc, &err), 0);
	assert_int_equal(spec.min_instances, 1);
	assert_int_equal(spec.standby, 3);
	assert_int_equal(spec.max_instances, before.max_instances);
	/* PUT needs both bounds. */
	assert_int_equal(app_scale_from_json(&sc, j, true, &err), -EINVAL);
	assert_string_equal(err.field, "max_instances");
	json_decref(j);

	j = json_loads("{\"min_instances\": 9}", 0, NULL);
	assert_int_equal(app_scale_from_json(&sc, j, false, &err), 0);
	before = spec;
	assert_int_equal(app_scale_apply(&spec, &sc, &err), -EINVAL);
	assert_string_equal(err.field, "min_instances");
	assert_memory_equal(&spec, &before, sizeof(spec)); /* unchanged */
	json_decref(j);

	j = json_loads("{\"max_instances\": 0}", 0, NULL);
	assert_int_equal(app_scale_from_json(&sc, j, false, &err), -EINVAL);
	assert_string_equal(err.msg, "max_instances: must be 1-16");
	json_decref(j);
}

static void test_scale_bad(void **state)
{
	static const struct {
		const char *body, *field, *msg;
	} bad[] = {
		{"{}", "", "changes nothing"},
		{"[]", "", "must be a JSON object"},
		{"{\"mem_mib\": 256}", "mem_mib", "unknown field"},
		{"{\"name\": \"x\"}", "name", "unknown field"},
		{"{\"standby\": 17}", "standby", "must be 0-16"},
		{"{\"idle_timeout_ms\": 1}", "idle_timeout_ms", "must be 100-3600000"},
		{"{\"target_concurrency\": \"8\"}", "target_concurrency", "must be an integer"},
	};
	struct app_scale sc;
	struct app_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i].body, 0, NULL);

		assert_int_equal(app_scale_from_json(&sc, j, false, &err), -EINVAL);
		assert_string_equal(err.field, bad[i].field);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: %s", bad[i].body, err.msg);
		json_decref(j);
	}
}

static void test_service_helpers(void **state)
{
	struct app_spec spec;
	struct app_err err;
	char buf[80];

	(void)state;
	assert_int_equal(parse("{\"services\": [{\"vip\": \"10.1.0.1\", \"port\": 53, \"proto\":"
			       " \"udp\"}, {\"vip\": \"fd00::1\", \"port\": 80}]}",
			       &spec, &err),
			 0);
	app_service_format(&spec.services[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.1.0.1:53/udp");
	app_service_format(&spec.services[1], buf, sizeof(buf));
	assert_string_equal(buf, "[fd00::1]:80/tcp");
	assert_false(app_service_equal(&spec.services[0], &spec.services[1]));
	assert_true(app_service_equal(&spec.services[1], &spec.services[1]));
	assert_int_equal(app_name_check("ok-1", &err), 0);
	assert_int_equal(app_name_check("", &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_low_edges),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_name_from_path),
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_image_ok),
		cmocka_unit_test(test_image_oci_fields),
		cmocka_unit_test(test_boot_record),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_service_port_proto),
		cmocka_unit_test(test_service_vip),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_scaling_fields),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_scale_bad),
		cmocka_unit_test(test_service_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
