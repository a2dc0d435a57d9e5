ds_unit_test(test_config SOURCES daemon/config*.c daemon/records.c daemon/event.c
  daemon/log.c)
