/* Deterministic host-side names and guest addresses for a VM's network,
 * from its id: pure functions, so orchestrators can predict them.
 *   TAP name:  "tap-" + the first 8 hex digits of FNV-1a-64(id)
 *   guest MAC: locally administered, unicast, from the same digest
 *   guest IP:  a host address of the subnet chosen from the digest, never
 *              the network address, the gateway (first host) or broadcast */
#ifndef EMBER_NET_ALLOC_H
#define EMBER_NET_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#define NET_ALLOC_TAP_NAME_MAX 16 /* IFNAMSIZ, NUL included */
#define NET_ALLOC_MAC_STR 18      /* "aa:bb:cc:dd:ee:ff" + NUL */

struct net_subnet {
	uint32_t network; /* host byte order, host bits zero */
	unsigned prefix;  /* 0..30 */
};

uint64_t net_alloc_fnv1a64(const void *data, size_t len);
/* Returns 0, or -EINVAL for an empty id. */
int net_alloc_tap_name(const char *vm_id, char out[NET_ALLOC_TAP_NAME_MAX]);
void net_alloc_mac(const char *vm_id, uint8_t mac[6]);
void net_alloc_mac_format(const uint8_t mac[6], char out[NET_ALLOC_MAC_STR]);
/* "aa:bb:cc:dd:ee:ff" (hex, either case); -EINVAL otherwise. */
int net_alloc_mac_parse(const char *text, uint8_t mac[6]);
/* "a.b.c.d/n": a prefix smaller than /30 (fewer than 2 usable guest
 * addresses besides the gateway) or a malformed CIDR is -EINVAL with a
 * message. Host bits set in the address are refused too. */
int net_alloc_parse_cidr(const char *text, struct net_subnet *out);
uint32_t net_alloc_gateway(const struct net_subnet *s);
uint32_t net_alloc_netmask(const struct net_subnet *s);
/* A deterministic guest address in the subnet for this id. */
uint32_t net_alloc_guest_ip(const struct net_subnet *s, const char *vm_id);
/* Dotted quad of a host-order address into out (>= 16 bytes). */
void net_alloc_ip_format(uint32_t ip, char out[16]);

#endif
