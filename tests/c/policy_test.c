/*
 * A real C program against include/pim_bridge.h: loads and evaluates a policy, refuses bad ones,
 * and appends to, reads and verifies a decision log, walking the error and free paths. Needs no
 * emulator. Run plainly, under AddressSanitizer and under valgrind, as pim_test.c is.
 *
 * usage: policy_test SCRATCH_DIR   (a folder it may write decisions.jsonl into)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char *POLICY =
    "{\"Rules\": ["
    "{\"Name\": \"no-global-admin\", \"Role\": \"Global Administrator\", \"Action\": \"Deny\","
    " \"Justification\": \"Global Administrator needs a person\"},"
    "{\"Name\": \"finance-members\", \"Surface\": \"Group\", \"Role\": \"Member\", \"Scope\": \"Finance*\","
    " \"MaxDuration\": \"PT4H\", \"Action\": \"Approve\", \"Justification\": \"Approved by policy {Rule}\"}"
    "]}";

static const char *REQUESTS =
    "[{\"surface\": \"Group\", \"approvalId\": \"g1\", \"principalId\": \"p1\", \"roleName\": \"Member\","
    "  \"scopeName\": \"Finance Payroll\", \"duration\": \"PT2H\"},"
    " {\"surface\": \"Group\", \"approvalId\": \"g2\", \"principalId\": \"me\", \"roleName\": \"Member\","
    "  \"scopeName\": \"Finance Payroll\", \"duration\": \"PT2H\"},"
    " {\"surface\": \"DirectoryRole\", \"approvalId\": \"d1\", \"principalId\": \"p2\","
    "  \"roleName\": \"Helpdesk Administrator\"}]";

static void policy_checks(void) {
    pim_policy *policy = NULL;
    pim_error *err = NULL;
    CHECK(pim_policy_load(POLICY, "inline.json", false, &policy, &err) == PIM_RESULT_OK, "load");
    CHECK(policy != NULL, "a policy handle");

    char *json = NULL;
    pim_result rc = pim_policy_evaluate(policy, REQUESTS, "{\"callerId\": \"me\", \"now\": \"2026-05-04T07:30:00Z\"}",
                                        &json, &err);
    CHECK(rc == PIM_RESULT_OK, "evaluate: %d", (int)rc);
    if (json != NULL) {
        CHECK(strstr(json, "\"action\":\"Approve\",\"justification\":\"Approved by policy finance-members\"") != NULL,
              "g1 approved: %s", json);
        CHECK(strstr(json, "\"condition\":\"OwnRequest\"") != NULL, "g2 is the caller's own: %s", json);
        CHECK(strstr(json, "No rule matched (2 tried)") != NULL, "d1 matched nothing: %s", json);
        pim_string_free(json);
    }

    /* Bad inputs: the out-parameter stays untouched, the error says why. */
    json = NULL;
    CHECK(pim_policy_evaluate(policy, "[]", "{}", &json, &err) == PIM_RESULT_INVALID_INPUT, "no callerId");
    CHECK(json == NULL, "json_out untouched on failure");
    CHECK(pim_error_code(err) == PIM_RESULT_INVALID_INPUT, "error object's code");
    pim_error_free(err);
    err = NULL;
    CHECK(pim_policy_evaluate(policy, NULL, "{}", &json, NULL) == PIM_RESULT_NULL_PARAMETER, "NULL requests");
    CHECK(pim_policy_evaluate(policy, REQUESTS, "{}", NULL, NULL) == PIM_RESULT_NULL_PARAMETER, "NULL json_out");
    pim_policy_free(policy);
    CHECK(pim_policy_evaluate(policy, REQUESTS, "{\"callerId\": \"me\"}", &json, NULL) == PIM_RESULT_INVALID_HANDLE,
          "a freed policy");
    pim_policy_free(policy); /* a no-op on a freed handle */
    pim_policy_free(NULL);

    /* A policy that would approve everything needs force; a bad one names the rule and the key. */
    const char *everything = "{\"Rules\": [{\"Name\": \"all\", \"Action\": \"Approve\", \"Justification\": \"ok\"}]}";
    policy = NULL;
    CHECK(pim_policy_load(everything, NULL, false, &policy, &err) == PIM_RESULT_INVALID_POLICY, "force needed");
    CHECK(policy == NULL, "policy_out untouched on failure");
    CHECK(strcmp(pim_error_kind(err), "InvalidPolicy") == 0, "kind %s", pim_error_kind(err));
    CHECK(strstr(pim_error_message(err), "rule 1 ('all')") != NULL, "message %s", pim_error_message(err));
    pim_error_free(err);
    err = NULL;
    CHECK(pim_policy_load(everything, NULL, true, &policy, NULL) == PIM_RESULT_OK, "forced");
    pim_policy_free(policy);
    CHECK(pim_policy_load("{\"Rules\": [{\"Name\": \"x\", \"Action\": \"Skip\", \"Rol\": \"y\"}]}", "p.psd1", false,
                          &policy, &err) == PIM_RESULT_INVALID_POLICY, "unknown key");
    CHECK(strstr(pim_error_message(err), "Policy 'p.psd1': rule 1 ('x'), key 'Rol'") != NULL, "message %s",
          pim_error_message(err));
    pim_error_free(err);
}

static void log_checks(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/c-test/decisions.jsonl", dir);
    remove(path);

    char *json = NULL;
    CHECK(pim_log_resolve_path(path, &json, NULL) == PIM_RESULT_OK, "resolve");
    if (json != NULL) {
        CHECK(strstr(json, "\"source\":\"parameter\"") != NULL, "resolved %s", json);
        pim_string_free(json);
    }

    pim_log *log = NULL;
    pim_error *err = NULL;
    CHECK(pim_log_open(path, &log, &err) == PIM_RESULT_OK, "open");
    const char *intent = "{\"kind\": \"intent\", \"surface\": \"Group\", \"approvalId\": \"g1\", \"action\": \"Approve\","
                         " \"rule\": \"finance-members\"}";
    const char *outcome = "{\"kind\": \"outcome\", \"surface\": \"Group\", \"approvalId\": \"g1\","
                          " \"action\": \"Approve\", \"result\": \"Approved\", \"requestId\": \"r-1\"}";
    for (int i = 0; i < 3; i++) {
        json = NULL;
        CHECK(pim_log_append(log, intent, &json, NULL) == PIM_RESULT_OK, "append intent");
        pim_string_free(json);
        if (i < 2) {
            json = NULL;
            CHECK(pim_log_append(log, outcome, &json, NULL) == PIM_RESULT_OK, "append outcome");
            pim_string_free(json);
        }
    }
    CHECK(pim_log_append(log, "{\"kind\": \"intent\"}", &json, &err) == PIM_RESULT_INVALID_INPUT, "bad event");
    pim_error_free(err);
    err = NULL;
    pim_log_free(log);
    CHECK(pim_log_append(log, intent, &json, NULL) == PIM_RESULT_INVALID_HANDLE, "a freed log");

    json = NULL;
    CHECK(pim_log_verify(path, &json, NULL) == PIM_RESULT_OK, "verify");
    if (json != NULL) {
        CHECK(strstr(json, "\"isValid\":true,\"lines\":5") != NULL, "verified %s", json);
        pim_string_free(json);
    }
    json = NULL;
    CHECK(pim_log_decisions(path, "{\"result\": \"Unknown\"}", &json, NULL) == PIM_RESULT_OK, "decisions");
    if (json != NULL) {
        CHECK(strstr(json, "\"intentLine\":5") != NULL, "the last intent is unknown: %s", json);
        pim_string_free(json);
    }
    json = NULL;
    CHECK(pim_log_read(path, NULL, &json, NULL) == PIM_RESULT_OK, "read");
    pim_string_free(json);

    CHECK(pim_log_open(dir, &log, &err) == PIM_RESULT_LOG_WRITE_FAILED, "a folder is not a log");
    pim_error_free(err);
    CHECK(pim_log_verify("/nonexistent-pim-bridge/decisions.jsonl", &json, NULL) == PIM_RESULT_LOG_READ_FAILED,
          "a missing log");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    policy_checks();
    log_checks(argv[1]);
    return check_summary();
}
