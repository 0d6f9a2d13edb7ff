/* SPDX-License-Identifier: Apache-2.0 */
/* A client of the OCI distribution API (Docker Registry HTTP API V2): manifests and blobs. */
#ifndef EMBER_USERSPACE_IMAGE_REGISTRY_H
#define EMBER_USERSPACE_IMAGE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "img_err.h"

/*
 * The defaults of struct registry_opts. An index or manifest is a small JSON
 * document (Docker Hub refuses more than 4 MiB), so the client refuses more
 * before it parses anything; a transfer that sends nothing for the stall
 * timeout has hung, however big the blob.
 */
#define REGISTRY_MANIFEST_MAX	   (4u << 20)
#define REGISTRY_CONNECT_TIMEOUT_S 15
#define REGISTRY_STALL_TIMEOUT_S   30
#define REGISTRY_USER_AGENT	   "ember/0.1"

/* The Accept list of a manifest request: what ember can read, index first. */
#define REGISTRY_ACCEPT                                                                            \
	"application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "    \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                              \
	"application/vnd.docker.distribution.manifest.v2+json"

/* How to reach one registry; a zeroed struct (or NULL) means HTTPS, anonymous, the defaults. */
struct registry_opts {
	int insecure;		    /* plain HTTP: only for localhost, 127.0.0.0/8 and [::1] */
	const char *username;	    /* NULL: anonymous; sent only when the registry asks */
	const char *password;	    /* with (username) */
	unsigned connect_timeout_s; /* 0: REGISTRY_CONNECT_TIMEOUT_S */
	unsigned stall_timeout_s;   /* no byte for this long mid-transfer fails; 0: default */
	size_t manifest_max;	    /* 0: REGISTRY_MANIFEST_MAX */
	const char *user_agent;	    /* NULL: REGISTRY_USER_AGENT */
};

/* A manifest or index as the registry sent it; nothing in it is verified. */
struct registry_doc {
	char *data; /* (len) bytes, malloc'd, plus a NUL not counted */
	size_t len;
	char media_type[256]; /* Content-Type without parameters; "" when absent */
	char digest[160];     /* Docker-Content-Digest; "" when absent */
};

struct registry;

/*
 * Prepares a client of the registry at (host) ("registry-1.docker.io",
 * "localhost:5000", "[::1]:5000") with options (o) (may be NULL); nothing is
 * sent yet. Returns 0 and sets (*out), or -EINVAL for a malformed host, -EPERM
 * for o->insecure with a host that is not local, -ENOMEM; fills (e) on failure.
 */
int registry_new(const char *host, const struct registry_opts *o, struct registry **out,
		 struct img_err *e) __attribute__((warn_unused_result));

/*
 * The checks of registry_new() alone, for a caller that must refuse a request
 * before it goes anywhere: (host)'s form, plain HTTP only to this machine,
 * a user (without ':') and a password or neither. Nothing is allocated.
 * Returns 0, -EINVAL or -EPERM (insecure to a host that is not local); fills (e).
 */
int registry_opts_check(const char *host, const struct registry_opts *o, struct img_err *e)
	__attribute__((warn_unused_result));

/* Frees (reg) (may be NULL), its cached tokens and its connections. */
void registry_free(struct registry *reg);

/*
 * Fetches the manifest or index (reference) (a tag "7" or a digest
 * "sha256:<hex>") of repository (repo) ("library/redis") into (out),
 * authenticating as the registry asks. Returns 0, or -EINVAL (bad repo or
 * reference), -ENOENT (the registry does not know it), -EACCES (refused),
 * -EFBIG (over the manifest limit), -ETIMEDOUT, -ECONNREFUSED, -EIO, -EPROTO
 * (an answer that makes no sense); fills (e) on failure, when (out) holds
 * nothing. One struct registry serves one thread at a time.
 */
int registry_get_manifest(struct registry *reg, const char *repo, const char *reference,
			  struct registry_doc *out, struct img_err *e)
	__attribute__((warn_unused_result));

/* Frees what registry_get_manifest() put in (doc) and empties it; (doc) itself is the caller's. */
void registry_doc_free(struct registry_doc *doc);

/*
 * Receives a blob's bytes in order; returns 0, or a negative errno that aborts
 * the transfer. It may fill the struct img_err the caller gave
 * registry_get_blob() (through its own (ctx)) with its reason, which is kept.
 */
typedef int (*registry_sink_fn)(void *ctx, const void *buf, size_t n);

/* Told (done) bytes of (total) after each piece; (total) is 0 when unknown. */
typedef void (*registry_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/*
 * Streams blob (digest) of (repo) into (sink), following the registry's
 * redirects (to its storage) without sending credentials to another host.
 * (expected_size) >= 0 is the size the manifest gives: more bytes, or fewer,
 * fail (-EFBIG, -EIO); < 0 bounds nothing. (progress) may be NULL. Returns 0,
 * the sink's error, or the errors of registry_get_manifest(); on failure the
 * sink may have had part of the blob, which the caller throws away. The
 * caller verifies the digest.
 */
int registry_get_blob(struct registry *reg, const char *repo, const char *digest,
		      int64_t expected_size, registry_sink_fn sink, void *ctx,
		      registry_progress_fn progress, struct img_err *e)
	__attribute__((warn_unused_result));

/* --- Internal: shared by registry.c, registry_http.c, registry_auth.c (and the unit test) --- */

/*
 * A Bearer token cached for one scope ("repository:library/redis:pull"). Its
 * expires_in is not read: when the registry refuses it, a new one replaces it.
 */
struct reg_token {
	struct reg_token *next;
	char *scope;
	char *header; /* "Authorization: Bearer ..." */
};

struct registry {
	char host[256];	    /* as given: "localhost:5000" */
	char base[272];	    /* "https://localhost:5000" */
	char *cred_header;  /* "Authorization: Basic ..." from the options, or NULL */
	int basic;	    /* the registry asked for Basic: send cred_header everywhere */
	unsigned connect_s; /* the options, defaults applied */
	unsigned stall_s;
	size_t manifest_max;
	char *agent;
	struct reg_token *tokens;
	CURL *curl; /* one handle: its connections are reused */
	char errbuf[CURL_ERROR_SIZE];
};

/* One HTTP GET: where its body goes and what came back. */
struct reg_xfer {
	const char *what;      /* the object, for messages: "redis:7", "sha256:..." */
	const char *accept;    /* an Accept value, or NULL */
	registry_sink_fn sink; /* a 2xx body goes here; NULL: into (buf) */
	registry_progress_fn progress;
	void *ctx;
	size_t max;	  /* (buf)'s limit */
	int64_t expected; /* the body's size, -1: unknown */
	struct img_err *e;
	/* Filled for each answer. */
	long status;
	char host[272];	 /* "host[:port]" of the URL asked */
	char *buf, *err; /* a 2xx body (buffer mode); the start of another */
	size_t len, err_len;
	uint64_t done, total; /* 2xx body bytes received, announced (0: unknown) */
	char type[256], digest[160];
	char *challenge;  /* the WWW-Authenticate values, joined by ", " */
	uint64_t last_ms; /* when a byte last came (0: not connected yet) */
	unsigned stall_s;
	int rc; /* why a callback stopped the transfer */
};

/* A parsed WWW-Authenticate challenge: the first Bearer or Basic in the header. */
struct reg_challenge {
	char scheme[32]; /* "Bearer" or "Basic", as sent */
	char realm[1024];
	char service[256];
	char scope[1024];
};

/*
 * Performs one GET of (url) with the Authorization header line (auth) (may be
 * NULL), no redirect followed. Returns 0 with x->status set, or -errno for no
 * answer (x->rc when a callback stopped it); fills (e) then.
 */
int reg_perform(struct registry *reg, const char *url, const char *auth, struct reg_xfer *x,
		struct img_err *e);

/* Whether (s) has no control character: it may go into a header line or an error line. */
int reg_printable(const char *s);

/* Releases what reg_perform() allocated in (x). */
void reg_xfer_done(struct reg_xfer *x);

/*
 * Fills (e) with why a non-2xx answer (x) from (who) ("registry HOST") failed,
 * with the error JSON's code and message when there is one. Returns the errno
 * the status maps to (-ENOENT, -EACCES, -EIO, ...).
 */
int reg_status_error(const char *who, const struct reg_xfer *x, struct img_err *e);

/* Whether host name (name) ("localhost", "127.0.0.2", "::1", "[::1]") is on this machine. */
int reg_is_loopback(const char *name);

/* Writes "host[:port]" of (url) (the port only if given) to (buf). Returns 0 or -EINVAL. */
int reg_url_host(const char *url, char *buf, size_t len);

/* Whether (a) and (b) have the same scheme, host and port (the default one filled in). */
int reg_same_origin(const char *a, const char *b);

/*
 * Returns 0 if (url) is HTTPS, or plain HTTP to a loopback host; else fills
 * (e) with why (what) ("a redirect") is refused: -EPERM, -EPROTO (not HTTP).
 */
int reg_url_allowed(const char *url, const char *what, struct img_err *e);

/*
 * Parses WWW-Authenticate value (hdr) (RFC 9110 11.6.1: several challenges,
 * quoted strings) into (c). Returns 0, -EPROTO if malformed, -ENOTSUP with
 * neither Bearer nor Basic.
 */
int reg_parse_challenge(const char *hdr, struct reg_challenge *c);

/* The Authorization header line to send (reg) for (repo) now, or NULL for none yet. */
const char *reg_auth_header(struct registry *reg, const char *repo);

/*
 * Answers the 401 challenge (hdr) (NULL if there was none) for (repo): for
 * Basic, the credentials of the options; for Bearer, a token from the realm,
 * cached for the repository. Returns 0 (retry the request) or -errno, with (e).
 */
int reg_authenticate(struct registry *reg, const char *repo, const char *hdr, struct img_err *e);

/* Sets reg->cred_header from the options' (user) and (pass). Returns 0 or -ENOMEM. */
int reg_auth_init(struct registry *reg, const char *user, const char *pass);

/* Frees the credentials and the token cache of (reg). */
void reg_auth_free(struct registry *reg);

#endif
