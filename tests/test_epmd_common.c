/*
 * Unit tests of the common helpers epmd relies on: name escaping for logs,
 * address parsing and printing, strict numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "addr.h"
#include "log.h"
#include "num.h"

static void
test_log_escape(void **state)
{
    char out[LOG_ESCAPE_SIZE(16)];
    char small[8];

    (void)state;
    assert_string_equal(log_escape("node1", 5, out, sizeof(out)), "node1");
    assert_string_equal(log_escape("a\0b\n", 4, out, sizeof(out)),
                        "a\\x00b\\x0a");
    assert_string_equal(log_escape("q\"\\", 3, out, sizeof(out)), "q\\\"\\\\");
    assert_string_equal(log_escape("\xc3\xa5", 2, out, sizeof(out)),
                        "\\xc3\\xa5");
    /* The worst case fits LOG_ESCAPE_SIZE. */
    assert_string_equal(log_escape("\xff\xff\xff\xff", 4, out, 17),
                        "\\xff\\xff\\xff\\xff");
    /* Too small: truncated, marked, terminated. */
    assert_string_equal(log_escape("abcdefghij", 10, small, sizeof(small)),
                        "abcd...");
    assert_string_equal(log_escape("\x01\x02\x03", 3, small, sizeof(small)),
                        "\\x01...");
}

static void
test_addr_parse_ip(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char buf[ADDR_STRLEN];

    (void)state;
    assert_int_equal(addr_parse_ip("127.0.0.1", 4369, &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_string_equal(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
                        "127.0.0.1:4369");
    assert_true(addr_is_loopback((struct sockaddr *)&ss));
    assert_int_equal(addr_parse_ip("::1", 80, &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_string_equal(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
                        "[::1]:80");
    assert_true(addr_is_loopback((struct sockaddr *)&ss));
    assert_int_equal(addr_parse_ip("::ffff:127.0.0.9", 80, &ss, &len), 0);
    assert_true(addr_is_loopback((struct sockaddr *)&ss));
    assert_int_equal(addr_parse_ip("10.1.2.3", 80, &ss, &len), 0);
    assert_false(addr_is_loopback((struct sockaddr *)&ss));
    assert_int_equal(addr_parse_ip("127.255.255.254", 80, &ss, &len), 0);
    assert_true(addr_is_loopback((struct sockaddr *)&ss));
    assert_int_equal(addr_parse_ip("fe80::1", 80, &ss, &len), 0);
    assert_false(addr_is_loopback((struct sockaddr *)&ss));
    assert_int_equal(addr_parse_ip("foo", 80, &ss, &len), -1);
    assert_int_equal(addr_parse_ip("1.2.3", 80, &ss, &len), -1);
    assert_int_equal(addr_parse_ip("", 80, &ss, &len), -1);
}

static void
test_addr_same_ip(void **state)
{
    struct sockaddr_storage a, b;
    socklen_t len;

    (void)state;
    addr_parse_ip("10.0.0.1", 1, &a, &len);
    addr_parse_ip("10.0.0.1", 2, &b, &len);
    assert_true(addr_same_ip((struct sockaddr *)&a, (struct sockaddr *)&b));
    addr_parse_ip("10.0.0.2", 1, &b, &len);
    assert_false(addr_same_ip((struct sockaddr *)&a, (struct sockaddr *)&b));
    addr_parse_ip("::1", 1, &b, &len);
    assert_false(addr_same_ip((struct sockaddr *)&a, (struct sockaddr *)&b));
    addr_parse_ip("::1", 9, &a, &len);
    assert_true(addr_same_ip((struct sockaddr *)&a, (struct sockaddr *)&b));
}

static void
test_addr_parse_hostport(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char buf[ADDR_STRLEN];

    (void)state;
    assert_int_equal(addr_parse_hostport("9100", &ss, &len), 0);
    assert_string_equal(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
                        "0.0.0.0:9100");
    assert_int_equal(addr_parse_hostport("127.0.0.1:9101", &ss, &len), 0);
    assert_string_equal(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
                        "127.0.0.1:9101");
    assert_int_equal(addr_parse_hostport("[::1]:9102", &ss, &len), 0);
    assert_string_equal(addr_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
                        "[::1]:9102");
    assert_int_equal(addr_parse_hostport("::1:9102", &ss, &len), -1);
    assert_int_equal(addr_parse_hostport("[::1]9102", &ss, &len), -1);
    assert_int_equal(addr_parse_hostport("127.0.0.1:", &ss, &len), -1);
    assert_int_equal(addr_parse_hostport(":80", &ss, &len), -1);
    assert_int_equal(addr_parse_hostport("127.0.0.1:70000", &ss, &len), -1);
    assert_int_equal(addr_parse_hostport("host:80", &ss, &len), -1);
    assert_int_equal(addr_parse_hostport("0", &ss, &len), -1);
}

static void
test_num_parse(void **state)
{
    long long v;
    uint16_t port;

    (void)state;
    assert_int_equal(num_parse("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(num_parse("10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(num_parse("11", 0, 10, &v), -1);
    assert_int_equal(num_parse("-1", -5, 10, &v), -1);
    assert_int_equal(num_parse(" 1", 0, 10, &v), -1);
    assert_int_equal(num_parse("1 ", 0, 10, &v), -1);
    assert_int_equal(num_parse("12abc", 0, 100, &v), -1);
    assert_int_equal(num_parse("", 0, 10, &v), -1);
    assert_int_equal(num_parse(NULL, 0, 10, &v), -1);
    assert_int_equal(num_parse("99999999999999999999999", 0, 10, &v), -1);
    assert_int_equal(addr_parse_port("65535", &port), 0);
    assert_int_equal(port, 65535);
    assert_int_equal(addr_parse_port("65536", &port), -1);
    assert_int_equal(addr_parse_port("0", &port), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_escape),
        cmocka_unit_test(test_addr_parse_ip),
        cmocka_unit_test(test_addr_same_ip),
        cmocka_unit_test(test_addr_parse_hostport),
        cmocka_unit_test(test_num_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
