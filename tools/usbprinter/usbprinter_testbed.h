/* usbprinter_testbed.h — puts an emulated printer on a umockdev testbed, so that real libusb finds and drives
 * it */
#pragma once

#include "emulator.h"

struct usbprinter_testbed;

/* Creates a testbed (the process must run under umockdev-wrapper), adds printer p as USB device 001/<address>
 * (a printer-class interface with one bulk OUT and one bulk IN endpoint) and answers its usbdevfs ioctls.
 * More printers may be added to the same testbed. Returns 0, or -1 with why (at most why_size bytes). */
int usbprinter_testbed_new(struct usbprinter_testbed **ret, char *why, size_t why_size);
int usbprinter_testbed_add(struct usbprinter_testbed *tb, struct printer_emulator *p, unsigned address,
                           char *why, size_t why_size);
/* Removes the devices and the testbed; the printers stay the caller's. Accepts NULL. */
void usbprinter_testbed_free(struct usbprinter_testbed *tb);
/* Whether this process runs under umockdev-wrapper. */
int usbprinter_testbed_available(void);
