# Log lines: the JSON format's shape, ids as fields of their own (issue 22).
ds_unit_test(test_log SOURCES daemon/log.c)
