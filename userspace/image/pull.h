/* SPDX-License-Identifier: Apache-2.0 */
/* Pulling an image from a registry into the blob store: an import whose source is a registry. */
#ifndef EMBER_USERSPACE_IMAGE_PULL_H
#define EMBER_USERSPACE_IMAGE_PULL_H

#include "import.h"
#include "ref.h"
#include "registry.h"

/* Indexes followed below the first before giving up, as an import does. */
#define PULL_INDEX_DEPTH 4

/*
 * image_pull_check() - what image_pull() would refuse before it sends
 * anything: (ref) must parse as [REGISTRY[:PORT]/]PATH[:TAG][@sha256:HEX]
 * (no registry: Docker Hub, "library/" before a one-word path), and (ro)
 * must suit its registry (plain HTTP only to this machine, a user and a
 * password or neither: registry_opts_check()). (host), when not NULL, gets
 * the registry's host ([REF_NAME_MAX + 1] bytes). Returns 0, or -EINVAL or
 * -EPERM with (e) saying why; nothing is allocated, nothing is sent.
 */
int image_pull_check(const char *ref, const struct registry_opts *ro, char *host, struct img_err *e)
	__attribute__((warn_unused_result));

/*
 * image_pull() - fetch image (ref) from its registry into (st) and point
 * reference (name) at its manifest; (name) NULL: (ref) as given, with
 * ":latest" added when it names neither a tag nor a digest.
 *
 * The manifest or index is fetched by the tag or digest of (ref); an index
 * (or docker manifest list) is followed to its linux/amd64 manifest (at most
 * PULL_INDEX_DEPTH nested ones), each fetched by digest and checked against
 * its descriptor's size and digest; a reference with a digest must name
 * those bytes, and a Docker-Content-Digest header that disagrees with them
 * is refused. The manifest must parse (oci_manifest_parse()), its config
 * (fetched unless the store has it, at most OCI_CONFIG_MAX bytes, checked
 * against its digest) must be for linux/amd64 with one diff_id per layer,
 * and every layer must be of a type ember unpacks, before any layer is
 * fetched. (o)'s limits then bound the blobs as in image_import(); the
 * layers the store lacks are streamed into it, each verified while it is
 * written (a layer the store has is neither fetched nor written: its bytes
 * count as skipped), then the config and manifest; (o)->check, when given,
 * runs then, and the reference is set last.
 * (o)'s progress is called as for an import, per layer.
 *
 * (ro) (may be NULL: HTTPS, anonymous, the client's timeouts) reaches the
 * registry; its credentials are sent only to it (registry.h). (res) and (o)
 * may be NULL; (res)->format is IMPORT_REGISTRY. Returns 0, or -errno with
 * (e) saying which object failed and why (the registry's answer, a timeout,
 * a digest mismatch); then the blobs this pull wrote are removed again, no
 * reference changed and (res) is zeroed. Nothing is left in the store's
 * tmp/ either way.
 */
int image_pull(struct store *st, const char *ref, const char *name, const struct registry_opts *ro,
	       const struct import_opts *o, struct import_result *res, struct img_err *e)
	__attribute__((warn_unused_result));

#endif
