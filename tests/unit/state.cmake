ds_unit_test(test_state SOURCES daemon/state.c daemon/log.c daemon/tmpdir.c)
