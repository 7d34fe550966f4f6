#include "vmm/net_alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/log.h"

#define FNV1A64_OFFSET 0xcbf29ce484222325ULL
#define FNV1A64_PRIME 0x100000001b3ULL

/* Longest piece of a user's value quoted back in a message. */
#define QUOTE_MAX 64

uint64_t net_alloc_fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = FNV1A64_OFFSET;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV1A64_PRIME;
	}
	return h;
}

static uint64_t digest(const char *vm_id)
{
	return vm_id ? net_alloc_fnv1a64(vm_id, strlen(vm_id)) : FNV1A64_OFFSET;
}

int net_alloc_tap_name(const char *vm_id, char out[NET_ALLOC_TAP_NAME_MAX])
{
	if (!vm_id || !vm_id[0]) {
		out[0] = '\0';
		return err_fail(-EINVAL, "the VM id is empty");
	}
	/* The top 32 bits are the first 8 digits of the digest written in
	 * hex, which is how a script would cut it: "tap-" + 8 = 12 bytes,
	 * inside the kernel's 15. */
	snprintf(out, NET_ALLOC_TAP_NAME_MAX, "tap-%08x", (unsigned)(digest(vm_id) >> 32));
	return 0;
}

void net_alloc_mac(const char *vm_id, uint8_t mac[6])
{
	uint64_t h = digest(vm_id);

	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (56 - 8 * i));
	/* Locally administered, so it cannot collide with a vendor's
	 * address; unicast, since a multicast source MAC is invalid. */
	mac[0] = (uint8_t)((mac[0] | 0x02) & ~0x01);
}

void net_alloc_mac_format(const uint8_t mac[6], char out[NET_ALLOC_MAC_STR])
{
	snprintf(out, NET_ALLOC_MAC_STR, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies at most QUOTE_MAX bytes of a user's value, with anything not
 * printable ASCII as '?', so a message can quote it safely to a terminal
 * or a JSON fault. */
static const char *quote(const char *text, char out[QUOTE_MAX + 1])
{
	size_t i;

	for (i = 0; text[i] && i < QUOTE_MAX; i++)
		out[i] = (text[i] >= 0x20 && text[i] <= 0x7e) ? text[i] : '?';
	out[i] = '\0';
	return out;
}

int net_alloc_mac_parse(const char *text, uint8_t mac[6])
{
	uint8_t v[6];
	char q[QUOTE_MAX + 1];

	if (!text)
		return err_set(-EINVAL, "MAC address: none given");
	/* Exactly "xx:xx:xx:xx:xx:xx": sscanf would take signs, spaces and
	 * single digits, and a MAC that means something else than it reads
	 * is worse than a refusal. */
	for (unsigned i = 0; i < 6; i++) {
		const char *p = text + 3 * i;
		int hi, lo;

		if (!p[0] || (hi = hex_digit(p[0])) < 0 || !p[1] || (lo = hex_digit(p[1])) < 0 ||
		    p[2] != (i < 5 ? ':' : '\0'))
			return err_set(-EINVAL, "MAC address '%s': expected six hex bytes aa:bb:cc:dd:ee:ff",
				       quote(text, q));
		v[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, v, sizeof(v));
	return 0;
}

/* A decimal number of at most `max_digits` digits with no sign, space or
 * leading zero; *end is where it stopped. False if there is none. */
static bool parse_decimal(const char *p, unsigned max_digits, unsigned *out, const char **end)
{
	unsigned v = 0, n = 0;

	while (p[n] >= '0' && p[n] <= '9') {
		if (n == max_digits)
			return false;
		v = v * 10 + (unsigned)(p[n] - '0');
		n++;
	}
	*out = v;
	*end = p + n;
	return n > 0;
}

int net_alloc_parse_cidr(const char *text, struct net_subnet *out)
{
	char q[QUOTE_MAX + 1];
	const char *p = text;
	uint32_t addr = 0, mask;
	unsigned prefix;

	if (!text)
		return err_set(-EINVAL, "subnet: none given");
	for (unsigned i = 0; i < 4; i++) {
		unsigned octet;
		const char *start = p;

		/* Up to four digits are read so "1000" is out of range rather
		 * than a shape error; more digits than that are too. */
		if (!parse_decimal(p, 4, &octet, &p)) {
			if (start[0] >= '0' && start[0] <= '9')
				return err_set(-EINVAL, "subnet '%s': octet %u is not a number 0-255", quote(text, q),
					       i + 1);
			return err_set(-EINVAL, "subnet '%s': expected a.b.c.d/prefix", quote(text, q));
		}
		/* Only the last octet ends at '/'. */
		if (*p != (i < 3 ? '.' : '/'))
			return err_set(-EINVAL, "subnet '%s': expected a.b.c.d/prefix", quote(text, q));
		if (octet > 255)
			return err_set(-EINVAL, "subnet '%s': octet %u is not a number 0-255", quote(text, q), i + 1);
		/* Some tools read 010 as octal 8: refuse rather than guess. */
		if (start[0] == '0' && p - start > 1)
			return err_set(-EINVAL, "subnet '%s': octet %u has a leading zero", quote(text, q), i + 1);
		addr = addr << 8 | octet;
		p++;
	}
	{
		const char *start = p;

		if (!parse_decimal(p, 2, &prefix, &p) || *p || prefix > 32 || (start[0] == '0' && p - start > 1))
			return err_set(-EINVAL, "subnet '%s': the prefix after '/' must be a number 0-32",
				       quote(text, q));
	}
	if (prefix > 30)
		return err_set(-EINVAL,
			       "subnet '%s': /%u is smaller than /30 (the network, the gateway, a guest and "
			       "broadcast need 4 addresses)",
			       quote(text, q), prefix);
	mask = prefix ? ~0u << (32 - prefix) : 0;
	if (addr & ~mask) {
		char net[16];

		net_alloc_ip_format(addr & mask, net);
		return err_set(-EINVAL, "subnet '%s': host bits are set (the network is %s/%u)", quote(text, q), net,
			       prefix);
	}
	out->network = addr;
	out->prefix = prefix;
	return 0;
}

uint32_t net_alloc_netmask(const struct net_subnet *s)
{
	/* A shift by 32 is undefined in C: /0 is its own case. */
	if (!s->prefix)
		return 0;
	return s->prefix >= 32 ? ~0u : ~0u << (32 - s->prefix);
}

uint32_t net_alloc_gateway(const struct net_subnet *s)
{
	return s->network + 1;
}

uint32_t net_alloc_guest_ip(const struct net_subnet *s, const char *vm_id)
{
	uint64_t hosts;

	if (s->prefix > 30)
		return 0;
	/* Candidates run from network+2 to broadcast-1: the size of the
	 * subnet less network, gateway and broadcast. 64-bit, since /0
	 * holds 2^32 addresses. */
	hosts = (1ULL << (32 - s->prefix)) - 3;
	return (uint32_t)(s->network + 2 + digest(vm_id) % hosts);
}

void net_alloc_ip_format(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}
