/*
 * test_writeback.c - the write-back rule (writeback.h): a checkpoint is
 * due when the oldest unwritten change reaches max_dirty_ms, when the
 * dirty objects' estimated bytes reach max_dirty_bytes, or when they fill
 * their share of the decoded cache; the age clock starts at the first
 * change after a cut, not at the cut; the size estimate follows what
 * checkpoints really wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "writeback.h"

static void test_off(void **unused)
{
    (void)unused;
    struct writeback wb;
    writeback_init(&wb, 0, 1 << 20, 100);
    assert_false(writeback_on(&wb));
    writeback_init(&wb, -5, 0, 0);
    assert_false(writeback_on(&wb));
    writeback_init(&wb, 1, 0, 0);
    assert_true(writeback_on(&wb));
}

static void test_nothing_dirty_never_due(void **unused)
{
    (void)unused;
    struct writeback wb;
    writeback_init(&wb, 100, 1, 1);
    assert_int_equal(writeback_due(&wb, 0, 0), WRITEBACK_NOT_DUE);
    assert_int_equal(writeback_due(&wb, 1000000, 0), WRITEBACK_NOT_DUE);
}

static void test_age_from_first_change(void **unused)
{
    (void)unused;
    struct writeback wb;
    writeback_init(&wb, 2000, 0, 0);
    writeback_note_change(&wb, 1000);
    writeback_note_change(&wb, 1500); /* later changes: the clock stays */
    assert_int_equal(writeback_due(&wb, 2999, 3), WRITEBACK_NOT_DUE);
    assert_int_equal(writeback_due(&wb, 3000, 3), WRITEBACK_AGE);
    /* Offsets moved without any object changing (records that changed
     * nothing still have offsets to write): the age rule holds too. */
    assert_int_equal(writeback_due(&wb, 3000, 0), WRITEBACK_AGE);
    writeback_cut(&wb, WRITEBACK_AGE);
    /* A cut restarts nothing by itself: the next change does. */
    assert_int_equal(writeback_due(&wb, 9000, 0), WRITEBACK_NOT_DUE);
    writeback_note_change(&wb, 9000);
    assert_int_equal(writeback_due(&wb, 10999, 1), WRITEBACK_NOT_DUE);
    assert_int_equal(writeback_due(&wb, 11000, 1), WRITEBACK_AGE);
    assert_int_equal(wb.checkpoints, 1);
    assert_int_equal(wb.by_reason[WRITEBACK_AGE], 1);
}

static void test_objects_bound(void **unused)
{
    (void)unused;
    struct writeback wb;
    writeback_init(&wb, 60000, 0, 100);
    writeback_note_change(&wb, 0);
    assert_int_equal(writeback_due(&wb, 10, 99), WRITEBACK_NOT_DUE);
    assert_int_equal(writeback_due(&wb, 10, 100), WRITEBACK_OBJECTS);
    /* Age wins when both hold: it is the bound the replay promises. */
    assert_int_equal(writeback_due(&wb, 60000, 100), WRITEBACK_AGE);
}

static void test_bytes_follow_written(void **unused)
{
    (void)unused;
    struct writeback wb;
    writeback_init(&wb, 60000, 100000, 0);
    writeback_note_change(&wb, 0);
    /* First guess: 512 bytes an object. */
    assert_int_equal(writeback_dirty_bytes(&wb, 100), 51200);
    assert_int_equal(writeback_due(&wb, 1, 195), WRITEBACK_NOT_DUE);
    assert_int_equal(writeback_due(&wb, 1, 196), WRITEBACK_BYTES);
    /* Checkpoints of big objects: the estimate moves towards 4 KiB and
     * far fewer dirty objects make the bound. */
    for (int i = 0; i < 10; i++)
        writeback_written(&wb, 10000, 10000 * 4096);
    assert_true(wb.bytes_per_object > 4000 && wb.bytes_per_object <= 4096);
    assert_int_equal(writeback_due(&wb, 1, 23), WRITEBACK_NOT_DUE);
    assert_int_equal(writeback_due(&wb, 1, 25), WRITEBACK_BYTES);
    assert_int_equal(wb.puts, 100000);
    assert_int_equal(wb.bytes, 100000ULL * 4096);
    /* An empty checkpoint (offsets only) counts, moves nothing. */
    double before = wb.bytes_per_object;
    writeback_written(&wb, 0, 40);
    assert_true(wb.bytes_per_object == before);
    assert_int_equal(wb.bytes, 100000ULL * 4096 + 40);
}

static void test_small_checkpoint_moves_estimate_little(void **unused)
{
    (void)unused;
    struct writeback wb;
    writeback_init(&wb, 1000, 0, 0);
    writeback_written(&wb, 2, 2 * 100000); /* two huge objects */
    assert_true(wb.bytes_per_object < 2 * WRITEBACK_FIRST_GUESS * 3);
}

static void test_names(void **unused)
{
    (void)unused;
    assert_string_equal(writeback_due_name(WRITEBACK_AGE), "age");
    assert_string_equal(writeback_due_name(WRITEBACK_BYTES), "bytes");
    assert_string_equal(writeback_due_name(WRITEBACK_OBJECTS), "objects");
    assert_string_equal(writeback_due_name(WRITEBACK_NOT_DUE), "batch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_nothing_dirty_never_due),
        cmocka_unit_test(test_age_from_first_change),
        cmocka_unit_test(test_objects_bound),
        cmocka_unit_test(test_bytes_follow_written),
        cmocka_unit_test(test_small_checkpoint_moves_estimate_little),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
