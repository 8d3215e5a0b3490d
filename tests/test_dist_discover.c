/*
 * Discovery's pure parts: NAMES replies read into nodes, names that
 * cannot be nodes skipped, PTR names checked, the node names tried for an
 * address, /etc/hosts read as getnameinfo reads it, and the lines
 * `distgw discover` prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discover.h"
#include "epmd_wire.h"

/* What the callback saw. */
struct seen {
    int n, stop_after;
    char alive[8][1100];
    unsigned port[8];
};

static int
seen_cb(void *arg, const char *alive, unsigned port)
{
    struct seen *s = arg;

    if (s->n < 8) {
        snprintf(s->alive[s->n], sizeof(s->alive[0]), "%s", alive);
        s->port[s->n] = port;
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? -1 : 0;
}

/* A NAMES reply as our epmd builds it, from (name, port) pairs. */
static size_t
reply(uint8_t *buf, size_t cap, const char *const *names, const unsigned *ports,
      int n)
{
    size_t len = epmd_wire_names_header(buf, cap, 4369);
    int i;

    for (i = 0; i < n; i++)
        len += epmd_wire_names_line(buf + len, cap - len,
                                    (const uint8_t *)names[i], strlen(names[i]),
                                    ports[i]);
    return len;
}

static void
test_names_parse(void **state)
{
    static const char *const names[] = {"atomvm_node1", "atomvm_node2",
                                        "n\xc3\xa4me"};
    static const unsigned ports[] = {9100, 9101, 65535};
    uint8_t buf[512];
    size_t len = reply(buf, sizeof(buf), names, ports, 3), skipped = 99;
    struct seen s = {0};
    char why[128];

    (void)state;
    assert_int_equal(
        discover_names_parse(buf, len, seen_cb, &s, &skipped, why, sizeof(why)),
        3);
    assert_int_equal(s.n, 3);
    assert_int_equal(skipped, 0);
    assert_string_equal(s.alive[0], "atomvm_node1");
    assert_int_equal(s.port[0], 9100);
    assert_string_equal(s.alive[1], "atomvm_node2");
    assert_int_equal(s.port[1], 9101);
    assert_string_equal(s.alive[2], "n\xc3\xa4me");
    assert_int_equal(s.port[2], 65535);

    /* No nodes: the port alone. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        discover_names_parse(buf, 4, seen_cb, &s, NULL, why, sizeof(why)), 0);
    assert_int_equal(s.n, 0);

    /* The callback stops the walk. */
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    assert_int_equal(
        discover_names_parse(buf, len, seen_cb, &s, NULL, why, sizeof(why)), 2);
    assert_int_equal(s.n, 2);
}

static void
test_names_parse_refuses(void **state)
{
    static const char *const names[] = {"a", "b"};
    static const unsigned ports[] = {1, 2};
    uint8_t buf[256];
    size_t len = reply(buf, sizeof(buf), names, ports, 2);
    char why[128];
    struct seen s = {0};

    (void)state;
    /* Shorter than the port. */
    assert_int_equal(
        discover_names_parse(buf, 3, seen_cb, &s, NULL, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not a NAMES reply"));
    /* Cut inside the last line: EPMD closed early. */
    assert_int_equal(
        discover_names_parse(buf, len - 1, seen_cb, &s, NULL, why, sizeof(why)),
        -1);
    assert_non_null(strstr(why, "inside a line"));
    /* A line that is not "name N at port P". */
    memcpy(buf + len, "nome x at port 3\n", 17);
    assert_int_equal(discover_names_parse(buf, len + 17, seen_cb, &s, NULL, why,
                                          sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "malformed"));
    memcpy(buf + len, "name x at port 3x\n", 18);
    assert_int_equal(discover_names_parse(buf, len + 18, seen_cb, &s, NULL, why,
                                          sizeof(why)),
                     -1);
}

static void
test_names_skipped(void **state)
{
    /* EPMD keeps any bytes as a name; these cannot be a node's alive
     * part, or the port cannot be one. */
    static const char *const names[] = {
        "ok1", "a@b", "with space", "tab\there", "bad\xff", "ok2", "zero",
    };
    static const unsigned ports[] = {1, 2, 3, 4, 5, 6, 0};
    uint8_t buf[512];
    size_t len = reply(buf, sizeof(buf), names, ports, 7), skipped;
    struct seen s = {0};
    char why[128];

    (void)state;
    assert_int_equal(
        discover_names_parse(buf, len, seen_cb, &s, &skipped, why, sizeof(why)),
        2);
    assert_int_equal(skipped, 5);
    assert_string_equal(s.alive[0], "ok1");
    assert_string_equal(s.alive[1], "ok2");
    assert_int_equal(s.port[1], 6);
}

static void
test_alive_ok(void **state)
{
    uint8_t long_name[300];

    (void)state;
    assert_true(discover_alive_ok((const uint8_t *)"atomvm_node1", 12));
    assert_true(discover_alive_ok((const uint8_t *)"a-b.c", 5));
    assert_false(discover_alive_ok((const uint8_t *)"", 0));
    assert_false(discover_alive_ok((const uint8_t *)"a@b", 3));
    assert_false(discover_alive_ok((const uint8_t *)"a\x7f", 2));
    /* strict UTF-8: no overlong '/' */
    assert_false(discover_alive_ok((const uint8_t *)"\xc0\xaf", 2));
    /* 255 characters, not 256 */
    memset(long_name, 'x', sizeof(long_name));
    assert_true(discover_alive_ok(long_name, 255));
    assert_false(discover_alive_ok(long_name, 256));
}

static void
test_ptr_clean(void **state)
{
    char out[300], big[300];

    (void)state;
    assert_int_equal(discover_ptr_clean("h1.disc.test.", out, sizeof(out)), 0);
    assert_string_equal(out, "h1.disc.test");
    assert_int_equal(discover_ptr_clean("h1", out, sizeof(out)), 0);
    assert_string_equal(out, "h1");
    assert_int_equal(discover_ptr_clean("10-0-0-2.ns.svc", out, sizeof(out)),
                     0);
    assert_int_equal(discover_ptr_clean("", out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean(".", out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean("a..b", out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean("h.d..", out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean(".a", out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean("a b", out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean("a@b", out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean("h\xc3\xa4", out, sizeof(out)), -1);
    /* longer than a host name may be, or than out */
    memset(big, 'a', 256);
    big[256] = '\0';
    assert_int_equal(discover_ptr_clean(big, out, sizeof(out)), -1);
    assert_int_equal(discover_ptr_clean("abcdef", out, 6), -1);
    assert_int_equal(discover_ptr_clean("abcde", out, 6), 0);
}

static void
test_candidates(void **state)
{
    char c[DISCOVER_MAX_CANDIDATES][HS_NAME_MAX + 1];

    (void)state;
    /* A dotted PTR name: as it is, its first label, the address. */
    assert_int_equal(discover_candidates("n1", "h1.disc.test", "10.231.0.11",
                                         NULL, c, DISCOVER_MAX_CANDIDATES),
                     3);
    assert_string_equal(c[0], "n1@h1.disc.test");
    assert_string_equal(c[1], "n1@h1");
    assert_string_equal(c[2], "n1@10.231.0.11");
    /* A PTR name without dots: it, then the address. */
    assert_int_equal(discover_candidates("n1", "h1", "10.0.0.1", NULL, c,
                                         DISCOVER_MAX_CANDIDATES),
                     2);
    assert_string_equal(c[0], "n1@h1");
    assert_string_equal(c[1], "n1@10.0.0.1");
    /* No PTR name: the address alone (libcluster's basename@IP). */
    assert_int_equal(discover_candidates("n1", NULL, "10.0.0.1", NULL, c,
                                         DISCOVER_MAX_CANDIDATES),
                     1);
    assert_string_equal(c[0], "n1@10.0.0.1");
    assert_int_equal(discover_candidates("n1", "", "fd31::1", "", c,
                                         DISCOVER_MAX_CANDIDATES),
                     1);
    assert_string_equal(c[0], "n1@fd31::1");
    /* A PTR answer that is the address: no "first label" of it. */
    assert_int_equal(discover_candidates("n1", "10.0.0.1", "10.0.0.1", NULL, c,
                                         DISCOVER_MAX_CANDIDATES),
                     1);
    assert_string_equal(c[0], "n1@10.0.0.1");
    /* An address of this host: this host's names after the PTR's. */
    assert_int_equal(discover_candidates("n1", "localhost", "127.0.0.1",
                                         "vm.example.org", c,
                                         DISCOVER_MAX_CANDIDATES),
                     4);
    assert_string_equal(c[0], "n1@localhost");
    assert_string_equal(c[1], "n1@vm.example.org");
    assert_string_equal(c[2], "n1@vm");
    assert_string_equal(c[3], "n1@127.0.0.1");
    /* all five, and each name once */
    assert_int_equal(discover_candidates("n1", "h1.d", "10.0.0.1", "h2.d", c,
                                         DISCOVER_MAX_CANDIDATES),
                     5);
    assert_string_equal(c[2], "n1@h2.d");
    assert_string_equal(c[4], "n1@10.0.0.1");
    assert_int_equal(discover_candidates("n1", "h1.d", "10.0.0.1", "h1", c,
                                         DISCOVER_MAX_CANDIDATES),
                     3);
    /* Room for fewer. */
    assert_int_equal(discover_candidates("n1", "h1.d", "10.0.0.1", NULL, c, 1),
                     1);
    assert_string_equal(c[0], "n1@h1.d");
}

static void
test_hosts_find(void **state)
{
    static const char hosts[] = "# comment 10.0.0.9 nope\n"
                                "127.0.0.1\tlocalhost\n"
                                "10.0.0.9   h9.disc.test h9 # the ninth\n"
                                "10.0.0.9 second.line\n"
                                "fd31:0:0::11 h1v6\r\n"
                                "10.0.0.7\n"
                                "bogus words here\n"
                                "10.0.0.8 last";
    char out[64];

    (void)state;
    assert_int_equal(
        discover_hosts_find(hosts, strlen(hosts), "10.0.0.9", out, sizeof(out)),
        0);
    assert_string_equal(out, "h9.disc.test");
    assert_int_equal(discover_hosts_find(hosts, strlen(hosts), "127.0.0.1", out,
                                         sizeof(out)),
                     0);
    assert_string_equal(out, "localhost");
    /* the same address written another way */
    assert_int_equal(
        discover_hosts_find(hosts, strlen(hosts), "fd31::11", out, sizeof(out)),
        0);
    assert_string_equal(out, "h1v6");
    /* the last line without its newline */
    assert_int_equal(
        discover_hosts_find(hosts, strlen(hosts), "10.0.0.8", out, sizeof(out)),
        0);
    assert_string_equal(out, "last");
    /* an address with no name, one not there, a name too long for out */
    assert_int_equal(
        discover_hosts_find(hosts, strlen(hosts), "10.0.0.7", out, sizeof(out)),
        -1);
    assert_int_equal(
        discover_hosts_find(hosts, strlen(hosts), "10.0.0.1", out, sizeof(out)),
        -1);
    assert_int_equal(
        discover_hosts_find(hosts, strlen(hosts), "10.0.0.9", out, 5), -1);
    /* a name with a NUL or a control byte in it is no name */
    assert_int_equal(discover_hosts_find("10.0.0.1\t\0bad\n", 14, "10.0.0.1",
                                         out, sizeof(out)),
                     -1);
    assert_int_equal(discover_hosts_find("10.0.0.1 a\x01b\n10.0.0.1 ok\n", 25,
                                         "10.0.0.1", out, sizeof(out)),
                     0);
    assert_string_equal(out, "ok");
    /* only len bytes are read */
    assert_int_equal(
        discover_hosts_find(hosts, 30, "127.0.0.1", out, sizeof(out)), -1);
}

static void
test_fmt_node(void **state)
{
    char line[128];

    (void)state;
    discover_fmt_node(line, sizeof(line), "n1@h1", "10.0.0.1", 9100, NULL);
    assert_string_equal(line, "n1@h1 10.0.0.1 port 9100");
    discover_fmt_node(line, sizeof(line), "n1@h1.d", "fd31::1", 9101,
                      "pong as n1@h1");
    assert_string_equal(line, "n1@h1.d fd31::1 port 9101 pong as n1@h1");
}

/* The summary line as text. */
static char *
summary(const char *name, const struct discover_counts *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    discover_fmt_summary(f, name, c);
    fclose(f);
    return text;
}

static void
test_fmt_summary(void **state)
{
    struct discover_failure f[2] = {
        {"10.0.0.9", "Connection refused"},
        {"fd31::9", "no connection in 3 s"},
    };
    struct discover_counts c = {0};
    char *s;

    (void)state;
    c.addrs = 3;
    c.nodes = 6;
    s = summary("tasks.svc", &c);
    assert_string_equal(s, "discover tasks.svc: 3 addresses, 6 nodes; "
                           "failed: none");
    free(s);
    c.failed = f;
    c.nfailed = 2;
    c.pinged = true;
    c.pong = 5;
    c.pang = 1;
    s = summary("tasks.svc", &c);
    assert_string_equal(s, "discover tasks.svc: 3 addresses, 6 nodes, 5 pong, "
                           "1 pang; failed: 10.0.0.9 (Connection refused), "
                           "fd31::9 (no connection in 3 s)");
    free(s);
    memset(&c, 0, sizeof(c));
    c.addrs = 1;
    c.nodes = 1;
    s = summary("one", &c);
    assert_string_equal(s, "discover one: 1 address, 1 node; failed: none");
    free(s);
    memset(&c, 0, sizeof(c));
    c.dns_error = "name does not resolve";
    s = summary("nosuch.svc", &c);
    assert_string_equal(s, "discover nosuch.svc: 0 addresses, 0 nodes; "
                           "failed: nosuch.svc (name does not resolve)");
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_parse),
        cmocka_unit_test(test_names_parse_refuses),
        cmocka_unit_test(test_names_skipped),
        cmocka_unit_test(test_alive_ok),
        cmocka_unit_test(test_ptr_clean),
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_hosts_find),
        cmocka_unit_test(test_fmt_node),
        cmocka_unit_test(test_fmt_summary),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
