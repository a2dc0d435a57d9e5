ds_unit_test(test_dlq SOURCES daemon/dlq.c)
