ds_unit_test(test_metrics SOURCES daemon/metrics.c daemon/buf.c)
