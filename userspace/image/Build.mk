# SPDX-License-Identifier: Apache-2.0
# userspace/image/: OCI images (docs/images.md): the content-addressed store,
# the OCI and docker formats, layers applied into a root filesystem, the
# registry client. emberd links IMAGE_OBJS; the parts' own fragments
# (userspace/image/*.mk) add their objects and unit tests.
IMAGE_OBJS := $(OBJ)/userspace/image/img_err.o
