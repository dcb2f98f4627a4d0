/*
 * Handles are never reused (issue 11, finding 4), from real C, built plainly (no sanitizer: the
 * allocator reuses addresses at will). For each kind (operation, error, string, client): 10,000
 * alloc/free cycles; every handle value is new, and a stale or double free, cancel or use of the
 * first, freed, handle is refused with PIM_RESULT_INVALID_HANDLE (or ignored, for the void frees)
 * and never touches the live object.
 *
 * usage: handles_test [anything...]   (needs no service: no request is sent)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define CYCLES 10000

/* Every value handed out, to check none comes twice (sorted at the end). */
static uintptr_t seen[CYCLES + 1];

static int cmp(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static int repeats(size_t n) {
    qsort(seen, n, sizeof seen[0], cmp);
    int r = 0;
    for (size_t i = 1; i < n; i++) {
        r += seen[i] == seen[i - 1];
    }
    return r;
}

static pim_client *new_client(void) {
    pim_client *client = NULL;
    if (pim_client_new(NULL, &client, NULL) != PIM_RESULT_OK) {
        return NULL;
    }
    return client;
}

/* An operation that finishes at once: an empty list of requests, nothing sent. */
static pim_op *new_op(pim_client *client) {
    pim_op *op = NULL;
    if (pim_approve(client, "a.b.c", NULL, "[]", "ok", &op, NULL) != PIM_RESULT_OK) {
        return NULL;
    }
    return op;
}

static void operations(pim_client *client) {
    pim_op *first = new_op(client);
    pim_op_free(first);
    seen[0] = (uintptr_t)first;
    int stale_ok = 0, live_lost = 0;
    for (int i = 0; i < CYCLES; i++) {
        pim_op *op = new_op(client);
        seen[i + 1] = (uintptr_t)op;
        stale_ok += pim_op_cancel(first) != PIM_RESULT_INVALID_HANDLE;
        stale_ok += pim_op_wait(first, 0) != PIM_RESULT_INVALID_HANDLE;
        pim_op_free(first);
        live_lost += pim_op_wait(op, 10000) != PIM_RESULT_OK || pim_op_error(op, NULL) != PIM_RESULT_OK;
        pim_op_free(op);
        stale_ok += pim_op_wait(op, 0) != PIM_RESULT_INVALID_HANDLE;
    }
    CHECK(stale_ok == 0, "operations: %d uses of a freed handle were not refused", stale_ok);
    CHECK(live_lost == 0, "operations: %d live operations freed or cancelled through a stale handle", live_lost);
    int r = repeats(CYCLES + 1);
    CHECK(r == 0, "operations: %d of %d handles were handed out again", r, CYCLES);
}

static void errors(void) {
    pim_error *first = NULL;
    pim_client_new(NULL, NULL, &first);
    pim_error_free(first);
    seen[0] = (uintptr_t)first;
    int stale_ok = 0, live_lost = 0;
    for (int i = 0; i < CYCLES; i++) {
        pim_error *err = NULL;
        pim_client_new(NULL, NULL, &err);
        seen[i + 1] = (uintptr_t)err;
        stale_ok += pim_error_code(first) != PIM_RESULT_INVALID_HANDLE;
        stale_ok += pim_error_message(first) != NULL;
        pim_error_free(first);
        live_lost += pim_error_code(err) != PIM_RESULT_NULL_PARAMETER;
        pim_error_free(err);
        stale_ok += pim_error_code(err) != PIM_RESULT_INVALID_HANDLE;
    }
    CHECK(stale_ok == 0, "errors: %d uses of a freed error were not refused", stale_ok);
    CHECK(live_lost == 0, "errors: %d live errors freed through a stale handle", live_lost);
    int r = repeats(CYCLES + 1);
    CHECK(r == 0, "errors: %d of %d handles were handed out again", r, CYCLES);
}

static void strings(pim_client *client) {
    pim_op *op = new_op(client);
    pim_op_wait(op, 10000);
    char *first = NULL;
    pim_op_take_results(op, &first, NULL);
    pim_string_free(first);
    seen[0] = (uintptr_t)first;
    int live_lost = 0;
    for (int i = 0; i < CYCLES; i++) {
        char *s = NULL;
        pim_op_take_results(op, &s, NULL);
        seen[i + 1] = (uintptr_t)s;
        pim_string_free(first); /* stale: must not free `s` */
        live_lost += s == NULL || strcmp(s, "[]") != 0;
        pim_string_free(s);
        pim_string_free(s); /* double */
    }
    pim_op_free(op);
    CHECK(live_lost == 0, "strings: %d live strings damaged", live_lost);
    int r = repeats(CYCLES + 1);
    CHECK(r == 0, "strings: %d of %d addresses were handed out again (a stale free would free a live string)", r,
          CYCLES);
}

static void clients(void) {
    pim_client *first = new_client();
    pim_client_free(first);
    seen[0] = (uintptr_t)first;
    int stale_ok = 0, live_lost = 0;
    for (int i = 0; i < CYCLES; i++) {
        pim_client *client = new_client();
        seen[i + 1] = (uintptr_t)client;
        pim_client_free(first);
        pim_op *op = NULL;
        stale_ok += pim_list_pending(first, "a.b.c", NULL, &op, NULL) != PIM_RESULT_INVALID_HANDLE;
        op = new_op(client);
        live_lost += op == NULL;
        pim_op_free(op);
        pim_client_free(client);
    }
    CHECK(stale_ok == 0, "clients: %d uses of a freed client were not refused", stale_ok);
    CHECK(live_lost == 0, "clients: %d live clients freed through a stale handle", live_lost);
    int r = repeats(CYCLES + 1);
    CHECK(r == 0, "clients: %d of %d handles were handed out again", r, CYCLES);
}

int main(void) {
    pim_client *client = new_client();
    CHECK(client != NULL, "a client");
    if (client == NULL) {
        return 1;
    }
    operations(client);
    errors();
    strings(client);
    clients();
    pim_client_free(client);
    return check_summary();
}
