/*
 * Streaming decisions from real C: a stream operation takes two pushes, is closed, and reports
 * both requests, indexed across the pushes; pushes after the close, to a finished operation and
 * to an operation that takes none are refused with their own codes; a stream freed while its
 * input is open leaks nothing. Run plainly, under AddressSanitizer and under valgrind.
 *
 * usage: stream_test GRAPH_URI TOKEN EXPIRED_TOKEN
 * The emulator must run the `demo` scenario; TOKEN is the default approver's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void test_stream(const char *uri, const char *token) {
    pim_client *client = NULL;
    CHECK(emulator_client(uri, ", \"lingerMs\": 10", &client) == PIM_RESULT_OK, "client");
    if (client == NULL) {
        return;
    }
    pim_op *op = NULL;
    CHECK(pim_list_pending(client, token, NULL, &op, NULL) == PIM_RESULT_OK, "list starts");
    char *listed = drain(op);
    pim_op_free(op);
    char first[37], second[37];
    int have = nth_approval_id(listed, 0, first) && nth_approval_id(listed, 1, second);
    CHECK(have, "two approval ids listed: %s", listed);
    free(listed);
    if (!have) {
        pim_client_free(client);
        return;
    }

    /* Two pushes, then the close: both decided, indexed 0 and 1. */
    op = NULL;
    CHECK(pim_approve_stream(client, token, NULL, "CHG42 streamed", &op, NULL) == PIM_RESULT_OK, "stream starts");
    char requests[128];
    snprintf(requests, sizeof requests, "[{\"approvalId\": \"%s\"}]", first);
    CHECK(pim_op_push(op, requests, NULL) == PIM_RESULT_OK, "first push");
    snprintf(requests, sizeof requests, "[{\"approvalId\": \"%s\"}]", second);
    CHECK(pim_op_push(op, requests, NULL) == PIM_RESULT_OK, "second push");
    CHECK(pim_op_push(op, "[]", NULL) == PIM_RESULT_OK, "an empty push does nothing");
    pim_error *err = NULL;
    CHECK(pim_op_push(op, "[{", &err) == PIM_RESULT_INVALID_INPUT, "malformed JSON refused");
    CHECK(err != NULL && pim_error_code(err) == PIM_RESULT_INVALID_INPUT, "with an error object");
    pim_error_free(err);
    CHECK(pim_op_push(op, NULL, NULL) == PIM_RESULT_NULL_PARAMETER, "NULL requests refused");
    CHECK(pim_op_wait(op, 0) == PIM_RESULT_PENDING, "an open stream does not finish by itself");
    CHECK(pim_op_close_input(op) == PIM_RESULT_OK, "close");
    CHECK(pim_op_close_input(op) == PIM_RESULT_OK, "close twice");
    err = NULL;
    CHECK(pim_op_push(op, requests, &err) == PIM_RESULT_INPUT_CLOSED, "a push after the close is refused");
    CHECK(err != NULL && strcmp(pim_error_kind(err), "InputClosed") == 0, "named InputClosed");
    pim_error_free(err);
    char *results = drain(op);
    CHECK(pim_op_error(op, NULL) == PIM_RESULT_OK, "the stream succeeds");
    CHECK(count(results, "\"result\":\"Approved\"") == 2, "both approved: %s", results);
    CHECK(strstr(results, "\"index\":0") != NULL && strstr(results, "\"index\":1") != NULL,
          "indexes run on across pushes: %s", results);
    free(results);
    uint64_t done = 0, total = 0;
    CHECK(pim_op_progress(op, &done, &total) == PIM_RESULT_OK && done == 2 && total == 2, "progress %llu/%llu",
          (unsigned long long)done, (unsigned long long)total);
    pim_op_free(op);

    /* A cancelled stream reports what it took, finishes, and takes no more. */
    op = NULL;
    CHECK(pim_deny_stream(client, token, NULL, "second thoughts", &op, NULL) == PIM_RESULT_OK, "deny stream starts");
    CHECK(pim_op_push(op, requests, NULL) == PIM_RESULT_OK, "push");
    CHECK(pim_op_cancel(op) == PIM_RESULT_OK, "cancel");
    results = drain(op);
    CHECK(count(results, "\"index\":0") == 1, "the request pushed is reported once: %s", results);
    free(results);
    CHECK(pim_op_push(op, requests, NULL) == PIM_RESULT_INPUT_CLOSED, "a push to a finished stream is refused");
    pim_op_free(op);

    /* An operation that takes no pushes. */
    op = NULL;
    CHECK(pim_approve(client, token, NULL, "[]", "x", &op, NULL) == PIM_RESULT_OK, "approve starts");
    CHECK(pim_op_push(op, requests, NULL) == PIM_RESULT_NOT_A_STREAM, "push to a non-stream operation");
    CHECK(pim_op_close_input(op) == PIM_RESULT_NOT_A_STREAM, "close of a non-stream operation");
    free(drain(op));
    pim_op_free(op);
    CHECK(pim_op_push(op, requests, NULL) == PIM_RESULT_INVALID_HANDLE, "push to a freed operation");
    CHECK(pim_op_close_input(op) == PIM_RESULT_INVALID_HANDLE, "close of a freed operation");

    /* Refused at the start: no token, an empty justification. */
    op = NULL;
    CHECK(pim_approve_stream(client, NULL, NULL, "x", &op, NULL) == PIM_RESULT_MISSING_TOKEN, "no token");
    CHECK(pim_approve_stream(client, token, NULL, " ", &op, NULL) == PIM_RESULT_INVALID_JUSTIFICATION,
          "empty justification");
    CHECK(op == NULL, "op_out untouched on failure");

    /* A stream freed with its input open, and its client freed after: nothing leaks. */
    CHECK(pim_approve_stream(client, token, NULL, "x", &op, NULL) == PIM_RESULT_OK, "stream starts");
    pim_op_free(op);
    pim_client_free(client);
}

int main(int argc, char **argv) {
    if (!emulator_args(argc, argv)) {
        return 2;
    }
    test_stream(argv[1], argv[2]);
    return check_summary();
}
