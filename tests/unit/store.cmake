ds_unit_test(test_store SOURCES daemon/store.c daemon/store_seal.c daemon/keyfilter.c daemon/ctx.c daemon/hmap.c
  daemon/repartition.c daemon/arena.c
  daemon/state.c daemon/buf.c daemon/alert.c daemon/event.c daemon/records.c daemon/jsonw.c
  daemon/log.c daemon/tmpdir.c)
ds_unit_test(test_hmap SOURCES daemon/hmap.c)
ds_unit_test(test_keyfilter SOURCES daemon/keyfilter.c)
