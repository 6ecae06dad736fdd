/* pack.c — test driver: packs the named good cards with producer_dispatch_pack, each in its own transaction,
 * as a line's finish() does; prints the shipment of each. Usage: pack CONNINFO CARD OUTLET [CARD OUTLET ...]
 */
#include "dispatch/dispatch.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    PGconn *conn;
    int failures = 0;

    if (argc < 4 || argc % 2 != 0) {
        fprintf(stderr, "usage: pack CONNINFO CARD OUTLET [CARD OUTLET ...]\n");
        return 2;
    }
    conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pack: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        char shipment[19];
        PQclear(PQexec(conn, "BEGIN"));
        if (producer_dispatch_pack(conn, argv[i], argv[i + 1], shipment) == 0) {
            PQclear(PQexec(conn, "COMMIT"));
            printf("%s %s\n", argv[i], shipment);
        } else {
            PQclear(PQexec(conn, "ROLLBACK"));
            fprintf(stderr, "pack: %s refused: %s", argv[i], PQerrorMessage(conn));
            failures++;
        }
    }
    PQfinish(conn);
    return failures ? 1 : 0;
}
