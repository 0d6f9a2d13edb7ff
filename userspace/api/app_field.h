// SPDX-License-Identifier: Apache-2.0
/* Field checkers behind app_spec.c: typed JSON reads with ranges, names, addresses, paths. */
#ifndef EMBER_USERSPACE_APP_FIELD_H
#define EMBER_USERSPACE_APP_FIELD_H

#include "app_spec.h"

/*
 * Every function here gets the JSON path of the value it checks (path, e.g.
 * "services[1].port") so the message it writes into (err) names the field.
 * Each returns 0 or -EINVAL with (err) filled.
 */

/* (path) = (parent).(key), or (key) at the top level. */
void app_path_key(char *path, size_t len, const char *parent, const char *key);
/* (path) = (parent)[(i)]. */
void app_path_index(char *path, size_t len, const char *parent, size_t i);

/* An integer in [min, max]. */
int app_read_u32(const json_t *v, const char *path, uint32_t min, uint32_t max, uint32_t *out,
		 struct app_err *err);

/* A string of at most (size - 1) bytes without NUL or control bytes,
 * copied into (buf). (allow_empty) false refuses "". */
int app_read_str(const json_t *v, const char *path, char *buf, size_t size, bool allow_empty,
		 struct app_err *err);

/* An object / an array with (min)-(max) elements. */
int app_need_object(const json_t *v, const char *path, struct app_err *err);
int app_need_array(const json_t *v, const char *path, size_t min, size_t max, struct app_err *err);

/* Semantic checks on strings already read. */
int app_check_host_path(const char *s, const char *path, bool disk, struct app_err *err);
int app_check_exec(const char *s, const char *path, struct app_err *err);
int app_check_arg(const char *s, const char *path, struct app_err *err);
int app_check_cmdline(const char *s, const char *path, struct app_err *err);

/* A VIP: an IPv4 or IPv6 literal that can be a destination on the wire. */
int app_parse_vip(const char *s, const char *path, struct app_service *svc, struct app_err *err);
/* The canonical text of (svc)'s VIP into (buf) (INET6_ADDRSTRLEN is enough). */
void app_format_vip(const struct app_service *svc, char *buf, size_t len);

#endif
