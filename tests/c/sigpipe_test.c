/*
 * SIGPIPE never reaches the host (issue 11, finding 5). A server on loopback (a thread of this
 * program) accepts each connection and closes it at once, with a tiny receive buffer, while the
 * library writes a large request (a 60,000-byte token in the Authorization header): the library's
 * next write meets a closed connection. The program keeps the default SIGPIPE disposition (which
 * ends the process); it must live, see every operation fail as a lost connection, and find its own
 * signal disposition and mask untouched. A token over 64 KiB is refused before any call.
 *
 * usage: sigpipe_test [anything...]   (needs no service: it runs its own)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

#define OPERATIONS 100

static int listener = -1;
static volatile int accepted = 0;

static void *close_every_connection(void *arg) {
    (void)arg;
    for (;;) {
        int c = accept(listener, NULL, NULL);
        if (c < 0) {
            return NULL;
        }
        accepted++;
        close(c);
    }
}

static char *token_of(size_t len) {
    char *t = malloc(len + 1);
    memset(t, 'a', len);
    t[len] = '\0';
    return t;
}

int main(void) {
    /* A parent may have left SIGPIPE ignored (pwsh and .NET ignore it, and exec keeps an ignored
       signal ignored): the host here takes the default action, which ends the process. */
    signal(SIGPIPE, SIG_DFL);
    struct sigaction before;
    sigaction(SIGPIPE, NULL, &before);
    CHECK(before.sa_handler == SIG_DFL, "the test starts with SIGPIPE's default action (which ends the process)");

    listener = socket(AF_INET, SOCK_STREAM, 0);
    int small = 1024;
    setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 64) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
        perror("listen");
        return 1;
    }
    pthread_t server;
    pthread_create(&server, NULL, close_every_connection, NULL);

    char options[256];
    snprintf(options, sizeof options,
             "{\"graphUri\": \"http://127.0.0.1:%d\", \"retry\": {\"maxAttempts\": 2, \"baseDelayMs\": 10, "
             "\"budgetMs\": 1000}}",
             ntohs(addr.sin_port));
    pim_client *client = NULL;
    CHECK(pim_client_new(options, &client, NULL) == PIM_RESULT_OK, "client");
    if (client == NULL) {
        return 1;
    }

    /* A huge token: refused before any call, with a clear error. */
    char *huge = token_of(16u << 20);
    pim_op *op = NULL;
    pim_error *err = NULL;
    pim_result rc = pim_list_pending(client, huge, NULL, &op, &err);
    CHECK(rc == PIM_RESULT_INVALID_TOKEN, "a 16 MB token is refused at once: %u", (unsigned)rc);
    CHECK(err != NULL && strstr(pim_error_message(err), "bytes") != NULL, "the error says why: %s",
          err ? pim_error_message(err) : "(none)");
    pim_error_free(err);
    CHECK(accepted == 0, "nothing was sent (%d connections)", accepted);
    free(huge);

    /* Large writes to connections the server closes: the process lives, each operation fails. */
    char *token = token_of(60000);
    int failed_as_expected = 0;
    for (int i = 0; i < OPERATIONS; i++) {
        op = NULL;
        if (pim_list_pending(client, token, NULL, &op, NULL) != PIM_RESULT_OK) {
            continue;
        }
        while (pim_op_wait(op, 100) == PIM_RESULT_PENDING) {
        }
        rc = pim_op_error(op, NULL);
        failed_as_expected += rc == PIM_RESULT_CONNECTION_LOST || rc == PIM_RESULT_NETWORK;
        pim_op_free(op);
    }
    free(token);
    CHECK(failed_as_expected == OPERATIONS, "%d of %d operations failed as a lost connection", failed_as_expected,
          OPERATIONS);
    CHECK(accepted >= OPERATIONS, "the server saw the writes (%d connections)", accepted);
    pim_client_free(client);

    struct sigaction after;
    sigaction(SIGPIPE, NULL, &after);
    CHECK(after.sa_handler == SIG_DFL, "the host's SIGPIPE disposition is untouched");
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    CHECK(!sigismember(&mask, SIGPIPE), "the host thread's signal mask is untouched");

    return check_summary();
}
