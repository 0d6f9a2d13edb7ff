// SPDX-License-Identifier: Apache-2.0
/* The control protocol's command parser (pure: unit-tested without a VM). */
#include <string.h>

#include "control.h"

enum ctl_cmd ctl_parse(char *line, const char **arg)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	*arg = NULL;
	if (!strcmp(line, "resume"))
		return CTL_RESUME;
	if (!strcmp(line, "pause"))
		return CTL_PAUSE;
	if (!strcmp(line, "status"))
		return CTL_STATUS;
	if (!strncmp(line, "snapshot ", 9) && line[9] && !strchr(line + 9, ' ')) {
		*arg = line + 9;
		return CTL_SNAPSHOT;
	}
	if (!strcmp(line, "snapshot") || !strncmp(line, "snapshot ", 9))
		*arg = "usage: snapshot DIR";
	else if (!n)
		*arg = "empty command";
	else
		*arg = "unknown command";
	return CTL_BAD;
}
