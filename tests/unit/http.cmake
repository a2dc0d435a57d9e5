ds_unit_test(test_http SOURCES daemon/http.c daemon/reload_req.c daemon/metrics.c daemon/buf.c daemon/log.c)
