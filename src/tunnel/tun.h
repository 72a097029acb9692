/* The TUN device: the tunnel's inner side. Packets are read and written with
 * plain read(2)/write(2) on the returned fd, one IP packet per call; the fd is
 * non-blocking and close-on-exec, and the caller owns it (close(2) removes a
 * non-persistent device). */
#ifndef MG_TUNNEL_TUN_H
#define MG_TUNNEL_TUN_H

#include <stdbool.h>
#include <net/if.h>

/* Creates (or attaches to) the layer-3 device name, without the packet
 * information header, so each read returns a bare IPv4 or IPv6 packet. An
 * empty name lets the kernel choose one ("tun%d"). The actual name goes to
 * ifname_out. 0 or -errno (-ENAMETOOLONG when name does not fit IFNAMSIZ). */
int mg_tun_open(const char *name, char ifname_out[IFNAMSIZ], int *fd_out);

/* Offloads a TUN fd may have (mg_tun_open_offload). With MG_TUN_VNET_HDR
 * every read and write starts with a 10-byte struct virtio_net_hdr; with the
 * TSO and USO bits the kernel hands over unsegmented TCP and UDP packets of
 * up to 64 KB (and accepts such TCP packets back). */
enum {
	MG_TUN_VNET_HDR = 1 << 0,
	MG_TUN_TSO = 1 << 1,
	MG_TUN_USO = 1 << 2,
};

/* Like mg_tun_open, but asks for virtio-net headers with checksum and
 * segmentation offloads. *offload_out gets the MG_TUN_* bits the kernel
 * granted; 0 means a plain device, exactly as from mg_tun_open. */
int mg_tun_open_offload(const char *name, char ifname_out[IFNAMSIZ], int *fd_out,
			unsigned *offload_out);

/* Takes over fd, a TUN fd opened and attached by someone else (a privileged
 * launcher). Makes it non-blocking and close-on-exec and learns its name.
 * *no_pi_out is false when the device was created without IFF_NO_PI: every
 * packet then carries the 4-byte struct tun_pi header in front. -EINVAL when
 * fd is a TAP device, -EBADFD when it is not attached to a device, and
 * another -errno (-ENOTTY for most files) when it is no /dev/net/tun fd. */
int mg_tun_adopt(int fd, char ifname_out[IFNAMSIZ], bool *no_pi_out);

#endif
