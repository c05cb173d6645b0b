/* Corpus replay: a main for a libFuzzer target (tests/fuzz_<name>.c, which defines
   LLVMFuzzerTestOneInput) when it is built without -fsanitize=fuzzer. Every file named on the
   command line, and every regular file inside a directory named there, is read and passed to the
   target once; so is the empty input. tests/run.sh builds each target with this file under
   ASan+UBSan and runs it over tests/corpus/<name>/: a crash or a sanitizer report fails it.
   Usage: replay_<name> FILE_OR_DIR...  Prints the number of inputs run. */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replay_count;

/* Run one file through the target; returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long len;
    size_t got;
    if (!f) return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    /* An exact-size heap copy, so ASan sees any read past the input. */
    buf = (unsigned char *)malloc(len > 0 ? (size_t)len : 1);
    if (!buf) {
        fclose(f);
        return -1;
    }
    got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    if (got != (size_t)len) {
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    replay_count++;
    return 0;
}

static int replay_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int bad = 0;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (replay_file(path) != 0) {
            fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
            return 1;
        }
        return 0;
    }
    d = opendir(path);
    if (!d) {
        fprintf(stderr, "fuzz_replay: cannot list %s\n", path);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4096];
        if (e->d_name[0] == '.') continue;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= sizeof sub) {
            bad = 1;
            continue;
        }
        if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) && replay_file(sub) != 0) {
            fprintf(stderr, "fuzz_replay: cannot read %s\n", sub);
            bad = 1;
        }
    }
    closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    int i, bad = 0;
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    replay_count++;
    for (i = 1; i < argc; i++) bad |= replay_path(argv[i]);
    printf("%ld inputs\n", replay_count);
    return bad;
}
