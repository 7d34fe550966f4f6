/* net_alloc: the names and addresses orchestrators predict from a VM id.
 * The FNV-1a vectors are the published ones, so a typo in a constant or a
 * byte-order slip shows here rather than as a TAP name that differs from
 * what a script computed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/log.h"
#include "vmm/net_alloc.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static void test_fnv1a64_reference_vectors(void **state)
{
	(void)state;
	assert_true(net_alloc_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
	assert_true(net_alloc_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(net_alloc_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
	/* Bytes above 0x7f must not be sign-extended into the xor. */
	assert_true(net_alloc_fnv1a64("\xff", 1) == ((0xcbf29ce484222325ULL ^ 0xffULL) * 0x100000001b3ULL));
}

static void test_tap_name(void **state)
{
	char name[NET_ALLOC_TAP_NAME_MAX];
	char long_id[300];

	(void)state;
	assert_int_equal(net_alloc_tap_name("a", name), 0);
	/* The first 8 hex digits of 0xaf63dc4c8601ec8c. */
	assert_string_equal(name, "tap-af63dc4c");
	assert_int_equal(net_alloc_tap_name("foobar", name), 0);
	assert_string_equal(name, "tap-85944171");
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(net_alloc_tap_name(long_id, name), 0);
	assert_true(strlen(name) <= 15);
	assert_int_equal(strncmp(name, "tap-", 4), 0);
	for (size_t i = 4; name[i]; i++)
		assert_non_null(strchr("0123456789abcdef", name[i]));
	assert_int_equal(net_alloc_tap_name("", name), -EINVAL);
	assert_non_null(strstr(err_last(), "empty"));
	assert_int_equal(net_alloc_tap_name(NULL, name), -EINVAL);
}

static void test_distinct_ids_get_distinct_names(void **state)
{
	char a[NET_ALLOC_TAP_NAME_MAX], b[NET_ALLOC_TAP_NAME_MAX];

	(void)state;
	assert_int_equal(net_alloc_tap_name("vm1", a), 0);
	assert_int_equal(net_alloc_tap_name("vm2", b), 0);
	assert_string_not_equal(a, b);
}

static void test_mac_is_local_unicast_and_deterministic(void **state)
{
	uint8_t mac[6], again[6];
	char id[16];
	bool differs = false;

	(void)state;
	for (unsigned i = 0; i < 256; i++) {
		snprintf(id, sizeof(id), "vm%u", i);
		net_alloc_mac(id, mac);
		assert_int_equal(mac[0] & 0x02, 0x02); /* locally administered */
		assert_int_equal(mac[0] & 0x01, 0);    /* unicast */
		net_alloc_mac(id, again);
		assert_memory_equal(mac, again, 6);
		net_alloc_mac("vm0", again);
		differs |= i && memcmp(mac, again, 6) != 0;
	}
	assert_true(differs);
}

static void test_mac_format_and_parse(void **state)
{
	const uint8_t mac[6] = { 0x02, 0xab, 0x00, 0x1f, 0xfe, 0x09 };
	char text[NET_ALLOC_MAC_STR];
	uint8_t back[6];
	static const char *const bad[] = {
		"",
		"02:ab:00:1f:fe",        /* five bytes */
		"02:ab:00:1f:fe:09:00",  /* seven */
		"02:ab:00:1f:fe:9",      /* a short byte */
		"02:ab:00:1f:fe:0g",     /* not hex */
		"02-ab-00-1f-fe-09",     /* wrong separator */
		" 02:ab:00:1f:fe:09",    /* leading junk */
		"02:ab:00:1f:fe:09 ",    /* trailing junk */
		"02:ab:00:1f:fe:+9",     /* what strtoul would accept */
		"0x2:ab:00:1f:fe:09",
	};

	(void)state;
	net_alloc_mac_format(mac, text);
	assert_string_equal(text, "02:ab:00:1f:fe:09");
	assert_int_equal(net_alloc_mac_parse(text, back), 0);
	assert_memory_equal(back, mac, 6);
	assert_int_equal(net_alloc_mac_parse("02:AB:00:1F:FE:09", back), 0);
	assert_memory_equal(back, mac, 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(back, 0x55, sizeof(back));
		assert_int_equal(net_alloc_mac_parse(bad[i], back), -EINVAL);
		assert_non_null(strstr(err_last(), "MAC"));
	}
	assert_int_equal(net_alloc_mac_parse(NULL, back), -EINVAL);
}

static void test_cidr_parse(void **state)
{
	struct net_subnet s;

	(void)state;
	assert_int_equal(net_alloc_parse_cidr("10.0.0.0/24", &s), 0);
	assert_int_equal(s.network, IP(10, 0, 0, 0));
	assert_int_equal(s.prefix, 24);
	assert_int_equal(net_alloc_gateway(&s), IP(10, 0, 0, 1));
	assert_int_equal(net_alloc_netmask(&s), IP(255, 255, 255, 0));
	assert_int_equal(net_alloc_parse_cidr("192.168.100.252/30", &s), 0);
	assert_int_equal(s.network, IP(192, 168, 100, 252));
	assert_int_equal(net_alloc_netmask(&s), IP(255, 255, 255, 252));
	assert_int_equal(net_alloc_parse_cidr("0.0.0.0/0", &s), 0);
	assert_int_equal(s.prefix, 0);
	assert_int_equal(net_alloc_netmask(&s), 0);
	assert_int_equal(net_alloc_parse_cidr("172.16.0.0/12", &s), 0);
	assert_int_equal(net_alloc_netmask(&s), IP(255, 240, 0, 0));
}

static void test_cidr_refusals(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "10.0.0.0", "a.b.c.d/prefix" },
		{ "10.0.0.0/", "prefix" },
		{ "10.0.0/24", "a.b.c.d/prefix" },
		{ "10.0.0.0.0/24", "a.b.c.d/prefix" },
		{ "256.0.0.0/24", "0-255" },
		{ "10.0.0.1000/24", "0-255" },
		{ "12345.0.0.0/24", "0-255" },
		{ "010.0.0.0/24", "leading zero" },
		{ "10.0.0.0/31", "smaller than /30" },
		{ "10.0.0.0/32", "smaller than /30" },
		{ "10.0.0.0/33", "prefix" },
		{ "10.0.0.0/024", "prefix" },
		{ "10.0.0.0/99999999999999999999", "prefix" },
		{ "10.0.0.1/24", "host bits" },
		{ "10.0.0.4/29", "host bits" },
		{ " 10.0.0.0/24", "a.b.c.d/prefix" },
		{ "10.0.0.0/24x", "prefix" },
		{ "10.0.0.0/ 24", "prefix" },
		{ "10.0.0.0/+24", "prefix" },
		{ "10.0.0.0/-1", "prefix" },
		{ "+10.0.0.0/24", "a.b.c.d/prefix" },
		{ "10..0.0/24", "a.b.c.d/prefix" },
		{ "10.0.0.0/24/24", "prefix" },
		{ "", "a.b.c.d/prefix" },
	};
	struct net_subnet s = { 0x12345678, 7 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(net_alloc_parse_cidr(bad[i].text, &s), -EINVAL);
		if (!strstr(err_last(), bad[i].msg))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].text, err_last(), bad[i].msg);
		/* The output is untouched on failure. */
		assert_int_equal(s.network, 0x12345678);
	}
	assert_int_equal(net_alloc_parse_cidr(NULL, &s), -EINVAL);
	/* The message quotes a hostile value bounded and printable. */
	assert_int_equal(net_alloc_parse_cidr("\x1b[2J10.0.0.0/24", &s), -EINVAL);
	assert_null(strchr(err_last(), '\x1b'));
}

/* Every id lands on a host address inside the subnet that is none of the
 * network, the gateway or broadcast; a /30 has only one such address. */
static void check_guest_ips(const char *cidr, unsigned expect_distinct_min)
{
	struct net_subnet s;
	uint32_t first = 0, mask, bcast;
	unsigned distinct = 0;
	char id[16];

	assert_int_equal(net_alloc_parse_cidr(cidr, &s), 0);
	mask = net_alloc_netmask(&s);
	bcast = s.network | ~mask;
	for (unsigned i = 0; i < 256; i++) {
		uint32_t ip;

		snprintf(id, sizeof(id), "vm%u", i);
		ip = net_alloc_guest_ip(&s, id);
		assert_int_equal(ip & mask, s.network);
		assert_int_not_equal(ip, s.network);
		assert_int_not_equal(ip, net_alloc_gateway(&s));
		assert_int_not_equal(ip, bcast);
		assert_int_equal(net_alloc_guest_ip(&s, id), ip);
		if (!i)
			first = ip;
		else
			distinct += ip != first;
	}
	assert_true(distinct >= expect_distinct_min);
}

static void test_guest_ip_in_a_24(void **state)
{
	(void)state;
	check_guest_ips("10.0.0.0/24", 200);
	check_guest_ips("192.168.7.0/24", 200);
}

static void test_guest_ip_in_a_30(void **state)
{
	struct net_subnet s;

	(void)state;
	check_guest_ips("10.0.0.8/30", 0);
	assert_int_equal(net_alloc_parse_cidr("10.0.0.8/30", &s), 0);
	assert_int_equal(net_alloc_guest_ip(&s, "anything"), IP(10, 0, 0, 10));
	assert_int_equal(net_alloc_guest_ip(&s, ""), IP(10, 0, 0, 10));
}

static void test_guest_ip_in_wide_subnets(void **state)
{
	(void)state;
	check_guest_ips("10.0.0.0/8", 200);
	/* /0: the arithmetic must not overflow 32 bits. */
	check_guest_ips("0.0.0.0/0", 200);
	check_guest_ips("10.0.0.0/29", 1);
}

static void test_guest_ip_refuses_an_impossible_subnet(void **state)
{
	const struct net_subnet s = { IP(10, 0, 0, 0), 31 };

	(void)state;
	/* Never 10.0.0.0 or .1: 0.0.0.0 is no guest's address. */
	assert_int_equal(net_alloc_guest_ip(&s, "vm"), 0);
}

static void test_ip_format(void **state)
{
	char out[16];

	(void)state;
	net_alloc_ip_format(IP(255, 255, 255, 255), out);
	assert_string_equal(out, "255.255.255.255");
	net_alloc_ip_format(IP(10, 0, 0, 2), out);
	assert_string_equal(out, "10.0.0.2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv1a64_reference_vectors),
		cmocka_unit_test(test_tap_name),
		cmocka_unit_test(test_distinct_ids_get_distinct_names),
		cmocka_unit_test(test_mac_is_local_unicast_and_deterministic),
		cmocka_unit_test(test_mac_format_and_parse),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_refusals),
		cmocka_unit_test(test_guest_ip_in_a_24),
		cmocka_unit_test(test_guest_ip_in_a_30),
		cmocka_unit_test(test_guest_ip_in_wide_subnets),
		cmocka_unit_test(test_guest_ip_refuses_an_impossible_subnet),
		cmocka_unit_test(test_ip_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
