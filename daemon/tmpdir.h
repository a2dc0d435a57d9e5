/*
 * tmpdir.h - scratch folders on a real file system (RocksDB state for the
 * demo, the state benchmark and the unit tests), made fresh and removed
 * with everything in them.
 */
#ifndef DS_TMPDIR_H
#define DS_TMPDIR_H

#include <stddef.h>

/* Makes /tmp/ds_<tag>.XXXXXX and writes its path into buf (64 bytes are
 * plenty). 0, or -1 when it cannot be made or does not fit. */
int tmpdir_make(char *buf, size_t len, const char *tag);
/* Removes the folder and its contents; a folder already gone is fine. */
void tmpdir_remove(const char *dir);

#endif
