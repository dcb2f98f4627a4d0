/*
 * What the C tests share: CHECK and its counts, the summary line tools/TestSuites.psm1 reads
 * (`N passed, N failed`), reading an operation to its end, and a client on the pim-emulator the
 * suite starts for a program whose usage line asks for one (GRAPH_URI TOKEN EXPIRED_TOKEN).
 *
 * Header only (static and static inline), so that each test under tests/c is still one .c file
 * that tools/TestSuites.psm1 compiles alone, plainly and with AddressSanitizer. Include it after
 * the system headers a test needs of its own.
 */
#ifndef PIM_TEST_CHECK_H
#define PIM_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pim_bridge.h"

static int check_count = 0;
static int check_failures = 0;

/* Counts one check; a false one is printed as `FAIL file:line: message` (printf arguments). */
#define CHECK(cond, ...)                                         \
    do {                                                         \
        check_count++;                                           \
        if (!(cond)) {                                           \
            check_failures++;                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fprintf(stderr, "\n");                               \
        }                                                        \
    } while (0)

/* Prints `N passed, N failed` and returns the program's exit code: 0 when nothing failed. */
static inline int check_summary(void) {
    printf("%d passed, %d failed\n", check_count - check_failures, check_failures);
    return check_failures == 0 ? 0 : 1;
}

/* For a program run as `NAME GRAPH_URI TOKEN EXPIRED_TOKEN` (a demo emulator and its tokens):
   1 when argv holds them, else 0 with the usage printed. */
static inline int emulator_args(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s GRAPH_URI TOKEN EXPIRED_TOKEN\n", argv[0]);
        return 0;
    }
    return 1;
}

/* Makes a client on the emulator at `uri`, with `more_options` (`""`, or `, "key": value...`)
   after its graphUri: pim_client_new's result; `*client_out` is written only on success. */
static inline pim_result emulator_client(const char *uri, const char *more_options, pim_client **client_out) {
    char options[512];
    snprintf(options, sizeof options, "{\"graphUri\": \"%s\"%s}", uri, more_options);
    return pim_client_new(options, client_out, NULL);
}

/* Polls an operation to the end and returns all its results as one string (caller frees). */
static inline char *drain(pim_op *op) {
    size_t cap = 1, len = 0;
    char *all = calloc(1, cap);
    for (;;) {
        pim_result waited = pim_op_wait(op, 100);
        char *chunk = NULL;
        if (pim_op_take_results(op, &chunk, NULL) == PIM_RESULT_OK && chunk != NULL) {
            size_t n = strlen(chunk);
            char *grown = realloc(all, cap + n);
            if (grown == NULL) {
                pim_string_free(chunk);
                break;
            }
            all = grown;
            cap += n;
            memcpy(all + len, chunk, n + 1);
            len += n;
            pim_string_free(chunk);
        }
        if (waited == PIM_RESULT_OK) {
            break;
        }
    }
    return all;
}

/* How many times `needle` stands in `haystack`. */
static inline int count(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Copies the value of the n-th (from 0) "approvalId" (a GUID, 36 characters); 0 if there is none. */
static inline int nth_approval_id(const char *json, int n, char out[37]) {
    const char *p = json;
    for (int i = 0; i <= n; i++) {
        p = strstr(i == 0 ? p : p + 1, "\"approvalId\":\"");
        if (p == NULL) {
            return 0;
        }
    }
    memcpy(out, p + 14, 36);
    out[36] = '\0';
    return 1;
}

#endif
