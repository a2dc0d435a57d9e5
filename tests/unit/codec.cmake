# The Avro adapter: framing, schema resolution, bad input, JSON tools.
ds_unit_test(test_codec SOURCES daemon/codec*.c daemon/arena.c daemon/event.c daemon/records.c
             daemon/alert.c daemon/buf.c daemon/log.c daemon/tmpdir.c
             tests/unit/codec_fixture.c)
ds_unit_test(test_codec_encode SOURCES daemon/codec*.c daemon/arena.c daemon/event.c
             daemon/records.c daemon/alert.c daemon/buf.c daemon/log.c daemon/tmpdir.c
             tests/unit/codec_fixture.c)
ds_unit_test(test_arena SOURCES daemon/arena.c)
