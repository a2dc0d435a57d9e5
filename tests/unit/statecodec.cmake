# The processors' shared state readers (processors/shared/statecodec.c).
ds_unit_test(test_statecodec SOURCES processors/shared/statecodec.c daemon/buf.c)
# The marks that apply each repartition record once (processors/shared/repmarks.c).
ds_unit_test(test_repmarks SOURCES processors/shared/repmarks.c
  processors/shared/statecodec.c daemon/buf.c)
