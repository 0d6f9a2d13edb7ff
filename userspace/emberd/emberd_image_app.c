/* SPDX-License-Identifier: Apache-2.0 */
/* An app's image made bootable: ember-init's run config from the image and the spec, its initramfs.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emberd.h"
#include "image/digest.h"
#include "image/oci.h"
#include "image/rootfs.h"
#include "image/user.h"
#include "../../vmm/fileio.h"

_Static_assert(APP_DIGEST_MAX == DIGEST_BUF_LEN, "an app's digest is a store digest");

/*
 * What a container runtime does with an image config, done here at deploy
 * so a bad image or spec is a 400 with its reason, not a guest that dies at
 * boot: argv from Entrypoint + Cmd (the spec's "command" replaces the
 * Entrypoint and drops the image's Cmd, its "args" replace Cmd, as
 * Kubernetes reads them), Env with the spec's "env" over it, User resolved
 * against the image's etc/passwd and etc/group, WorkingDir. The result is
 * ember-init's run config (docs/guest-run.md), appended to ember's
 * initramfs as ember/run: the guest reads it once, at boot; clones restored
 * from the snapshot never read it again.
 */

/* ember-init's bounds (vmm/guest/init/runcfg.h): refused here rather than at boot. */
#define RUN_FILE_MAX  (1u << 20)
#define RUN_VALUE_MAX (32u << 10)
#define RUN_ARGS_MAX  256
#define RUN_ENV_MAX   1024
#define RUN_PORTS_MAX 32

struct run {
	char *buf;
	size_t len, cap;
	unsigned int nargs, nenv;
	int err; /* the first error: -E2BIG (over a bound) or -ENOMEM */
};

/* Appends the record KEY LEN\n VALUE \n. */
static void rec(struct run *r, const char *key, const char *val)
{
	size_t vlen = strlen(val), need = strlen(key) + 24 + vlen;

	if (r->err)
		return;
	if (vlen > RUN_VALUE_MAX || r->len + need > RUN_FILE_MAX) {
		r->err = -E2BIG;
		return;
	}
	if (r->len + need > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		char *p;

		while (cap < r->len + need)
			cap *= 2;
		if (!(p = realloc(r->buf, cap))) {
			r->err = -ENOMEM;
			return;
		}
		r->buf = p, r->cap = cap;
	}
	r->len += (size_t)sprintf(r->buf + r->len, "%s %zu\n", key, vlen);
	memcpy(r->buf + r->len, val, vlen);
	r->len += vlen;
	r->buf[r->len++] = '\n';
}

static void recf(struct run *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void recf(struct run *r, const char *key, const char *fmt, ...)
{
	char v[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	rec(r, key, v);
}

/* ---- the spec's services and the image's ExposedPorts ---- */

/* A service without a port stands for every TCP and UDP port the image exposes. */
static int expand_services(struct app_spec *spec, const struct oci_config *c, struct app_err *err)
{
	struct app_service out[APP_SERVICES_MAX];
	unsigned int n = 0;
	char path[48];

	for (unsigned int i = 0; i < spec->nservices; i++) {
		const struct app_service *s = &spec->services[i];
		unsigned int added = 0;

		snprintf(path, sizeof(path), "services[%u].port", i);
		for (size_t p = 0; p < (s->port ? 1 : c->nports); p++) {
			struct app_service e = *s;

			if (!s->port) {
				if (c->ports[p].proto == OCI_PROTO_SCTP)
					continue;
				e.port = c->ports[p].port;
				e.proto = c->ports[p].proto == OCI_PROTO_UDP ? APP_PROTO_UDP
									     : APP_PROTO_TCP;
			}
			for (unsigned int j = 0; j < n; j++)
				if (app_service_equal(&out[j], &e))
					goto next; /* named twice (a port and the image's): once */
			if (n == APP_SERVICES_MAX)
				return app_fail(err, "services",
						"more than %d once the image's ExposedPorts are "
						"added",
						APP_SERVICES_MAX);
			out[n++] = e;
		next:
			added++;
		}
		if (!added)
			return app_fail(err, path,
					"is required: image %s exposes no TCP or UDP port",
					spec->image);
	}
	memcpy(spec->services, out, n * sizeof(out[0]));
	spec->nservices = n;
	return 0;
}

/* ---- the run config ---- */

static void add_argv(struct run *r, const struct app_spec *spec, const struct oci_config *c)
{
	if (spec->has_command)
		for (unsigned int i = 0; i < spec->ncommand; i++)
			rec(r, "arg", spec->command[i]), r->nargs++;
	else
		for (size_t i = 0; i < c->entrypoint.n; i++)
			rec(r, "arg", c->entrypoint.v[i]), r->nargs++;
	if (spec->has_args)
		for (unsigned int i = 0; i < spec->nargs; i++)
			rec(r, "arg", spec->args[i]), r->nargs++;
	else if (!spec->has_command)
		for (size_t i = 0; i < c->cmd.n; i++)
			rec(r, "arg", c->cmd.v[i]), r->nargs++;
}

/* NAME of "NAME=VALUE" is (name), (n) bytes. */
static bool env_is(const char *kv, const char *name, size_t n)
{
	return !strncmp(kv, name, n) && kv[n] == '=';
}

static const char *spec_env_get(const struct app_spec *spec, const char *kv)
{
	const char *p = spec->env, *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

	for (unsigned int i = 0; i < spec->nenv; i++, p += strlen(p) + 1)
		if (env_is(p, kv, n))
			return p;
	return NULL;
}

/* The image's Env in order, each replaced by the spec's value of that
 * name; then the spec's other names; then HOME from the user's passwd
 * entry when neither sets it (as runc does). */
static void add_env(struct run *r, const struct app_spec *spec, const struct oci_config *c,
		    const char *home)
{
	const char *p = spec->env, *own;
	bool has_home = false;

	for (size_t i = 0; i < c->env.n; i++) {
		own = spec_env_get(spec, c->env.v[i]);
		rec(r, "env", own ? own : c->env.v[i]), r->nenv++;
		has_home |= env_is(c->env.v[i], "HOME", 4);
	}
	for (unsigned int i = 0; i < spec->nenv; i++, p += strlen(p) + 1) {
		bool in_image = false;

		for (size_t j = 0; j < c->env.n && !in_image; j++)
			in_image = env_is(c->env.v[j], p, (size_t)(strchr(p, '=') - p));
		if (!in_image)
			rec(r, "env", p), r->nenv++;
		has_home |= env_is(p, "HOME", 4);
	}
	if (!has_home && home[0]) {
		char kv[PATH_MAX + 8];

		snprintf(kv, sizeof(kv), "HOME=%s", home);
		rec(r, "env", kv), r->nenv++;
	}
}

/* The services' ports, each (port, proto) once: the first TCP one is readiness. */
static void add_ports(struct run *r, const struct app_spec *spec)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < spec->nservices; i++) {
		const struct app_service *s = &spec->services[i];
		bool dup = false;

		for (unsigned int j = 0; j < i && !dup; j++)
			dup = spec->services[j].port == s->port &&
			      spec->services[j].proto == s->proto;
		if (!dup && n++ < RUN_PORTS_MAX)
			recf(r, "port", "%u/%s", s->port,
			     s->proto == APP_PROTO_UDP ? "udp" : "tcp");
	}
}

/* User (the spec's or the image's) through the image's etc files, kept at build. */
static int resolve_user(struct emberd *d, const struct app_spec *spec, const struct oci_config *c,
			uid_t *uid, gid_t *gid, char *home, size_t homelen, struct app_err *err)
{
	const char *user = spec->user[0] ? spec->user : c->user;
	char dir[PATH_MAX];
	struct img_err e;
	int fd, rc;

	rc = rootfs_users_path(images_rootfs_dir(d), spec->boot.digest, dir, sizeof(dir), &e);
	if (rc)
		return app_fail(err, "image", "%s", e.msg);
	/* No .users (a name needs it; a number does not): the rootfs directory has no etc. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = open(images_rootfs_dir(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return app_fail(err, "image", "%s: %s", dir, strerror(errno));
	rc = user_resolve(fd, user, uid, gid, home, homelen, &e);
	close(fd);
	if (rc)
		return app_fail(err, spec->user[0] ? "user" : "image",
				"user \"%s\" of image %s: %s", user, spec->image, e.msg);
	return 0;
}

static int build_run(struct emberd *d, const struct app_spec *spec, const struct oci_config *c,
		     struct run *r, struct app_err *err)
{
	char home[PATH_MAX];
	uid_t uid;
	gid_t gid;
	int rc = resolve_user(d, spec, c, &uid, &gid, home, sizeof(home), err);

	if (rc)
		return rc;
	add_argv(r, spec, c);
	if (!r->err && !r->nargs)
		return app_fail(err, "command",
				"is required: image %s has neither Entrypoint nor Cmd",
				spec->image);
	add_env(r, spec, c, home);
	rec(r, "workdir", spec->workdir[0] ? spec->workdir : c->workdir[0] ? c->workdir : "/");
	recf(r, "uid", "%u", (unsigned int)uid);
	recf(r, "gid", "%u", (unsigned int)gid);
	rec(r, "hostname", spec->name);
	rec(r, "root", "/dev/vda");
	rec(r, "fstype", rootfs_fs_name(images_fs(d)));
	add_ports(r, spec);
	if (r->err == -E2BIG || r->nargs > RUN_ARGS_MAX || r->nenv > RUN_ENV_MAX)
		return app_fail(err, "image",
				"image %s with this spec is over ember-init's bounds (%u args, %u "
				"env entries, each at most %u bytes, %u bytes in all)",
				spec->image, RUN_ARGS_MAX, RUN_ENV_MAX, RUN_VALUE_MAX,
				RUN_FILE_MAX);
	return r->err ? app_fail(err, "", "out of memory") : 0;
}

/* ---- resolve ---- */

static int resolve_host(struct emberd *d, struct app_spec *spec, struct app_err *err)
{
	for (unsigned int i = 0; i < d->o.nhost_images; i++)
		if (!strcmp(d->o.host_images[i].name, spec->host_image)) {
			spec->boot = d->o.host_images[i].boot;
			return 0;
		}
	return app_fail(err, "image.host",
			"no host image \"%s\" in emberd's configuration (host_images)",
			spec->host_image);
}

static int resolve_oci(struct emberd *d, struct app_spec *spec, struct run *r, struct app_err *err)
{
	struct oci_config c;
	struct img_err e;
	int rc;

	memset(&spec->boot, 0, sizeof(spec->boot));
	rc = images_resolve(d, spec->image, spec->boot.digest, &c, &e);
	if (rc)
		return app_fail(err, "image", "%s", e.msg);
	rc = oci_config_check_platform(&c, "linux", "amd64", &e);
	if (rc)
		app_fail(err, "image", "image %s: %s", spec->image, e.msg);
	if (!rc && rootfs_path(images_rootfs_dir(d), spec->boot.digest, images_fs(d),
			       spec->boot.rootfs, sizeof(spec->boot.rootfs), &e))
		rc = app_fail(err, "image", "image %s: %s", spec->image, e.msg);
	if (!rc && access(spec->boot.rootfs, R_OK))
		rc = app_fail(err, "image",
			      "image %s: its root filesystem %s is missing (import or pull it "
			      "again to build it)",
			      spec->image, spec->boot.rootfs);
	if (!rc && (!d->o.guest_kernel || !d->o.guest_initramfs))
		rc = app_fail(err, "image", "emberd has no guest kernel and initramfs configured");
	if (!rc) {
		snprintf(spec->boot.kernel, sizeof(spec->boot.kernel), "%s", d->o.guest_kernel);
		rc = expand_services(spec, &c, err);
	}
	if (!rc)
		rc = build_run(d, spec, &c, r, err);
	oci_config_free(&c);
	return rc;
}

int image_app_resolve(struct emberd *d, struct app_spec *spec, char **run, size_t *runlen,
		      struct app_err *err)
{
	struct run r = {0};
	int rc;

	*run = NULL;
	*runlen = 0;
	if (!spec->image[0])
		return resolve_host(d, spec, err) ? -EINVAL : 0;
	rc = resolve_oci(d, spec, &r, err);
	if (rc) {
		free(r.buf);
		return -EINVAL;
	}
	*run = r.buf;
	*runlen = r.len;
	return 0;
}

/* ---- the initramfs ---- */

/* An archive of one file, ember/run (0400: the env may hold secrets), to (fd). */
static int append_run(int fd, const char *run, size_t runlen, char *why, size_t whylen)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int rc = -EIO;

	if (!a || !e)
		goto out;
	archive_entry_set_pathname(e, "ember/run");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0400);
	archive_entry_set_size(e, (la_int64_t)runlen);
	archive_entry_set_nlink(e, 1);
	if (archive_write_set_format_cpio_newc(a) == ARCHIVE_OK &&
	    archive_write_open_fd(a, fd) == ARCHIVE_OK &&
	    archive_write_header(a, e) == ARCHIVE_OK &&
	    archive_write_data(a, run, runlen) == (la_ssize_t)runlen &&
	    archive_write_close(a) == ARCHIVE_OK)
		rc = 0;
	else
		snprintf(why, whylen, "writing the run config: %s", archive_error_string(a));
out:
	archive_entry_free(e);
	archive_write_free(a);
	return rc;
}

/* Copies ember's initramfs into (out), zero-padded to 4 bytes: the kernel
 * skips zeros between concatenated archives but wants each header aligned. */
static int copy_base(const char *base, int out, char *why, size_t whylen)
{
	static const char zeros[4];
	char buf[1 << 16];
	int in = open(base, O_RDONLY | O_CLOEXEC), rc = 0;
	uint64_t total = 0;
	ssize_t n;

	if (in < 0) {
		snprintf(why, whylen, "guest initramfs %s: %s", base, strerror(errno));
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0 && !rc)
		if (!(rc = file_rw_all(out, true, buf, (uint64_t)n, total)))
			total += (uint64_t)n;
	if (n < 0)
		rc = -errno;
	close(in);
	if (!rc && total % 4)
		rc = file_rw_all(out, true, (void *)zeros, 4 - total % 4, total);
	if (!rc && lseek(out, 0, SEEK_END) < 0)
		rc = -errno;
	if (rc)
		snprintf(why, whylen, "copying the guest initramfs %s: %s", base, strerror(-rc));
	return rc;
}

int image_app_initrd(struct emberd *d, struct app_spec *spec, const char *dir, const char *run,
		     size_t runlen, char *why, size_t whylen)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/initrd.cpio", dir) >= (int)sizeof(spec->boot.initrd) ||
	    snprintf(tmp, sizeof(tmp), "%s/initrd.cpio.tmp", dir) >= (int)sizeof(tmp)) {
		snprintf(why, whylen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	rc = copy_base(d->o.guest_initramfs, fd, why, whylen);
	if (!rc)
		rc = append_run(fd, run, runlen, why, whylen);
	if (!rc && fsync(fd))
		rc = -errno, snprintf(why, whylen, "%s: fsync: %s", tmp, strerror(errno));
	close(fd);
	if (!rc && rename(tmp, path))
		rc = -errno, snprintf(why, whylen, "%s: rename: %s", path, strerror(errno));
	if (rc) {
		unlink(tmp);
		return rc;
	}
	memcpy(spec->boot.initrd, path, strlen(path) + 1); /* fits: checked above */
	return 0;
}
