# The schema registry client: framing, a registry that is not there (the
# failure remembered, not asked again), and a writer learnt by the codec.
ds_unit_test(test_schema_registry SOURCES)
if(TARGET test_schema_registry)
  target_link_libraries(test_schema_registry PRIVATE dscore)
endif()
