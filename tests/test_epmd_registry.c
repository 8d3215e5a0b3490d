/*
 * Unit tests of the node registry: order, lookups, duplicates, the
 * unregistered FIFO and OTP's creation rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

static time_t fake_now = 1000000;

static time_t
fake_time(void)
{
    return fake_now;
}

/* Register name with the given highest version; NULL if refused. */
static struct registry_node *
reg(struct registry *r, const char *name, uint16_t high, void *owner)
{
    struct epmd_node_info n = {
        .port = 9100,
        .node_type = 77,
        .high_vsn = high,
        .low_vsn = 5,
        .name = (const uint8_t *)name,
        .name_len = strlen(name),
        .extra = (const uint8_t *)"xy",
        .extra_len = 2,
    };

    return registry_register(r, &n, 42, owner);
}

static struct registry_node *
find(struct registry *r, const char *name)
{
    return registry_lookup(r, (const uint8_t *)name, strlen(name));
}

static void
test_register_lookup_order(void **state)
{
    struct registry *r = registry_new(1000, fake_time);
    struct registry_node *a, *b, *n;
    struct epmd_node_info info;
    int owner;

    (void)state;
    a = reg(r, "alpha", 6, &owner);
    b = reg(r, "beta", 6, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(reg(r, "alpha", 6, NULL)); /* already registered */
    assert_int_equal(registry_count(r), 2);
    assert_ptr_equal(find(r, "alpha"), a);
    assert_null(find(r, "alph"));
    assert_null(find(r, "alphaa"));
    assert_ptr_equal(registry_owner(a), &owner);
    assert_int_equal(registry_fd(a), 42);
    /* Newest first, as NAMES reports. */
    n = registry_first(r);
    assert_ptr_equal(n, b);
    assert_ptr_equal(registry_next(n), a);
    assert_null(registry_next(a));
    registry_info(a, &info);
    assert_int_equal(info.port, 9100);
    assert_int_equal(info.name_len, 5);
    assert_memory_equal(info.name, "alpha", 5);
    assert_int_equal(info.extra_len, 2);
    assert_memory_equal(info.extra, "xy", 2);
    registry_free(r);
}

static void
test_creation_rules(void **state)
{
    struct registry *r = registry_new(1000, fake_time);
    struct registry_node *a, *b;
    uint32_t c1;

    (void)state;
    fake_now = 1000000;
    /* A new name: the time, plus one. */
    a = reg(r, "a", 6, NULL);
    assert_int_equal(registry_creation(a), 1000001);
    b = reg(r, "b", 6, NULL);
    assert_int_equal(registry_creation(b), 1000001);
    /* The same name again: one more. */
    registry_unregister(r, a);
    assert_null(find(r, "a"));
    assert_int_equal(registry_count(r), 1);
    assert_int_equal(registry_unreg_count(r), 1);
    a = reg(r, "a", 6, NULL);
    assert_int_equal(registry_creation(a), 1000002);
    assert_int_equal(registry_unreg_count(r), 0);
    /* Highest version below 6: counter % 3 + 1. */
    registry_unregister(r, a);
    a = reg(r, "a", 5, NULL);
    c1 = 1000003 % 3 + 1;
    assert_int_equal(registry_creation(a), c1);
    assert_true(registry_creation(a) >= 1 && registry_creation(a) <= 3);
    /* Small counters are raised to 4. */
    fake_now = 0;
    a = reg(r, "zero", 6, NULL);
    assert_int_equal(registry_creation(a), 4);
    fake_now = 1000000;
    registry_free(r);
}

static void
test_unreg_fifo_recycles_oldest(void **state)
{
    struct registry *r = registry_new(5, fake_time);
    struct registry_node *n, *first;
    char name[16];

    (void)state;
    fake_now = 500;
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        n = reg(r, name, 6, NULL);
        registry_unregister(r, n);
    }
    /* OTP recycles only when more than the limit are kept: 6 remain. */
    assert_int_equal(registry_unreg_count(r), 6);
    first = registry_first_unreg(r);
    assert_non_null(first);
    {
        struct epmd_node_info info;

        registry_info(first, &info);
        assert_memory_equal(info.name, "n2", 2);
    }
    /* n0 was recycled: it comes back as a new name, and with 6 kept it
     * takes over the oldest slot (n2) with that slot's counter. */
    fake_now = 900;
    n = reg(r, "n0", 6, NULL);
    assert_int_equal(registry_creation(n), 501);
    assert_int_equal(registry_unreg_count(r), 5);
    assert_null(find(r, "n2"));
    /* A remembered name gets its old counter plus one. */
    n = reg(r, "n7", 6, NULL);
    assert_int_equal(registry_creation(n), 502);
    registry_free(r);
}

static void
test_recycled_slot_keeps_counter(void **state)
{
    struct registry *r = registry_new(1, fake_time);
    struct registry_node *n;

    (void)state;
    fake_now = 100;
    n = reg(r, "old1", 6, NULL); /* 101 */
    registry_unregister(r, n);
    n = reg(r, "old2", 6, NULL); /* 101 */
    registry_unregister(r, n);
    fake_now = 5000;
    /* Two kept (> 1): the new name takes the oldest slot's counter. */
    n = reg(r, "fresh", 6, NULL);
    assert_int_equal(registry_creation(n), 101);
    assert_null(find(r, "old1"));
    registry_free(r);
}

static void
test_many_nodes(void **state)
{
    struct registry *r = registry_new(1000, fake_time);
    char name[32];
    size_t count = 0;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "node%d", i);
        assert_non_null(reg(r, name, 6, NULL));
    }
    assert_int_equal(registry_count(r), 20000);
    for (int i = 0; i < 20000; i += 997) {
        snprintf(name, sizeof(name), "node%d", i);
        assert_non_null(find(r, name));
    }
    for (struct registry_node *n = registry_first(r); n != NULL;
         n = registry_next(n))
        count++;
    assert_int_equal(count, 20000);
    for (int i = 0; i < 20000; i += 2) {
        snprintf(name, sizeof(name), "node%d", i);
        registry_unregister(r, find(r, name));
    }
    assert_int_equal(registry_count(r), 10000);
    assert_null(find(r, "node0"));
    assert_non_null(find(r, "node1"));
    registry_free(r);
}

static void
test_binary_names(void **state)
{
    struct registry *r = registry_new(1000, fake_time);
    struct epmd_node_info n = {.name = (const uint8_t *)"\xc3\xa5",
                               .name_len = 2};

    (void)state;
    assert_non_null(registry_register(r, &n, 3, NULL));
    assert_non_null(registry_lookup(r, (const uint8_t *)"\xc3\xa5", 2));
    assert_null(registry_lookup(r, (const uint8_t *)"\xc3", 1));
    /* An empty name is a name like any other, as in OTP. */
    n.name_len = 0;
    assert_non_null(registry_register(r, &n, 3, NULL));
    assert_null(registry_register(r, &n, 3, NULL));
    registry_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_lookup_order),
        cmocka_unit_test(test_creation_rules),
        cmocka_unit_test(test_unreg_fifo_recycles_oldest),
        cmocka_unit_test(test_recycled_slot_keeps_counter),
        cmocka_unit_test(test_many_nodes),
        cmocka_unit_test(test_binary_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
