// SPDX-License-Identifier: Apache-2.0
/* Unit tests: the app registry (unique names, unique service claims, app ids, order). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/app_registry.h"

/* A valid app (name) with one service (vip):(port)/(proto). */
static struct app_spec app(const char *name, const char *vip, int port, const char *proto)
{
	struct app_spec spec;
	struct app_err err;
	json_t *j = json_pack("{s:s,s:s,s:[{s:s,s:i,s:s}]}", "name", name, "image", "k:1",
			      "services", "vip", vip, "port", port, "proto", proto);

	assert_non_null(j);
	if (app_spec_from_json(&spec, j, NULL, &err))
		fail_msg("%s", err.msg);
	json_decref(j);
	return spec;
}

static void test_add_get_del(void **state)
{
	struct app_registry *reg = app_registry_new();
	const struct app_entry *e;
	struct app_spec a = app("web", "10.1.0.1", 80, "tcp");
	struct app_err err;

	(void)state;
	assert_non_null(reg);
	assert_int_equal(app_registry_add(reg, &a, &e, &err), 0);
	assert_int_equal(e->id, 0);
	assert_int_equal(e->version, 1);
	assert_ptr_equal(app_registry_get(reg, "web"), e);
	assert_null(app_registry_get(reg, "db"));
	assert_int_equal(app_registry_count(reg), 1);
	assert_int_equal(app_registry_del(reg, "db"), -ENOENT);
	assert_int_equal(app_registry_del(reg, "web"), 0);
	assert_int_equal(app_registry_count(reg), 0);
	assert_null(app_registry_get(reg, "web"));
	app_registry_free(reg);
}

static void test_conflicts(void **state)
{
	struct app_registry *reg = app_registry_new();
	struct app_spec a = app("web", "10.1.0.1", 80, "tcp");
	struct app_spec dup = app("web", "10.1.0.2", 80, "tcp");
	struct app_spec clash = app("api", "10.1.0.1", 80, "tcp");
	struct app_spec udp = app("dns", "10.1.0.1", 80, "udp");
	struct app_spec port = app("alt", "10.1.0.1", 81, "tcp");
	struct app_err err;

	(void)state;
	assert_int_equal(app_registry_add(reg, &a, NULL, &err), 0);
	assert_int_equal(app_registry_add(reg, &dup, NULL, &err), -EEXIST);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.msg, "name: an app named \"web\" already exists");
	assert_int_equal(app_registry_add(reg, &clash, NULL, &err), -EADDRINUSE);
	assert_string_equal(err.field, "services[0]");
	assert_string_equal(err.msg,
			    "services[0]: 10.1.0.1:80/tcp is already served by app \"web\"");
	assert_null(app_registry_get(reg, "api"));
	/* Same VIP and port, other proto; same VIP, other port: no conflict. */
	assert_int_equal(app_registry_add(reg, &udp, NULL, &err), 0);
	assert_int_equal(app_registry_add(reg, &port, NULL, &err), 0);
	assert_int_equal(app_registry_count(reg), 3);
	app_registry_free(reg);
}

static void test_replace(void **state)
{
	struct app_registry *reg = app_registry_new();
	struct app_spec a = app("web", "10.1.0.1", 80, "tcp");
	struct app_spec b = app("db", "10.1.0.2", 5432, "tcp");
	struct app_spec web2 = app("web", "10.1.0.1", 80, "tcp"); /* its own claim: fine */
	struct app_spec steal = app("web", "10.1.0.2", 5432, "tcp");
	struct app_spec ghost = app("ghost", "10.1.0.9", 80, "tcp");
	const struct app_entry *e;
	struct app_err err;

	(void)state;
	assert_int_equal(app_registry_add(reg, &a, NULL, &err), 0);
	assert_int_equal(app_registry_add(reg, &b, NULL, &err), 0);
	web2.mem_mib = 256;
	assert_int_equal(app_registry_replace(reg, &web2, &e, &err), 0);
	assert_int_equal(e->version, 2);
	assert_int_equal(e->id, 0);
	assert_int_equal(e->spec.mem_mib, 256);
	assert_int_equal(app_registry_replace(reg, &steal, NULL, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "already served by app \"db\""));
	assert_int_equal(app_registry_replace(reg, &ghost, NULL, &err), -ENOENT);
	assert_string_equal(err.field, "name");
	app_registry_free(reg);
}

static void test_order_and_ids(void **state)
{
	static const char *names[] = {"m", "c", "x", "a", "q"};
	struct app_registry *reg = app_registry_new();
	struct app_err err;
	char vip[32];

	(void)state;
	for (int i = 0; i < 5; i++) {
		struct app_spec s;

		snprintf(vip, sizeof(vip), "10.2.0.%d", i + 1);
		s = app(names[i], vip, 80, "tcp");
		assert_int_equal(app_registry_add(reg, &s, NULL, &err), 0);
		assert_int_equal(app_registry_get(reg, names[i])->id, (uint32_t)i);
	}
	assert_string_equal(app_registry_at(reg, 0)->spec.name, "a");
	assert_string_equal(app_registry_at(reg, 1)->spec.name, "c");
	assert_string_equal(app_registry_at(reg, 4)->spec.name, "x");
	assert_null(app_registry_at(reg, 5));
	/* A freed id is the lowest free one: the next app gets it. */
	assert_int_equal(app_registry_del(reg, "c"), 0);
	{
		struct app_spec s = app("n", "10.2.0.9", 80, "tcp");
		const struct app_entry *e;

		assert_int_equal(app_registry_add(reg, &s, &e, &err), 0);
		assert_int_equal(e->id, 1);
	}
	app_registry_free(reg);
}

/* A restarted emberd puts apps back under their old ids; new apps skip them. */
static void test_restore_ids(void **state)
{
	struct app_registry *reg = app_registry_new();
	struct app_spec a = app("a", "10.3.0.1", 80, "tcp"), b = app("b", "10.3.0.2", 80, "tcp");
	struct app_spec c = app("c", "10.3.0.3", 80, "tcp"), b2 = app("b2", "10.3.0.2", 80, "tcp");
	const struct app_entry *e;
	struct app_err err;

	(void)state;
	assert_int_equal(app_registry_restore(reg, &a, 0, 7, &e, &err), 0);
	assert_int_equal(e->id, 0);
	assert_int_equal(e->version, 7);
	assert_int_equal(app_registry_restore(reg, &b, 2, 1, NULL, &err), 0);
	/* The next fresh app gets the lowest id nobody holds: 1. */
	assert_int_equal(app_registry_add(reg, &c, &e, &err), 0);
	assert_int_equal(e->id, 1);
	/* Taken id, out-of-range id, and a service claimed by "b": refused. */
	assert_int_equal(app_registry_del(reg, "c"), 0);
	assert_int_equal(app_registry_restore(reg, &c, 2, 1, NULL, &err), -EEXIST);
	assert_string_equal(err.field, "id");
	assert_non_null(strstr(err.msg, "app id 2 is already in use"));
	assert_int_equal(app_registry_restore(reg, &c, EMBER_MAX_APPS, 1, NULL, &err), -EINVAL);
	assert_int_equal(app_registry_restore(reg, &b2, 5, 1, NULL, &err), -EADDRINUSE);
	assert_int_equal(app_registry_count(reg), 2);
	/* A deleted restored app frees its id. */
	assert_int_equal(app_registry_del(reg, "b"), 0);
	assert_int_equal(app_registry_restore(reg, &c, 2, 1, &e, &err), 0);
	assert_int_equal(e->id, 2);
	app_registry_free(reg);
}

static void test_many(void **state)
{
	struct app_registry *reg = app_registry_new();
	struct app_err err;
	char name[16], vip[32];

	(void)state;
	/* Past several array growths; pointers to entries stay valid. */
	struct app_entry *first;

	for (int i = 0; i < 300; i++) {
		struct app_spec s;

		snprintf(name, sizeof(name), "app%d", i);
		snprintf(vip, sizeof(vip), "10.3.%d.%d", i / 200, i % 200 + 1);
		s = app(name, vip, 80, "tcp");
		assert_int_equal(app_registry_add(reg, &s, NULL, &err), 0);
	}
	first = app_registry_get(reg, "app0");
	for (int i = 1; i < 300; i += 2) {
		snprintf(name, sizeof(name), "app%d", i);
		assert_int_equal(app_registry_del(reg, name), 0);
	}
	assert_int_equal(app_registry_count(reg), 150);
	assert_ptr_equal(app_registry_get(reg, "app0"), first);
	assert_string_equal(first->spec.name, "app0");
	for (size_t i = 1; i < app_registry_count(reg); i++)
		assert_true(strcmp(app_registry_at(reg, i - 1)->spec.name,
				   app_registry_at(reg, i)->spec.name) < 0);
	app_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_del), cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_replace),	    cmocka_unit_test(test_order_and_ids),
		cmocka_unit_test(test_many),	    cmocka_unit_test(test_restore_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
