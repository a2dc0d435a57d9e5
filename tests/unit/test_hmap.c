/*
 * test_hmap.c - the hash map against a plain array model: random puts,
 * replaces and deletes (deletion shifts clusters back, the part that is
 * easy to get wrong), growth, iteration, keys that collide in the slot
 * index, and the intrusive variant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "hmap.h"

#define NKEYS 3000

static int count_cb(void *arg, const char *key, void *val)
{
    (void)key;
    (void)val;
    (*(size_t *)arg)++;
    return 0;
}

static int stop_cb(void *arg, const char *key, void *val)
{
    (void)key;
    (void)val;
    return ++*(size_t *)arg == 3;
}

/* Every operation is mirrored in model[] (the value stored, or 0); after
 * each one the map must agree with the model on the touched key, and every
 * few hundred on all keys. */
static void test_against_model(void **state)
{
    (void)state;
    static uintptr_t model[NKEYS];
    memset(model, 0, sizeof(model));
    struct hmap *m = hmap_new();
    size_t live = 0;
    srand(7);
    for (int op = 0; op < 200000; op++) {
        size_t k = (size_t)rand() % NKEYS;
        char key[32];
        snprintf(key, sizeof(key), "lead/cust-%zu", k);
        if (rand() % 3 == 0) {
            void *old = hmap_del(m, key);
            assert_ptr_equal(old, (void *)model[k]);
            live -= model[k] != 0;
            model[k] = 0;
        } else {
            uintptr_t v = (uintptr_t)op + 1;
            void *old = hmap_put(m, key, (void *)v);
            assert_ptr_equal(old, (void *)model[k]);
            live += model[k] == 0;
            model[k] = v;
        }
        assert_ptr_equal(hmap_get(m, key), (void *)model[k]);
        assert_int_equal(hmap_count(m), live);
        if (op % 997 == 0) {
            for (size_t j = 0; j < NKEYS; j++) {
                snprintf(key, sizeof(key), "lead/cust-%zu", j);
                assert_ptr_equal(hmap_get(m, key), (void *)model[j]);
            }
        }
    }
    size_t seen = 0;
    hmap_each(m, count_cb, &seen);
    assert_int_equal(seen, live);
    seen = 0;
    hmap_each(m, stop_cb, &seen);
    assert_int_equal(seen, live >= 3 ? 3 : live);
    hmap_free(m, NULL);
}

/* Fill, then empty in insertion order and in reverse: each delete leaves
 * every other key findable. */
static void test_fill_and_drain(void **state)
{
    (void)state;
    for (int reverse = 0; reverse < 2; reverse++) {
        struct hmap *m = hmap_new();
        char key[32];
        for (int i = 0; i < NKEYS; i++) {
            snprintf(key, sizeof(key), "%d", i);
            assert_null(hmap_put(m, key, (void *)(uintptr_t)(i + 1)));
        }
        for (int n = 0; n < NKEYS; n++) {
            int i = reverse ? NKEYS - 1 - n : n;
            snprintf(key, sizeof(key), "%d", i);
            assert_ptr_equal(hmap_del(m, key), (void *)(uintptr_t)(i + 1));
            assert_null(hmap_get(m, key));
            assert_null(hmap_del(m, key));
            int probe = reverse ? i - 1 : i + 1;
            if (probe >= 0 && probe < NKEYS) {
                snprintf(key, sizeof(key), "%d", probe);
                assert_ptr_equal(hmap_get(m, key),
                                 (void *)(uintptr_t)(probe + 1));
            }
        }
        assert_int_equal(hmap_count(m), 0);
        hmap_free(m, NULL);
    }
}

static void test_free_val_and_empty_key(void **state)
{
    (void)state;
    struct hmap *m = hmap_new();
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        hmap_put(m, key, strdup(key)); /* freed by hmap_free; ASan checks */
    }
    assert_null(hmap_get(m, ""));
    assert_null(hmap_put(m, "", strdup("empty")));
    assert_string_equal(hmap_get(m, ""), "empty");
    hmap_free(m, free);
    hmap_free(NULL, free);
}

/* Values holding their own keys: the map stores and copies nothing, finds
 * each value by the key inside it, gives back the value on replace and
 * delete, and frees values (not keys) in hmap_free. */
struct item {
    int n;
    char key[];
};

static struct item *item_new(const char *key, int n)
{
    struct item *it = malloc(sizeof(*it) + strlen(key) + 1);
    assert_non_null(it);
    it->n = n;
    strcpy(it->key, key);
    return it;
}

static void test_intrusive(void **state)
{
    (void)state;
    static struct item *model[NKEYS];
    memset(model, 0, sizeof(model));
    struct hmap *m = hmap_new_intrusive(offsetof(struct item, key));
    size_t live = 0;
    srand(9);
    char key[32];
    for (int op = 0; op < 100000; op++) {
        size_t k = (size_t)rand() % NKEYS;
        snprintf(key, sizeof(key), "lead/cust-%zu", k);
        if (rand() % 3 == 0) {
            struct item *old = hmap_del(m, key);
            assert_ptr_equal(old, model[k]);
            free(old);
            live -= model[k] != NULL;
            model[k] = NULL;
        } else {
            struct item *it = item_new(key, op);
            struct item *old = hmap_put(m, it->key, it);
            assert_ptr_equal(old, model[k]);
            free(old);
            live += model[k] == NULL;
            model[k] = it;
        }
        /* Looked up by a key in the caller's buffer, not the item's. */
        assert_ptr_equal(hmap_get(m, key), model[k]);
        assert_int_equal(hmap_count(m), live);
    }
    for (size_t j = 0; j < NKEYS; j++) {
        snprintf(key, sizeof(key), "lead/cust-%zu", j);
        struct item *it = hmap_get(m, key);
        assert_ptr_equal(it, model[j]);
        if (it)
            assert_string_equal(it->key, key);
    }
    size_t seen = 0;
    hmap_each(m, count_cb, &seen);
    assert_int_equal(seen, live);
    hmap_free(m, free); /* every live item, once: ASan checks */
}

/* The look-ahead's peek finds a key's value from the key's FNV-1a alone,
 * through collisions of slots (linear probing) and after deletions. */
static void test_peek_by_hash(void **state)
{
    (void)state;
    struct hmap *m = hmap_new();
    static int vals[2000];
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "cust-%d", i);
        hmap_put(m, key, &vals[i]);
    }
    for (int i = 0; i < 2000; i += 2) {
        snprintf(key, sizeof(key), "cust-%d", i);
        hmap_del(m, key);
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "cust-%d", i);
        uint64_t h = hash_fnv1a_str(key);
        hmap_prefetch_slot(m, h);
        assert_ptr_equal(hmap_peek(m, h), i % 2 ? &vals[i] : NULL);
    }
    assert_null(hmap_peek(m, hash_fnv1a_str("nobody")));
    hmap_free(m, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_model),
        cmocka_unit_test(test_fill_and_drain),
        cmocka_unit_test(test_free_val_and_empty_key),
        cmocka_unit_test(test_intrusive),
        cmocka_unit_test(test_peek_by_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
