// SPDX-License-Identifier: Apache-2.0
/* Integration test entry: client netns -> veth -> XDP router -> taps -> guest netns, and the wake
 * path. */
#include "dp_netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct env env;
const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

void die(const char *what, int err)
{
	printf("FAIL: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Runs at exit, also after a failure: threads first, then pins, then the
 * namespaces (deleting them removes veths, taps and XDP attachments). */
static void cleanup(void)
{
	fwd_stop(&env.fwd_a);
	fwd_stop(&env.fwd_b);
	echo_stop(&env.echo_a);
	echo_stop(&env.echo_b);
	dp_close(env.dp);
	env.dp = NULL;
	if (env.pin_root[0])
		dp_unpin(env.pin_root);
	ns_cleanup(&env.ns);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(1); /* runs cleanup() */
}

int socket_in(int idx, int domain, int type)
{
	int fd, err;

	err = ns_enter(&env.ns, idx);
	if (err)
		die("setns", err);
	fd = socket(domain, type | SOCK_CLOEXEC, 0);
	err = errno;
	ns_enter(&env.ns, env.h);
	if (fd < 0)
		die("socket", err);
	return fd;
}

socklen_t sockaddr_of(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
		die("bad address in test", EINVAL);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	return sizeof(*s6);
}

int main(void)
{
	char why[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ns_env_ok(why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	snprintf(env.pin_root, sizeof(env.pin_root), "/sys/fs/bpf/ember-test-%d", (int)getpid());

	setup_namespaces();
	setup_dataplane();
	setup_guests();

	case_roundtrips(VIP4);
	case_roundtrips(VIP6);
	case_wake();
	case_counters();
	case_restart();
	case_abi_version();
	case_service_del();
	case_slot_gen();

	printf("%s: %d failure(s)\n", env.failures ? "FAIL" : "PASS", env.failures);
	/* Debugging aid: keep the namespaces for a look with ip/tcpdump. */
	if (getenv("EMBER_NETNS_HOLD"))
		sleep((unsigned int)atoi(getenv("EMBER_NETNS_HOLD")));
	return env.failures ? 1 : 0;
}
