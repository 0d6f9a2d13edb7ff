/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's image jobs: an import or a pull, then the root filesystem, in a forked child. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emberd.h"
#include "image/import.h"
#include "image/layer.h"
#include "image/rootfs.h"
#include "image/store.h"

#define IMAGE_JOBS_KEPT 16 /* finished jobs are forgotten, oldest first, past this */
#define JOB_FD		3  /* the pipe's write end in the child */

enum job_state { J_QUEUED, J_RUNNING, J_DONE, J_FAILED };
static const char *const job_state_name[] = {"queued", "running", "done", "failed"};

struct image_job {
	unsigned int id; /* 0: a free slot */
	enum job_state state;
	char path[PATH_MAX];	      /* what is imported, or the reference pulled */
	struct image_pull *pull;      /* NULL: an import (emberd_image_pull.c) */
	char name[STORE_REF_MAX + 1]; /* "" = the archive's own name */
	const char *phase;	      /* "import"/"pull", "rootfs", NULL before the child says */
	unsigned int layer, layers;
	uint64_t done, total; /* bytes of layer (layer) */
	json_t *result;	      /* the child's result line, parsed */
	char error[600];
	pid_t pid;
	struct watch pidw, pipew;
	char buf[8192]; /* a line being read */
	size_t len;
};

struct image_jobs {
	struct store *st;
	char dir[PATH_MAX];	   /* STATE/images */
	char rootfs[PATH_MAX + 8]; /* STATE/images/rootfs */
	struct image_job jobs[IMAGE_JOBS_KEPT];
	unsigned int next_id;
	struct layer_limits limits; /* each root filesystem's (--image-max-bytes, -entries) */
	enum rootfs_fs fs;	    /* what root filesystems are built as ("image_fs") */
};

bool images_busy(const struct emberd *d)
{
	for (int i = 0; i < IMAGE_JOBS_KEPT; i++)
		if (d->img->jobs[i].id && d->img->jobs[i].state <= J_RUNNING)
			return true;
	return false;
}

struct store *images_store(const struct emberd *d)
{
	return d->img->st;
}

const char *images_rootfs_dir(const struct emberd *d)
{
	return d->img->rootfs;
}

int images_fs(const struct emberd *d)
{
	return d->img->fs;
}

/* ---- the child ---- */

static void child_progress(void *ctx, unsigned layer, unsigned layers, uint64_t done,
			   uint64_t total)
{
	(void)ctx;
	dprintf(JOB_FD, "import %u %u %" PRIu64 " %" PRIu64 "\n", layer, layers, done, total);
}

static void __attribute__((noreturn)) child_fail(const struct img_err *e)
{
	char msg[sizeof(e->msg)];

	/* One line: mkfs's output, quoted in the message, may hold newlines. */
	snprintf(msg, sizeof(msg), "%s", e->msg);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	dprintf(JOB_FD, "error %s\n", msg);
	_exit(1);
}

/* The root filesystem is built before the import names the image: a layer
 * that cannot be applied fails the import, which removes what it wrote. */
struct child_build {
	const struct rootfs_opts *o;
	struct rootfs_result *res;
};

static int child_rootfs(void *ctx, struct store *st, const char *manifest, struct img_err *e)
{
	struct child_build *b = ctx;

	dprintf(JOB_FD, "rootfs\n");
	return rootfs_build(st, manifest, b->o, b->res, e);
}

static void child_result(const struct import_result *ir, const struct rootfs_result *rr)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:b,s:I}", "ref", ir->ref,
			      "manifest", ir->manifest, "config", ir->config, "format",
			      import_format_name(ir->format), "layers", ir->layers, "bytes_written",
			      (json_int_t)ir->bytes_written, "bytes_skipped",
			      (json_int_t)ir->bytes_skipped, "rootfs", rr->path, "rootfs_cached",
			      rr->cached, "rootfs_bytes", (json_int_t)rr->image_bytes);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	dprintf(JOB_FD, "result %s\n", s ? s : "{}");
}

/*
 * The job itself, in the child: a store of its own (the parent reopens its
 * one afterwards, refs.json having changed), the import, the root
 * filesystem. A parser that a hostile image crashes takes only this down.
 */
static void __attribute__((noreturn))
job_child(struct image_jobs *im, const struct image_job *j, int wfd)
{
	struct rootfs_opts ro = {.dir = im->rootfs, .fs = im->fs, .limits = im->limits};
	struct import_result ir;
	struct rootfs_result rr;
	struct child_build cb = {&ro, &rr};
	struct import_opts io = {
		.progress = child_progress, .check = child_rootfs, .check_ctx = &cb};
	struct store *st;
	struct img_err e;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(wfd, JOB_FD) < 0)
		_exit(126);
	/* Nothing of emberd's (API socket, taps, pidfds) stays open in here. */
	syscall(SYS_close_range, JOB_FD + 1, ~0u, 0);
	if (store_open(im->dir, &st, &e))
		child_fail(&e);
	dprintf(JOB_FD, "import 0 0 0 0\n");
	if (j->pull ? image_pull_run(st, j->pull, j->name[0] ? j->name : NULL, &io, &ir, &e)
		    : image_import(st, j->path, j->name[0] ? j->name : NULL, &io, &ir, &e))
		child_fail(&e);
	child_result(&ir, &rr);
	_exit(0);
}

/* ---- the parent: the child's lines, its exit ---- */

static void job_line(struct image_job *j, char *line)
{
	unsigned int l, n;
	uint64_t done, total;

	if (sscanf(line, "import %u %u %" SCNu64 " %" SCNu64, &l, &n, &done, &total) == 4) {
		j->phase = j->pull ? "pull" : "import";
		j->layer = l, j->layers = n, j->done = done, j->total = total;
	} else if (!strcmp(line, "rootfs")) {
		j->phase = "rootfs";
	} else if (!strncmp(line, "result ", 7)) {
		json_decref(j->result);
		j->result = json_loads(line + 7, 0, NULL);
	} else if (!strncmp(line, "error ", 6)) {
		snprintf(j->error, sizeof(j->error), "%s", line + 6);
	} else {
		log_err("image job %u: a line its child should not write: %.80s", j->id, line);
	}
}

static void on_pipe(struct emberd *d, struct watch *w, uint32_t events)
{
	struct image_job *j = w->obj;
	ssize_t n;

	(void)events;
	while (w->fd >= 0 && (n = read(w->fd, j->buf + j->len, sizeof(j->buf) - 1 - j->len)) > 0) {
		char *nl, *p = j->buf;

		j->len += (size_t)n;
		j->buf[j->len] = 0;
		while ((nl = strchr(p, '\n'))) {
			*nl = 0;
			job_line(j, p);
			p = nl + 1;
		}
		j->len -= (size_t)(p - j->buf);
		memmove(j->buf, p, j->len);
		if (j->len == sizeof(j->buf) - 1) /* no newline in 8 KiB: not ours */
			j->len = 0;
	}
	if (w->fd >= 0 && n == 0)
		watch_del(d, w);
}

static void job_start(struct emberd *d, struct image_job *j);

/* The next queued job, oldest first, once none runs. */
static void jobs_next(struct emberd *d)
{
	struct image_job *next = NULL;

	for (int i = 0; i < IMAGE_JOBS_KEPT; i++) {
		struct image_job *j = &d->img->jobs[i];

		if (j->id && j->state == J_RUNNING)
			return;
		if (j->id && j->state == J_QUEUED && (!next || j->id < next->id))
			next = j;
	}
	if (next)
		job_start(d, next);
}

/* The child changed refs.json: the loop's store reads it again. */
static void store_reload(struct emberd *d)
{
	struct store *st;
	struct img_err e;

	if (store_open(d->img->dir, &st, &e)) {
		log_err("image store: reopening after a job: %s (references shown may be stale)",
			e.msg);
		return;
	}
	store_close(d->img->st);
	d->img->st = st;
}

static void job_end(struct image_job *j, int status)
{
	if (WIFEXITED(status) && !WEXITSTATUS(status) && j->result) {
		j->state = J_DONE;
		return;
	}
	j->state = J_FAILED;
	if (j->error[0])
		return;
	if (WIFSIGNALED(status))
		snprintf(j->error, sizeof(j->error),
			 "the job's process was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(j->error, sizeof(j->error),
			 "the job's process exited with status %d without a result",
			 WEXITSTATUS(status));
}

static void on_pidfd(struct emberd *d, struct watch *w, uint32_t events)
{
	struct image_job *j = w->obj;
	int status = 0;

	(void)events;
	if (w->fd < 0 || waitpid(j->pid, &status, WNOHANG) != j->pid)
		return;
	on_pipe(d, &j->pipew, EPOLLIN); /* what it wrote before it exited */
	watch_del(d, &j->pipew);
	watch_del(d, w);
	job_end(j, status);
	if (j->state == J_DONE)
		log_info("image job %u: %s %s (%s)", j->id,
			 json_string_value(json_object_get(j->result, "ref")),
			 j->pull ? "pulled" : "imported", j->path);
	else
		log_err("image job %u (%s): %s", j->id, j->path, j->error);
	store_reload(d);
	jobs_next(d);
}

static int job_fork(struct emberd *d, struct image_job *j)
{
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	j->pid = fork();
	if (j->pid < 0) {
		rc = -errno;
		close(p[0]), close(p[1]);
		return rc;
	}
	if (j->pid == 0)
		job_child(d->img, j, p[1]);
	image_pull_forget(j->pull); /* the child has the credentials now */
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	j->pipew = (struct watch){.fd = p[0], .fn = on_pipe, .obj = j};
	j->pidw = (struct watch){
		.fd = (int)syscall(SYS_pidfd_open, j->pid, 0), .fn = on_pidfd, .obj = j};
	rc = j->pidw.fd < 0 ? -errno : watch_add(d, &j->pidw, EPOLLIN);
	if (!rc)
		rc = watch_add(d, &j->pipew, EPOLLIN);
	if (rc) {
		kill(j->pid, SIGKILL);
		waitpid(j->pid, NULL, 0);
		watch_del(d, &j->pidw);
		watch_del(d, &j->pipew);
	}
	return rc;
}

static void job_start(struct emberd *d, struct image_job *j)
{
	int rc = job_fork(d, j);

	if (rc) {
		j->state = J_FAILED;
		image_pull_forget(j->pull);
		snprintf(j->error, sizeof(j->error), "starting the job's process: %s",
			 strerror(-rc));
		log_err("image job %u: %s", j->id, j->error);
		return;
	}
	j->state = J_RUNNING;
	log_info("image job %u: %s %s (pid %d)", j->id, j->pull ? "pulling" : "importing", j->path,
		 j->pid);
}

/* A free slot, else the oldest finished job's; NULL when all 16 wait or run. */
static struct image_job *job_slot(struct image_jobs *im)
{
	struct image_job *old = NULL;

	for (int i = 0; i < IMAGE_JOBS_KEPT; i++) {
		struct image_job *j = &im->jobs[i];

		if (!j->id)
			return j;
		if (j->state >= J_DONE && (!old || j->id < old->id))
			old = j;
	}
	if (old) {
		json_decref(old->result);
		image_pull_free(old->pull);
	}
	return old;
}

int images_queue(struct emberd *d, const char *source, const char *name, struct image_pull *pull,
		 struct api_reply *rep)
{
	struct image_job *j = job_slot(d->img);

	if (!j) {
		image_pull_free(pull);
		return api_error(rep, 503, NULL, "%d image jobs are queued or running already",
				 IMAGE_JOBS_KEPT);
	}
	*j = (struct image_job){.id = ++d->img->next_id, .state = J_QUEUED, .pull = pull};
	j->pidw.fd = j->pipew.fd = -1;
	snprintf(j->path, sizeof(j->path), "%s", source);
	snprintf(j->name, sizeof(j->name), "%s", name ? name : "");
	jobs_next(d);
	rep->status = 202;
	rep->json = json_pack("{s:i,s:s}", "job", j->id, "state", job_state_name[j->state]);
	return 0;
}

int images_import(void *ctx, const char *path, const char *name, struct api_reply *rep)
{
	return images_queue(ctx, path, name, NULL, rep);
}

static json_t *job_json(const struct image_job *j)
{
	json_t *o = json_pack("{s:i,s:s}", "id", j->id, "state", job_state_name[j->state]);

	if (j->pull)
		image_pull_json(j->pull, o);
	else
		json_object_set_new(o, "import", json_string(j->path));
	json_object_set_new(o, "name", j->name[0] ? json_string(j->name) : json_null());
	json_object_set_new(o, "phase", j->phase ? json_string(j->phase) : json_null());

	json_object_set_new(o, "progress",
			    json_pack("{s:i,s:i,s:I,s:I}", "layer", j->layer, "layers", j->layers,
				      "bytes_done", (json_int_t)j->done, "bytes_total",
				      (json_int_t)j->total));
	if (j->state == J_DONE)
		json_object_set(o, "result", j->result);
	if (j->state == J_FAILED)
		json_object_set_new(o, "error", json_string(j->error));
	return o;
}

int images_job(void *ctx, unsigned int id, struct api_reply *rep)
{
	struct emberd *d = ctx;

	for (int i = 0; i < IMAGE_JOBS_KEPT; i++)
		if (d->img->jobs[i].id == id) {
			rep->json = job_json(&d->img->jobs[i]);
			return 0;
		}
	return api_error(rep, 404, NULL, "no image job %u (the last %d are kept)", id,
			 IMAGE_JOBS_KEPT);
}

/* ---- start and stop ---- */

/* What a build killed with emberd left: rootfs_build() leaves tmp-XXXXXX to
 * whoever knows no other build runs, and at start none does. */
static void rootfs_tmp_sweep(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *de;

	while (dh && (de = readdir(dh)))
		if (!strncmp(de->d_name, "tmp-", 4)) {
			int rc = rootfs_remove(dirfd(dh), de->d_name);

			if (rc)
				log_err("image store: removing %s/%s: %s", dir, de->d_name,
					strerror(-rc));
			else
				log_info("image store: removed %s/%s, left by a build", dir,
					 de->d_name);
		}
	if (dh)
		closedir(dh);
}

int images_open(struct emberd *d)
{
	struct image_jobs *im = calloc(1, sizeof(*im));
	struct img_err e;
	int rc;

	if (!im)
		return -ENOMEM;
	d->img = im;
	snprintf(im->dir, sizeof(im->dir), "%s/images", d->o.state_dir);
	snprintf(im->rootfs, sizeof(im->rootfs), "%s/rootfs", im->dir);
	im->fs = d->o.image_ext4 ? ROOTFS_EXT4 : ROOTFS_EROFS;
	im->limits = (struct layer_limits){.max_bytes = d->o.image_max_bytes,
					   .max_entries = d->o.image_max_entries};
	rc = emberd_mkdir_p(im->rootfs);
	if (rc) {
		log_err("image store %s: %s", im->rootfs, strerror(-rc));
		return rc;
	}
	rc = store_open(im->dir, &im->st, &e);
	if (rc) {
		log_err("%s", e.msg);
		return rc;
	}
	rootfs_tmp_sweep(im->rootfs);
	return 0;
}

void images_close(struct emberd *d)
{
	struct image_jobs *im = d->img;

	if (!im)
		return;
	for (int i = 0; i < IMAGE_JOBS_KEPT; i++) {
		struct image_job *j = &im->jobs[i];

		if (j->id && j->state == J_RUNNING) {
			/* Its temporary files go at the next start (store_open, the sweep). */
			kill(j->pid, SIGKILL);
			waitpid(j->pid, NULL, 0);
			watch_del(d, &j->pidw);
			watch_del(d, &j->pipew);
		}
		json_decref(j->result);
		image_pull_free(j->pull);
	}
	store_close(im->st);
	free(im);
	d->img = NULL;
}
