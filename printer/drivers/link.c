/* link.c — one command/answer exchange over a transport, with bounded waits and transport errors mapped to
 * dispositions */
#include "drivers/link.h"

#include <stdarg.h>
#include <stdio.h>

void printer_link_init(struct printer_link *l, const struct printer_link_config *cfg)
{
    l->t = cfg->transport;
    l->to.command_ms = cfg->timeouts.command_ms ? cfg->timeouts.command_ms : LINK_DEFAULT_COMMAND_MS;
    l->to.move_ms = cfg->timeouts.move_ms ? cfg->timeouts.move_ms : LINK_DEFAULT_MOVE_MS;
    l->to.print_ms = cfg->timeouts.print_ms ? cfg->timeouts.print_ms : LINK_DEFAULT_PRINT_MS;
    l->desync = false;
}

int printer_link_fail(int err, enum printer_disposition disp, enum printer_disposition *ret_disp,
                      char *ret_cause, const char *fmt, ...)
{
    va_list ap;

    *ret_disp = disp;
    va_start(ap, fmt);
    vsnprintf(ret_cause, PRINTER_CAUSE_SIZE, fmt, ap);
    va_end(ap);
    return err;
}

static int transport_fail(int err, bool reading, unsigned ms, const char *what,
                          enum printer_disposition on_stall, enum printer_disposition *ret_disp,
                          char *ret_cause)
{
    switch (err) {
    case PRINTER_ERROR_GONE:
        return printer_link_fail(err, PRINTER_DISPOSITION_DEVICE_GONE, ret_disp, ret_cause,
                                 "printer unplugged (during %s)", what);
    case PRINTER_ERROR_TIMEOUT:
        return printer_link_fail(err, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 reading ? "printer did not answer %s within %u ms"
                                         : "printer did not take %s within %u ms",
                                 what, ms);
    case PRINTER_ERROR_STALL:
        return printer_link_fail(err, on_stall, ret_disp, ret_cause, "USB endpoint stalled during %s", what);
    default:
        return printer_link_fail(err, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "USB error during %s: %s", what, printer_strerror(err));
    }
}

int printer_link_exchange(struct printer_link *l, const uint8_t *frame, size_t len, unsigned reply_ms,
                          const char *what, enum printer_disposition on_stall, uint8_t *reply,
                          enum printer_disposition *ret_disp, char *ret_cause)
{
    const struct printer_transport_ops *ops = l->t->ops;
    int r;

    if (l->desync) {
        /* drop an answer that came after we gave up on it, so it is not taken for this command's */
        while (ops->read(l->t->ctx, reply, LINK_REPLY_MAX, LINK_DRAIN_MS) > 0)
            ;
        l->desync = false;
    }
    r = ops->write(l->t->ctx, frame, len, l->to.command_ms);
    if (r < 0)
        return transport_fail(r, false, l->to.command_ms, what, on_stall, ret_disp, ret_cause);
    r = ops->read(l->t->ctx, reply, LINK_REPLY_MAX, reply_ms);
    if (r == PRINTER_ERROR_TIMEOUT)
        l->desync = true;
    if (r < 0)
        return transport_fail(r, true, reply_ms, what, on_stall, ret_disp, ret_cause);
    if (r == 0)
        return printer_link_fail(PRINTER_ERROR_PROTOCOL, PRINTER_DISPOSITION_PAUSE_LINE, ret_disp, ret_cause,
                                 "printer sent an empty answer to %s", what);
    return r;
}
