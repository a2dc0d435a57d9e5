# team_activity: state keyed by rep and team through the repartition topic,
# with the harness handing repartitioned records back.
ds_unit_test(test_team_activity SOURCES processors/team_activity/*.c
  tests/unit/harness.c)
