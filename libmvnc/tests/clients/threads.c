/*
 * NCSDK v1's blocking semantics across threads: one thread queues 200 inferences (LoadTensor
 * blocks while two are in flight), another collects them (GetResult blocks while none are
 * queued). User parameters must come back in order with the right outputs. Prints "PASS".
 * When one side fails it deallocates the graph, which ends the other side's blocked call
 * (MVNC_GONE); a watchdog (alarm) fails the run if anything still hangs.
 *
 *   usage: threads GRAPH INPUT.f16 EXPECTED.f16 [FAIL_AT]
 *
 * FAIL_AT makes the producer pass a bad length at that inference, to check that a failing
 * side ends the run (exit 1) rather than leaving its peer blocked.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mvnc.h"

#define N 200
#define WATCHDOG_SECONDS 60
static void *graph;
static void *input, *expected;
static unsigned int input_len, expected_len;
static atomic_int failures;
static long fail_at = -1;

/* Records a failure and releases the peer thread from any blocking call. */
static void *fail(const char *what, long i, int status) {
    fprintf(stderr, "FAIL: %s %ld: status %d\n", what, i, status);
    if (atomic_fetch_add(&failures, 1) == 0) mvncDeallocateGraph(graph);
    return NULL;
}

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

static void *producer(void *arg) {
    (void)arg;
    for (long i = 0; i < N; i++) {
        if (atomic_load(&failures)) return NULL;
        /* 1 byte: below the 2 bytes NCSDK requires, so refused (any length from 2 is sent). */
        unsigned int len = i == fail_at ? 1 : input_len;
        int status = mvncLoadTensor(graph, input, len, (void *)(i + 1));
        if (status != MVNC_OK) return fail("LoadTensor", i, status);
    }
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    for (long i = 0; i < N; i++) {
        void *out, *user; unsigned int len;
        if (atomic_load(&failures)) return NULL;
        int status = mvncGetResult(graph, &out, &len, &user);
        if (status != MVNC_OK) return fail("GetResult", i, status);
        if ((long)user != i + 1 || len != expected_len || memcmp(out, expected, len) != 0) {
            fprintf(stderr, "result %ld: user %ld\n", i, (long)user);
            return fail("wrong result", i, 0);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) return 2;
    if (argc == 5) fail_at = atol(argv[4]);
    alarm(WATCHDOG_SECONDS); /* SIGALRM ends the process: a hang fails instead of waiting forever */
    unsigned int graph_len;
    void *file = slurp(argv[1], &graph_len);
    input = slurp(argv[2], &input_len);
    expected = slurp(argv[3], &expected_len);
    char name[MVNC_MAX_NAME_SIZE];
    void *dev;
    if (mvncGetDeviceName(0, name, sizeof name) != MVNC_OK || mvncOpenDevice(name, &dev) != MVNC_OK ||
        mvncAllocateGraph(dev, &graph, file, graph_len) != MVNC_OK) { fprintf(stderr, "FAIL: setup\n"); return 1; }
    pthread_t p, c;
    pthread_create(&c, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    if (!atomic_load(&failures)) mvncDeallocateGraph(graph);
    mvncCloseDevice(dev);
    if (atomic_load(&failures)) { fprintf(stderr, "FAIL: %d failures\n", atomic_load(&failures)); return 1; }
    printf("PASS\n");
    return 0;
}
