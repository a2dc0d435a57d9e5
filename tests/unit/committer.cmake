ds_unit_test(test_committer SOURCES daemon/committer.c daemon/state.c daemon/log.c
  daemon/tmpdir.c)
