/* config.h — the bureau's configuration file: lines and their devices, key service, photo profile, ATR
 * allow-list, outlets with their delivery runs */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_LINES   64
#define CONFIG_MAX_OUTLETS 2000
#define CONFIG_MAX_ATRS    32
#define CONFIG_MAX_BANKS   64 /* STORE_BANKS_MAX */
/* an allowed ATR as hex, optionally with /MASK (hex, as long as the ATR): 66 + 1 + 66 characters */
#define CONFIG_ATR_TEXT_MAX 134

struct producer_line_config {
    char id[65];
    char printer[256]; /* device spec: sim | usb | usb:evolis | usb:magicard | usb:SERIAL ... */
    char encoder[256]; /* sim | pcsc:<reader name> */
    bool counter;      /* a counter line: temporary cards only, first */
};

struct producer_outlet_config {
    char code[17];
    char name[301];
    char kind[5];
    char county[101];
    char weekdays[32]; /* PostgreSQL array literal, e.g. {1,3,5} */
    int transit_days;
};

struct producer_config {
    struct producer_line_config lines[CONFIG_MAX_LINES];
    int nlines;
    char key_service[512]; /* soft:<key file> | psam:<reader name>; "" = per-run soft key (simulation only) */
    char photo_profile[512]; /* a built-in profile name or a profile file; "" = the default profile */
    char atr_allow[CONFIG_MAX_ATRS][CONFIG_ATR_TEXT_MAX];
    int natr;
    struct producer_outlet_config *outlets;
    int noutlets;
    /* the bureau's cooperating banks (account banks an applicant may choose); nbanks < 0: the file has no
     * "banks" key and the database keeps its list */
    char banks[CONFIG_MAX_BANKS][101];
    int nbanks;
    char source[300]; /* the file's name as given, for "where the list comes from" */
    /* "required" | "off": the setting bank_application (the chip's bank application and the stripe); "" =
     * the file does not say and the database keeps its setting */
    char bank_application[16];
};

/* Read and validate a configuration file. On failure returns a negative error and err names the file, the
 * line and the field ("cardline.json:7: lines[1].printer: ..."). */
int producer_config_load(const char *path, struct producer_config **ret, char *err, size_t err_size);
/* The same over len bytes already in memory (name stands for the file in messages); pure (fuzzed). */
int producer_config_parse(const char *name, const char *data, size_t len, struct producer_config **ret,
                          char *err, size_t err_size);
void producer_config_free(struct producer_config *cfg);
