ds_unit_test(test_coaching SOURCES processors/coaching/*.c daemon/utf8.c
  daemon/matcher.c tests/unit/harness.c daemon/ctx.c daemon/store.c daemon/store_seal.c daemon/keyfilter.c
  daemon/state.c daemon/config*.c daemon/jsonw.c daemon/buf.c daemon/event.c daemon/records.c
  daemon/alert.c daemon/log.c daemon/hmap.c)
