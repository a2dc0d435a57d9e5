# Write-back (issue 20): when a checkpoint of the dirty state is due - the
# age bound, the size estimate, the decoded cache's share - and what it counts.
ds_unit_test(test_writeback SOURCES daemon/writeback.c)
