ds_unit_test(test_matcher SOURCES daemon/matcher.c daemon/utf8.c daemon/buf.c daemon/log.c)
ds_unit_test(test_utf8 SOURCES daemon/utf8.c daemon/buf.c)
