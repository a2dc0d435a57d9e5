ds_unit_test(test_matcher SOURCES daemon/matcher.c daemon/buf.c daemon/log.c)
