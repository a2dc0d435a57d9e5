# Live reload: which keys may change live, the key-by-key diff of two
# configs, a generation built from the shipped config with the real
# processors (so the whole core, whatever processors the registry lists),
# and the HTTP thread's handoff to the loop.
ds_unit_test(test_reload SOURCES)
if(TARGET test_reload)
  target_link_libraries(test_reload PRIVATE dscore)
endif()
