/*
 * A real C program against include/pim_bridge.h and the built library: lists and approves against
 * a running pim-emulator, and walks the error and free paths. Run plainly and under valgrind.
 *
 * usage: pim_test GRAPH_URI TOKEN EXPIRED_TOKEN
 * The emulator must run the `demo` scenario; TOKEN is the default approver's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void test_version(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", PIM_VERSION_MAJOR, PIM_VERSION_MINOR, PIM_VERSION_PATCH);
    CHECK(strcmp(pim_version(), expected) == 0, "pim_version() %s != macros %s", pim_version(), expected);
    CHECK(pim_abi_version() == PIM_ABI_VERSION, "pim_abi_version() %u != PIM_ABI_VERSION %u",
          (unsigned)pim_abi_version(), (unsigned)PIM_ABI_VERSION);
}

static void test_surfaces(void) {
    CHECK(strstr(pim_surfaces(), "\"AzureResource\"") != NULL, "surfaces listed: %s", pim_surfaces());
    const char *azure = pim_surface_resolve("/providers/Microsoft.Authorization/roleAssignmentApprovals/x", NULL);
    CHECK(azure != NULL && strcmp(azure, "AzureResource") == 0, "an Azure path is an Azure request");
    const char *group = pim_surface_resolve("929cd687-a296-4f77-bdbc-b7cc22d3517e", "group");
    CHECK(group != NULL && strcmp(group, "Group") == 0, "a surface named wins");
    CHECK(pim_surface_resolve("x", "Mailbox") == NULL, "an unknown surface is NULL");
}

static void test_null_and_bad_input(void) {
    pim_error *err = NULL;
    CHECK(pim_client_new(NULL, NULL, &err) == PIM_RESULT_NULL_PARAMETER, "NULL client_out");
    CHECK(err != NULL && pim_error_code(err) == PIM_RESULT_NULL_PARAMETER, "error object for NULL");
    CHECK(strcmp(pim_error_kind(err), "NullParameter") == 0, "the code's name: %s", pim_error_kind(err));
    CHECK(strlen(pim_error_message(err)) > 0, "message present");
    pim_error_free(err);

    pim_client *client = NULL;
    err = NULL;
    CHECK(pim_client_new("{\"graphUri\": \"http://example.com\"}", &client, &err) == PIM_RESULT_INSECURE_URI,
          "plain http to a remote host is refused");
    CHECK(client == NULL, "client_out untouched on failure");
    pim_error_free(err);

    err = NULL;
    CHECK(pim_client_new("{\"nope\": true}", &client, &err) == PIM_RESULT_INVALID_OPTIONS, "unknown option");
    pim_error_free(err);

    const char bad_utf8[] = {'{', (char)0xff, '}', 0};
    CHECK(pim_client_new(bad_utf8, &client, NULL) == PIM_RESULT_INVALID_UTF8, "invalid UTF-8");

    /* Every free function accepts NULL. */
    pim_client_free(NULL);
    pim_op_free(NULL);
    pim_error_free(NULL);
    pim_string_free(NULL);
    CHECK(pim_op_wait(NULL, 0) == PIM_RESULT_NULL_PARAMETER, "wait on NULL");
    CHECK(pim_op_cancel(NULL) == PIM_RESULT_NULL_PARAMETER, "cancel on NULL");
    char *trace = NULL;
    CHECK(pim_op_take_trace(NULL, &trace, NULL) == PIM_RESULT_NULL_PARAMETER && trace == NULL, "trace of NULL");
    pim_client *traced = NULL;
    CHECK(pim_client_with_trace(NULL, PIM_TRACE_CALLS, &traced, NULL) == PIM_RESULT_NULL_PARAMETER && traced == NULL,
          "a traced handle on NULL");
    CHECK(pim_error_code(NULL) == PIM_RESULT_INVALID_HANDLE, "code of NULL error");
}

static void test_flow(const char *uri, const char *token, const char *expired) {
    pim_client *client = NULL;
    CHECK(emulator_client(uri, "", &client) == PIM_RESULT_OK, "client");
    if (client == NULL) {
        return;
    }

    /* A wrong-kind handle is refused. */
    CHECK(pim_op_wait((const pim_op *)client, 0) == PIM_RESULT_INVALID_HANDLE, "client used as op");

    /* List. */
    pim_op *op = NULL;
    CHECK(pim_list_pending(client, token, NULL, &op, NULL) == PIM_RESULT_OK, "list starts");
    char *listed = drain(op);
    CHECK(pim_op_error(op, NULL) == PIM_RESULT_OK, "list succeeds");
    uint64_t done = 0, total = 0;
    CHECK(pim_op_progress(op, &done, &total) == PIM_RESULT_OK && done == 6 && total == 6,
          "progress %llu/%llu", (unsigned long long)done, (unsigned long long)total);
    CHECK(count(listed, "\"approvalId\"") == 6, "six pending requests listed: %s", listed);
    CHECK(strstr(listed, "Adele Vance") != NULL, "names expanded");
    char *untraced = NULL;
    CHECK(pim_op_take_trace(op, &untraced, NULL) == PIM_RESULT_OK && untraced != NULL &&
              strcmp(untraced, "{\"dropped\":0,\"events\":[]}") == 0,
          "no trace without asking: %s", untraced ? untraced : "(null)");
    pim_string_free(untraced);
    pim_op_free(op);

    /* The same listing on a traced handle: the calls, and never the token. */
    pim_client *traced = NULL;
    CHECK(pim_client_with_trace(client, 4, &traced, NULL) == PIM_RESULT_INVALID_INPUT && traced == NULL,
          "an unknown trace level");
    CHECK(pim_client_with_trace(client, PIM_TRACE_HEADERS, &traced, NULL) == PIM_RESULT_OK, "a traced handle");
    CHECK(pim_list_pending(traced, token, NULL, &op, NULL) == PIM_RESULT_OK, "traced list starts");
    free(drain(op));
    char *trace = NULL;
    CHECK(pim_op_take_trace(op, &trace, NULL) == PIM_RESULT_OK && trace != NULL, "trace taken");
    if (trace != NULL) {
        CHECK(strstr(trace, "\"kind\":\"call\"") != NULL && strstr(trace, "\"requestId\"") != NULL,
              "calls with request-ids: %s", trace);
        CHECK(strstr(trace, token) == NULL, "the token is not in the trace");
        CHECK(strstr(trace, "<redacted>") != NULL, "Authorization redacted");
    }
    pim_string_free(trace);
    pim_op_free(op);
    pim_client_free(traced);

    /* Approve the first, with a justification that needs escaping. */
    char id[37];
    CHECK(nth_approval_id(listed, 0, id), "an approval id");
    free(listed);
    char requests[128];
    snprintf(requests, sizeof requests, "[{\"approvalId\": \"%s\"}]", id);
    const char *why = "Ticket \"INC0012345\" checked\nby O'Brien in Z\xc3\xbcrich";
    CHECK(pim_approve(client, token, NULL, requests, why, &op, NULL) == PIM_RESULT_OK, "approve starts");
    char *results = drain(op);
    CHECK(strstr(results, "\"result\":\"Approved\"") != NULL, "approved: %s", results);
    free(results);
    /* Cancel twice and free after cancel: harmless. */
    CHECK(pim_op_cancel(op) == PIM_RESULT_OK && pim_op_cancel(op) == PIM_RESULT_OK, "cancel twice");
    pim_op_free(op);
    CHECK(pim_op_wait(op, 0) == PIM_RESULT_INVALID_HANDLE, "a freed op is detected");
    pim_op_free(op);

    /* The same request again: already decided, reported per request, nothing sent. */
    CHECK(pim_deny(client, token, NULL, requests, "second thoughts", &op, NULL) == PIM_RESULT_OK, "deny starts");
    results = drain(op);
    CHECK(strstr(results, "\"result\":\"Failed\"") != NULL && strstr(results, "AlreadyDecided") != NULL,
          "already decided: %s", results);
    free(results);
    pim_op_free(op);

    /* A path-like id: refused per request. */
    CHECK(pim_approve(client, token, NULL, "[{\"approvalId\": \"../../users\"}]", "x", &op, NULL) == PIM_RESULT_OK,
          "approve starts");
    results = drain(op);
    CHECK(strstr(results, "InvalidId") != NULL, "invalid id: %s", results);
    free(results);
    pim_op_free(op);

    /* An empty justification: refused before anything starts. */
    op = NULL;
    pim_error *err = NULL;
    CHECK(pim_approve(client, token, NULL, requests, "  ", &op, &err) == PIM_RESULT_INVALID_JUSTIFICATION,
          "empty justification");
    CHECK(op == NULL && err != NULL, "no op, an error");
    pim_error_free(err);

    /* Malformed requests JSON. */
    err = NULL;
    CHECK(pim_approve(client, token, NULL, "[{", "x", &op, &err) == PIM_RESULT_INVALID_INPUT, "malformed JSON");
    pim_error_free(err);

    /* An expired token: the operation fails with details. */
    CHECK(pim_list_pending(client, expired, NULL, &op, NULL) == PIM_RESULT_OK, "list starts");
    free(drain(op));
    err = NULL;
    CHECK(pim_op_error(op, &err) == PIM_RESULT_TOKEN_EXPIRED, "expired token");
    CHECK(err != NULL && pim_error_http_status(err) == 0, "no HTTP call was made");
    CHECK(err != NULL && strstr(pim_error_message(err), expired) == NULL, "token not echoed");
    pim_error_free(err);
    pim_op_free(op);

    /* Token info, without the token. */
    char *info = NULL;
    CHECK(pim_token_info(token, &info, NULL) == PIM_RESULT_OK && strstr(info, "scopes") != NULL, "token info");
    pim_string_free(info);
    pim_string_free(info); /* a second free of the same string is detected and ignored */

    /* Free a client with an operation still running: it finishes as cancelled. */
    CHECK(pim_list_pending(client, token, NULL, &op, NULL) == PIM_RESULT_OK, "list starts");
    pim_client_free(client);
    while (pim_op_wait(op, 100) == PIM_RESULT_PENDING) {
    }
    pim_result last = pim_op_error(op, NULL);
    CHECK(last == PIM_RESULT_OK || last == PIM_RESULT_CANCELLED, "finished after its client was freed: %u",
          (unsigned)last);
    pim_op_free(op);
    pim_client_free(client);
}

int main(int argc, char **argv) {
    if (!emulator_args(argc, argv)) {
        return 2;
    }
    test_version();
    test_surfaces();
    test_null_and_bad_input();
    test_flow(argv[1], argv[2], argv[3]);
    return check_summary();
}
