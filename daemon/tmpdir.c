/*
 * tmpdir.c - scratch folders (see tmpdir.h).
 */
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int tmpdir_make(char *buf, size_t len, const char *tag)
{
    int n = snprintf(buf, len, "/tmp/ds_%s.XXXXXX", tag);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return mkdtemp(buf) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tmpdir_remove(const char *dir)
{
    /* Depth first, not following links out of the folder. */
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
