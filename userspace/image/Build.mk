# SPDX-License-Identifier: Apache-2.0
# userspace/image/: OCI images (docs/images.md): the content-addressed store,
# the OCI and docker formats, layers applied into a root filesystem, the
# registry client. emberd will link IMAGE_OBJS with IMAGE_LIBS; each part's
# fragment (userspace/image/*.mk) adds its objects, libraries and unit test.
IMAGE_OBJS := $(OBJ)/userspace/image/img_err.o $(OBJ)/userspace/image/beneath.o
IMAGE_LIBS :=
