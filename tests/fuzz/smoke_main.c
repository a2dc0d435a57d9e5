/*
 * smoke_main.c - runs a libFuzzer target without libFuzzer, so the targets
 * build with gcc and run in every CI build (under ASan+UBSan there).
 *
 * Inputs: every file named on the command line, then `--runs N` inputs
 * made deterministically from a fixed seed: random bytes, and mutations
 * (bit flips, truncations, splices) of the files and of earlier inputs.
 * It finds far less than coverage-guided fuzzing (see the targets' header
 * comments for the clang/libFuzzer build) but keeps the targets honest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define MAX_LEN 4096

int main(int argc, char **argv)
{
    long runs = 2000;
    static uint8_t pool[8][MAX_LEN];
    static size_t pool_len[8];
    size_t n_pool = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atol(argv[++i]);
            continue;
        }
        FILE *fp = fopen(argv[i], "rb");
        if (!fp) {
            perror(argv[i]);
            return 1;
        }
        uint8_t buf[MAX_LEN];
        size_t n = fread(buf, 1, sizeof(buf), fp);
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, n);
        memcpy(pool[n_pool % 8], buf, n);
        pool_len[n_pool % 8] = n;
        n_pool++;
    }
    uint8_t in[MAX_LEN];
    for (long r = 0; r < runs; r++) {
        size_t len;
        if (n_pool == 0 || next() % 4 == 0) {
            len = next() % 512;
            for (size_t i = 0; i < len; i++)
                in[i] = (uint8_t)next();
        } else {
            size_t p = next() % (n_pool < 8 ? n_pool : 8);
            len = pool_len[p];
            memcpy(in, pool[p], len);
            int edits = 1 + (int)(next() % 4);
            for (int e = 0; e < edits && len > 0; e++) {
                switch (next() % 3) {
                case 0: in[next() % len] ^= (uint8_t)(1u << (next() % 8)); break;
                case 1: len = next() % len; break;
                default: in[next() % len] = (uint8_t)next(); break;
                }
            }
        }
        LLVMFuzzerTestOneInput(in, len);
        if (next() % 8 == 0) { /* keep some mutants as parents */
            memcpy(pool[n_pool % 8], in, len);
            pool_len[n_pool % 8] = len;
            n_pool++;
        }
    }
    printf("%ld inputs ran\n", runs);
    return 0;
}
