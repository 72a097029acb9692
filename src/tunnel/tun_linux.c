/* Linux back-end of tun.h: /dev/net/tun. */
#include "tunnel/tun.h"
#include "tunnel/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

/* Newer than Debian 12's userspace headers (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static int open_flags(const char *name, short flags, char ifname_out[IFNAMSIZ], int *fd_out)
{
	struct ifreq ifr = { 0 };
	int fd, ret;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = flags;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	memcpy(ifname_out, ifr.ifr_name, IFNAMSIZ);
	ifname_out[IFNAMSIZ - 1] = '\0';
	*fd_out = fd;
	return 0;
}

int mg_tun_open(const char *name, char ifname_out[IFNAMSIZ], int *fd_out)
{
	return open_flags(name, IFF_TUN | IFF_NO_PI, ifname_out, fd_out);
}

/* Asks for the most the kernel gives: checksum and TSO, then USO too. */
static unsigned enable_offloads(int fd)
{
	unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	if (ioctl(fd, TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0)
		return MG_TUN_VNET_HDR | MG_TUN_TSO | MG_TUN_USO;
	if (ioctl(fd, TUNSETOFFLOAD, tso) == 0)
		return MG_TUN_VNET_HDR | MG_TUN_TSO;
	return MG_TUN_VNET_HDR;
}

/* Under privilege separation the broker opens the device (broker.h). */
static int open_brokered(const char *name, char ifname_out[IFNAMSIZ], int *fd_out,
			 unsigned *offload_out)
{
	struct mg_broker_req req = { .op = MG_BROKER_TUN_OPEN };
	struct mg_broker_rep rep;
	int ret;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	snprintf(req.name, sizeof(req.name), "%s", name);
	ret = mg_broker_call(&req, &rep, fd_out);
	if (ret < 0)
		return ret;
	if (*fd_out < 0)
		return -EBADMSG;
	memcpy(ifname_out, rep.ifname, IFNAMSIZ);
	ifname_out[IFNAMSIZ - 1] = '\0';
	*offload_out = rep.offload;
	return 0;
}

int mg_tun_open_offload(const char *name, char ifname_out[IFNAMSIZ], int *fd_out,
			unsigned *offload_out)
{
	int ret;

	if (mg_broker_active())
		return open_brokered(name, ifname_out, fd_out, offload_out);
	ret = open_flags(name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, ifname_out, fd_out);

	if (ret < 0) {
		*offload_out = 0;
		return mg_tun_open(name, ifname_out, fd_out);
	}
	*offload_out = enable_offloads(*fd_out);
	return 0;
}

/* Sets the flags that mg_tun_open gives its own fds; the event loop relies on
 * a non-blocking fd and children must not inherit the device. */
static int own(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int mg_tun_adopt(int fd, char ifname_out[IFNAMSIZ], bool *no_pi_out)
{
	struct ifreq ifr = { 0 };

	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_TUN))
		return -EINVAL;
	int ret = own(fd);
	if (ret < 0)
		return ret;
	memcpy(ifname_out, ifr.ifr_name, IFNAMSIZ);
	ifname_out[IFNAMSIZ - 1] = '\0';
	*no_pi_out = ifr.ifr_flags & IFF_NO_PI;
	return 0;
}
