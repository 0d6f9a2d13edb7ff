/* SPDX-License-Identifier: Apache-2.0 */
/* A misbehaving registry for emberd_pull.sh: a 500 for a manifest, a layer that stalls mid-way. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

/*
 * Usage: hostile_registry LAYOUT MANIFEST_DIGEST
 *
 * Listens on 127.0.0.1, on a port the kernel picks, prints "port N" and
 * serves until killed:
 *
 *   /v2/                           200 {}
 *   /v2/broken/manifests/ANY       500 with the distribution spec's error JSON
 *   /v2/stall/manifests/ANY        LAYOUT's blob MANIFEST_DIGEST (an OCI manifest)
 *   /v2/stall/blobs/DIGEST         LAYOUT's blob; one over STALL_MIN bytes (a
 *                                  layer: configs are smaller) is cut after
 *                                  half of it, then nothing more is sent for
 *                                  STALL_S seconds, the connection held open
 *   anything else                  404
 *
 * A thread per connection: a stalled transfer holds only its own thread.
 */
#define STALL_MIN (64 << 10)
#define STALL_S	  120

static const char *layout, *manifest;

/* Blob (digest) of the layout into a malloc'd buffer; NULL when it is not there. */
static char *blob_read(const char *digest, size_t *len)
{
	char path[4096];
	struct stat sb;
	char *buf = NULL;
	int fd;

	if (strncmp(digest, "sha256:", 7) || strlen(digest) != 71 || strchr(digest, '/'))
		return NULL;
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, digest + 7);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &sb) && (buf = malloc((size_t)sb.st_size + 1)) &&
	    read(fd, buf, (size_t)sb.st_size) != sb.st_size) {
		free(buf);
		buf = NULL;
	}
	*len = buf ? (size_t)sb.st_size : 0;
	close(fd);
	return buf;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len, const char *digest)
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

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code,
				   const char *msg)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}", code,
		 msg);
	return reply(c, status, "application/json", body, strlen(body), NULL);
}

/* A blob announced whole, cut after half: a registry that hangs mid-layer. */
struct stall {
	char *buf;
	size_t len;
};

static ssize_t stall_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stall *s = cls;
	size_t half = s->len / 2;

	if (pos < half) {
		size_t n = half - pos < max ? half - pos : max;

		memcpy(out, s->buf + pos, n);
		return (ssize_t)n;
	}
	sleep(STALL_S);
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stall_free(void *cls)
{
	struct stall *s = cls;

	free(s->buf);
	free(s);
}

static enum MHD_Result blob(struct MHD_Connection *c, const char *digest)
{
	struct MHD_Response *r;
	struct stall *s;
	enum MHD_Result ret;
	size_t len;
	char *buf = blob_read(digest, &len);

	if (!buf)
		return reply_error(c, 404, "BLOB_UNKNOWN", "blob unknown to registry");
	if (len <= STALL_MIN) {
		ret = reply(c, 200, "application/octet-stream", buf, len, digest);
		free(buf);
		return ret;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		free(buf);
		return MHD_NO;
	}
	*s = (struct stall){buf, len};
	r = MHD_create_response_from_callback(len, 4096, stall_read, s, stall_free);
	MHD_add_response_header(r, "Content-Type", "application/octet-stream");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_len, void **state)
{
	static const char mt[] = "application/vnd.oci.image.manifest.v1+json";
	enum MHD_Result ret;
	size_t len;
	char *buf;

	(void)cls, (void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_error(c, 405, "UNSUPPORTED", "read-only");
	if (!strcmp(url, "/v2/"))
		return reply(c, 200, "application/json", "{}", 2, NULL);
	if (!strncmp(url, "/v2/broken/manifests/", 21))
		return reply_error(c, 500, "UNKNOWN", "the hostile registry fails on purpose");
	if (!strncmp(url, "/v2/stall/blobs/", 16))
		return blob(c, url + 16);
	if (strncmp(url, "/v2/stall/manifests/", 20) || !(buf = blob_read(manifest, &len)))
		return reply_error(c, 404, "NAME_UNKNOWN", "repository name not known to registry");
	ret = reply(c, 200, mt, buf, len, manifest);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;

	if (argc != 3) {
		fprintf(stderr, "usage: %s LAYOUT MANIFEST_DIGEST\n", argv[0]);
		return 2;
	}
	layout = argv[1];
	manifest = argv[2];
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			     NULL, NULL, serve, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
	info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info) {
		fprintf(stderr, "hostile_registry: cannot listen on 127.0.0.1: %s\n",
			strerror(errno));
		return 1;
	}
	printf("port %u\n", info->port);
	fflush(stdout);
	for (;;)
		pause();
}
