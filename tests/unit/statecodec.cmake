# The processors' shared state readers (processors/shared/statecodec.c).
ds_unit_test(test_statecodec SOURCES processors/shared/statecodec.c daemon/buf.c)
