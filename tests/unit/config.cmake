ds_unit_test(test_config SOURCES daemon/config*.c daemon/log.c)
