/* vcard_wait.h — for the encoder's PC/SC tests: take a virtual card out of its vpcd reader, and wait for a
 * reader to have a card or none */
#pragma once

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <winscard.h>

/* Stop a virtual card (the card leaves the reader) and reap it, waiting at most 5 s. */
static void stop_vcard(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        if (poll(&p, 1, 5000) == 0)
            kill(pid, SIGKILL);
        close(pfd);
    }
    waitpid(pid, NULL, 0);
}

/* Wait until the reader has (present = true) or has no card, at most timeout_ms. */
static bool wait_card(const char *reader, bool present, unsigned timeout_ms)
{
    SCARDCONTEXT ctx;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
        return false;
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = false;
    DWORD timeout = 0;
    for (;;) {
        LONG rv = SCardGetStatusChange(ctx, timeout, &rs, 1);
        if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
            break;
        if (rv == SCARD_S_SUCCESS && !!(rs.dwEventState & SCARD_STATE_PRESENT) == present) {
            ok = true;
            break;
        }
        rs.dwCurrentState = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (long)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= (long)timeout_ms)
            break;
        timeout = (DWORD)((long)timeout_ms - spent);
    }
    SCardReleaseContext(ctx);
    return ok;
}
