/* tracking.h — the store's read models of shipments and cards on their way: lists, one shipment, overdue,
 * uncollected, and an application's way from acceptance to collection. Each returns a new json object (*ret,
 * the caller puts it) that the CLI and the web print alike; holder data in it is masked. */
#pragma once

#include "store/db.h"

#include <json-c/json.h>
#include <stdbool.h>

/* status/outlet may be NULL; limit (1..1000, else 200) bounds the rows */
int store_tracking_shipments_json(PGconn *conn, const char *status, const char *outlet, int limit,
                                  json_object **ret);
/* PRODUCER_ERROR_NOT_FOUND when there is no such shipment */
int store_tracking_shipment_json(PGconn *conn, const char *shipment_id, json_object **ret);
int store_tracking_overdue_json(PGconn *conn, json_object **ret);
int store_tracking_uncollected_json(PGconn *conn, bool due_only, json_object **ret);

/* The application a tracking request names; "" stands for a NULL column. */
struct store_tracking_app {
    char id[24];
    char upstream_id[72];
    char status[24];
    char name[256]; /* NOT masked: store_tracking_json() masks it */
    char doc[40];   /* NOT masked, never logged: the caller checks what the person typed against it */
    char outlet[20];
    char outlet_name[256];
    char deadline[16];
    char accepted_at[24];
    char card_number[16]; /* the newest card that is not spoiled or unused */
    char card_status[24];
};
/* 0, or PRODUCER_ERROR_NOT_FOUND when no application has this upstream id. */
int store_tracking_find(PGconn *conn, const char *upstream_id, struct store_tracking_app *ret);
/* The found application with its events, masked. */
int store_tracking_json(PGconn *conn, const struct store_tracking_app *app, json_object **ret);
