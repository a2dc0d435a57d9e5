/*
 * ds_it_offset.c - a test tool: writes the raw offset record of
 * topic/partition into a stopped daemon's state dir, so that the
 * integration tests can store a corrupt offset (any bytes) or one past
 * the log end. The layout is state.c's: "\0off/" topic "\0" be32
 * partition -> be64 next offset.
 *
 *   ds_it_offset STATE_DIR TOPIC PARTITION HEX   (e.g. 0000000000000003)
 */
#include <rocksdb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s STATE_DIR TOPIC PARTITION HEX\n", argv[0]);
        return 64;
    }
    char key[512], val[256];
    size_t tlen = strlen(argv[2]), vlen = strlen(argv[4]) / 2;
    if (tlen > 400 || vlen > sizeof(val)) {
        fprintf(stderr, "topic or value too long\n");
        return 64;
    }
    uint32_t part = (uint32_t)atoi(argv[3]);
    memcpy(key, "\0off/", 5);
    memcpy(key + 5, argv[2], tlen + 1); /* with its NUL */
    size_t klen = 5 + tlen + 1;
    for (int i = 3; i >= 0; i--)
        key[klen++] = (char)(part >> (8 * i));
    for (size_t i = 0; i < vlen; i++) {
        unsigned b;
        if (sscanf(argv[4] + 2 * i, "%2x", &b) != 1)
            return 64;
        val[i] = (char)b;
    }
    char *err = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_t *db = rocksdb_open(o, argv[1], &err);
    if (!db) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 1;
    }
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(w, 1);
    rocksdb_put(db, w, key, klen, val, vlen, &err);
    if (err) {
        fprintf(stderr, "put: %s\n", err);
        return 1;
    }
    rocksdb_writeoptions_destroy(w);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    return 0;
}
