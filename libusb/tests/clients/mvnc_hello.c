/*
 * A hello-world NCSDK v1 flow (our code, against our vendor/mvnc.h): name the first stick,
 * open it, allocate a graph, LoadTensor/GetResult N times comparing with the expected output,
 * close — then open and run once more (close and reopen of the same stick). Built and run by
 * libusb/tests/c_client.rs against Intel's libmvnc built from NCSDK_SRC and linked with ncs's
 * drop-in libusb. Prints "PASS" last on success.
 *
 *   usage: mvnc_hello GRAPH INPUT.f16 EXPECTED.f16 N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mvnc.h"

#define CHECK(call) do { mvncStatus s_ = (call); if (s_ != MVNC_OK) { \
    fprintf(stderr, "FAIL line %d: %s returned %d\n", __LINE__, #call, s_); exit(1); } } while (0)

static void *slurp(const char *path, unsigned int *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    void *buf = malloc(n);
    if (fread(buf, 1, n, f) != (size_t)n) { perror(path); exit(1); }
    fclose(f);
    *len = (unsigned int)n;
    return buf;
}

static void session(const char *name, void *graph, unsigned int graph_len, void *input, unsigned int input_len,
                    void *expected, unsigned int expected_len, int n) {
    void *dev, *g;
    CHECK(mvncOpenDevice(name, &dev));
    CHECK(mvncAllocateGraph(dev, &g, graph, graph_len));
    for (int i = 0; i < n; i++) {
        void *out, *user;
        unsigned int out_len;
        CHECK(mvncLoadTensor(g, input, input_len, (void *)(long)(i + 1)));
        CHECK(mvncGetResult(g, &out, &out_len, &user));
        if (out_len != expected_len || memcmp(out, expected, out_len)) {
            fprintf(stderr, "FAIL: inference %d differs from the reference\n", i); exit(1);
        }
        if ((long)user != i + 1) { fprintf(stderr, "FAIL: user parameter %ld\n", (long)user); exit(1); }
    }
    CHECK(mvncDeallocateGraph(g));
    CHECK(mvncCloseDevice(dev));
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s GRAPH INPUT EXPECTED N\n", argv[0]); return 2; }
    unsigned int graph_len, input_len, expected_len;
    void *graph = slurp(argv[1], &graph_len);
    void *input = slurp(argv[2], &input_len);
    void *expected = slurp(argv[3], &expected_len);
    char name[MVNC_MAX_NAME_SIZE];
    CHECK(mvncGetDeviceName(0, name, sizeof name));
    printf("stick %s\n", name);
    session(name, graph, graph_len, input, input_len, expected, expected_len, atoi(argv[4]));
    session(name, graph, graph_len, input, input_len, expected, expected_len, 1);
    printf("PASS\n");
    return 0;
}
