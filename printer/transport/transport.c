/* transport.c — what every transport shares: closing one through its ops table */
#include "transport/transport.h"

#include <stdlib.h>

void printer_transport_free(struct printer_transport *t)
{
    if (!t)
        return;
    if (t->ops)
        t->ops->close(t->ctx);
    free(t);
}
