/* usb.c — the libusb transport: finds printers, detaches usblp, claims the interface, bounded bulk transfers
 */
#include "printer-private.h"
#include "transport/transport.h"

#include <libusb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USB_CLASS_PRINTER     7
#define USB_DEVICE_ID_MAX     1024 /* IEEE 1284 allows 65535; real printers send well under 1 KiB */
#define USB_STRING_MAX        64
#define USB_CONTROL_TIMEOUT   2000 /* ms; descriptor and device ID requests */
#define USB_REQ_GET_DEVICE_ID 0
#define USB_RT_CLASS_IN_IFACE 0xA1 /* device-to-host, class, interface */

struct usb_link {
    libusb_context *usb;
    libusb_device_handle *handle;
    int interface;
    int altsetting;
    bool reattach; /* a kernel driver (usblp) was detached and gets the interface back on close */
    unsigned char ep_out;
    unsigned char ep_in;
    uint16_t product_id;
    char device_id[USB_DEVICE_ID_MAX];
    char serial[USB_STRING_MAX];
    char product[USB_STRING_MAX];
    char manufacturer[USB_STRING_MAX];
};

static int usb_error(int r)
{
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE:
    case LIBUSB_ERROR_NOT_FOUND:
        return PRINTER_ERROR_GONE;
    case LIBUSB_ERROR_TIMEOUT:
        return PRINTER_ERROR_TIMEOUT;
    case LIBUSB_ERROR_PIPE:
        return PRINTER_ERROR_STALL;
    case LIBUSB_ERROR_ACCESS:
        return PRINTER_ERROR_ACCESS;
    case LIBUSB_ERROR_NO_MEM:
        return PRINTER_ERROR_NOMEM;
    default:
        return PRINTER_ERROR_IO;
    }
}

/* A stalled endpoint stays halted until cleared; clear it so that the next command can go through. */
static int usb_transfer_error(struct usb_link *l, unsigned char ep, int r)
{
    if (r == LIBUSB_ERROR_PIPE) {
        int c = libusb_clear_halt(l->handle, ep);

        if (c == LIBUSB_ERROR_NO_DEVICE)
            return PRINTER_ERROR_GONE;
    }
    return usb_error(r);
}

static int usb_write(void *ctx, const uint8_t *data, size_t len, unsigned timeout_ms)
{
    struct usb_link *l = ctx;
    size_t off = 0;

    while (off < len) {
        size_t chunk = len - off < PRINTER_USB_CHUNK ? len - off : PRINTER_USB_CHUNK;
        int done = 0, r;

        r = libusb_bulk_transfer(l->handle, l->ep_out, (unsigned char *)(uintptr_t)(data + off), (int)chunk,
                                 &done, timeout_ms);
        if (r < 0)
            return usb_transfer_error(l, l->ep_out, r);
        if (done <= 0)
            return PRINTER_ERROR_IO;
        off += (size_t)done;
    }
    return 0;
}

static int usb_read(void *ctx, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    struct usb_link *l = ctx;
    int got = 0, r;

    if (cap > INT32_MAX)
        cap = INT32_MAX;
    r = libusb_bulk_transfer(l->handle, l->ep_in, buf, (int)cap, &got, timeout_ms);
    if (r == LIBUSB_ERROR_TIMEOUT && got > 0)
        return got;
    if (r < 0)
        return usb_transfer_error(l, l->ep_in, r);
    return got;
}

size_t printer_usb_device_id_decode(const uint8_t *buf, size_t len, char *out, size_t size)
{
    size_t n;

    if (size == 0)
        return 0;
    n = len >= 2 ? (size_t)buf[0] << 8 | buf[1] : 0;
    /* some printers count the length bytes, some do not: trust only what arrived */
    if (n >= 2)
        n -= 2;
    if (len < 2 || n > len - 2)
        n = len < 2 ? 0 : len - 2;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = buf[2 + i] >= 0x20 && buf[2 + i] < 0x7f ? (char)buf[2 + i] : '?';
    out[n] = '\0';
    return n;
}

/* GET_DEVICE_ID: a 2-byte big-endian length (counting itself), then the ID. */
static int usb_fetch_device_id(struct usb_link *l, unsigned timeout_ms)
{
    unsigned char buf[USB_DEVICE_ID_MAX + 2];
    int r;

    r = libusb_control_transfer(l->handle, USB_RT_CLASS_IN_IFACE, USB_REQ_GET_DEVICE_ID, 0,
                                (uint16_t)(l->interface << 8 | l->altsetting), buf, sizeof(buf), timeout_ms);
    if (r < 0)
        return usb_error(r);
    if (r < 2)
        return PRINTER_ERROR_PROTOCOL;
    printer_usb_device_id_decode(buf, (size_t)r, l->device_id, sizeof(l->device_id));
    return 0;
}

static int usb_device_id(void *ctx, char *buf, size_t size, unsigned timeout_ms)
{
    struct usb_link *l = ctx;
    int r;

    if (size == 0)
        return PRINTER_ERROR_INVALID;
    r = usb_fetch_device_id(l, timeout_ms);
    if (r < 0)
        return r;
    snprintf(buf, size, "%s", l->device_id);
    return 0;
}

static void usb_close(void *ctx)
{
    struct usb_link *l = ctx;

    if (!l)
        return;
    if (l->handle) {
        libusb_release_interface(l->handle, l->interface);
        if (l->reattach)
            libusb_attach_kernel_driver(l->handle, l->interface);
        libusb_close(l->handle);
    }
    if (l->usb)
        libusb_exit(l->usb);
    free(l);
}

static const struct printer_transport_ops usb_ops = {
    .write = usb_write,
    .read = usb_read,
    .device_id = usb_device_id,
    .close = usb_close,
};

/* The driver whose id table has this device; product 0 in a table means any product of the vendor. */
static const struct printer_driver *usb_driver_for(uint16_t vendor, uint16_t product)
{
    for (size_t d = 0; printer_usb_drivers[d]; d++)
        for (const struct printer_usb_id *id = printer_usb_drivers[d]->usb_ids; id && id->vendor; id++)
            if (id->vendor == vendor && (id->product == 0 || id->product == product))
                return printer_usb_drivers[d];
    return NULL;
}

/* The printer interface: class 7 (bidirectional preferred), else the first with bulk IN and OUT. */
static bool usb_find_interface(libusb_device *dev, int *ret_iface, int *ret_alt, unsigned char *ret_out,
                               unsigned char *ret_in, bool *ret_printer_class)
{
    struct libusb_config_descriptor *cfg;
    int best = -1;

    if (libusb_get_active_config_descriptor(dev, &cfg) < 0 && libusb_get_config_descriptor(dev, 0, &cfg) < 0)
        return false;
    for (int i = 0; i < cfg->bNumInterfaces; i++) {
        const struct libusb_interface *itf = &cfg->interface[i];

        for (int a = 0; a < itf->num_altsetting; a++) {
            const struct libusb_interface_descriptor *alt = &itf->altsetting[a];
            unsigned char out = 0, in = 0;
            int score;

            for (int e = 0; e < alt->bNumEndpoints; e++) {
                const struct libusb_endpoint_descriptor *ep = &alt->endpoint[e];

                if ((ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_BULK)
                    continue;
                if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
                    if (!in)
                        in = ep->bEndpointAddress;
                } else if (!out) {
                    out = ep->bEndpointAddress;
                }
            }
            if (!out || !in)
                continue;
            score = alt->bInterfaceClass == USB_CLASS_PRINTER ? (alt->bInterfaceProtocol == 2 ? 3 : 2) : 1;
            if (score > best) {
                best = score;
                *ret_iface = alt->bInterfaceNumber;
                *ret_alt = alt->bAlternateSetting;
                *ret_out = out;
                *ret_in = in;
                *ret_printer_class = alt->bInterfaceClass == USB_CLASS_PRINTER;
            }
        }
    }
    libusb_free_config_descriptor(cfg);
    return best > 0;
}

static void usb_string(libusb_device_handle *h, uint8_t index, char *out, size_t size)
{
    unsigned char buf[USB_STRING_MAX];
    int n;

    out[0] = '\0';
    if (!index)
        return;
    n = libusb_get_string_descriptor_ascii(h, index, buf, sizeof(buf));
    if (n <= 0)
        return;
    snprintf(out, size, "%.*s", n, (const char *)buf);
}

/* Opens dev and claims its printer interface into a new link. */
static int usb_link_open(libusb_device *dev, const struct libusb_device_descriptor *desc, int iface, int alt,
                         unsigned char ep_out, unsigned char ep_in, struct usb_link *l)
{
    int r;

    r = libusb_open(dev, &l->handle);
    if (r < 0) {
        l->handle = NULL;
        return usb_error(r);
    }
    l->interface = iface;
    l->altsetting = alt;
    l->ep_out = ep_out;
    l->ep_in = ep_in;
    l->product_id = desc->idProduct;
    if (libusb_kernel_driver_active(l->handle, iface) == 1) {
        r = libusb_detach_kernel_driver(l->handle, iface);
        if (r < 0 && r != LIBUSB_ERROR_NOT_FOUND)
            return usb_error(r);
        l->reattach = r == 0;
    }
    r = libusb_claim_interface(l->handle, iface);
    if (r < 0) {
        if (l->reattach)
            libusb_attach_kernel_driver(l->handle, iface);
        l->reattach = false;
        libusb_close(l->handle);
        l->handle = NULL;
        return r == LIBUSB_ERROR_BUSY ? PRINTER_ERROR_ACCESS : usb_error(r);
    }
    if (alt) {
        r = libusb_set_interface_alt_setting(l->handle, iface, alt);
        if (r < 0)
            return usb_error(r);
    }
    usb_string(l->handle, desc->iSerialNumber, l->serial, sizeof(l->serial));
    usb_string(l->handle, desc->iProduct, l->product, sizeof(l->product));
    usb_string(l->handle, desc->iManufacturer, l->manufacturer, sizeof(l->manufacturer));
    /* a printer without a device ID is still usable: the drivers know it by its USB ids */
    if (usb_fetch_device_id(l, USB_CONTROL_TIMEOUT) == PRINTER_ERROR_GONE)
        return PRINTER_ERROR_GONE;
    return 0;
}

/* The serial number the printer gives: the IEEE-1284 SN when present, else the USB string. */
static void usb_link_serial(const struct usb_link *l, char *out, size_t size)
{
    if (printer_device_id_field(l->device_id, "SN", out, size) == 0 && out[0])
        return;
    snprintf(out, size, "%s", l->serial);
}

struct usb_candidate {
    const struct printer_driver *drv; /* NULL: a printer-class device no driver supports */
    int iface, alt;
    unsigned char ep_out, ep_in;
};

static bool usb_candidate(libusb_device *dev, const struct libusb_device_descriptor *desc,
                          struct usb_candidate *ret)
{
    bool printer_class = false;

    ret->drv = usb_driver_for(desc->idVendor, desc->idProduct);
    if (!usb_find_interface(dev, &ret->iface, &ret->alt, &ret->ep_out, &ret->ep_in, &printer_class))
        return false;
    return ret->drv || printer_class;
}

int printer_usb_open(const struct printer_usb_match *match, const struct printer_driver **ret_driver,
                     struct printer_transport **ret_transport, struct printer_link_config *ret_link)
{
    libusb_context *usb = NULL;
    libusb_device **devs = NULL;
    ssize_t n;
    int result = PRINTER_ERROR_GONE;

    if (!match || !ret_driver || !ret_transport)
        return PRINTER_ERROR_INVALID;
    if (libusb_init(&usb) < 0)
        return PRINTER_ERROR_IO;
    n = libusb_get_device_list(usb, &devs);
    if (n < 0) {
        libusb_exit(usb);
        return usb_error((int)n);
    }
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor desc;
        struct usb_candidate c;
        struct printer_transport *t;
        struct usb_link *l;
        char serial[USB_STRING_MAX];
        int r;

        if (libusb_get_device_descriptor(devs[i], &desc) < 0 || !usb_candidate(devs[i], &desc, &c) || !c.drv)
            continue;
        if (match->driver && strcmp(match->driver, c.drv->name) != 0)
            continue;
        if (match->bus && (libusb_get_bus_number(devs[i]) != match->bus ||
                           libusb_get_device_address(devs[i]) != match->address))
            continue;
        l = calloc(1, sizeof(*l));
        if (!l) {
            result = PRINTER_ERROR_NOMEM;
            break;
        }
        r = usb_link_open(devs[i], &desc, c.iface, c.alt, c.ep_out, c.ep_in, l);
        usb_link_serial(l, serial, sizeof(serial));
        if (r == 0 && match->serial && strcmp(match->serial, serial) != 0 &&
            strcmp(match->serial, l->serial) != 0)
            r = PRINTER_ERROR_GONE;
        if (r < 0) {
            /* busy (another line has it) or not ours: keep looking, but remember why a match failed */
            if (result == PRINTER_ERROR_GONE)
                result = r;
            usb_close(l);
            continue;
        }
        t = calloc(1, sizeof(*t));
        if (!t) {
            usb_close(l);
            result = PRINTER_ERROR_NOMEM;
            break;
        }
        /* the link now owns the context: it lives as long as the device handle */
        l->usb = usb;
        usb = NULL;
        t->ops = &usb_ops;
        t->ctx = l;
        if (ret_link) {
            ret_link->transport = t;
            ret_link->product_id = l->product_id;
            ret_link->device_id = l->device_id;
            ret_link->usb_serial = l->serial;
        }
        *ret_driver = c.drv;
        *ret_transport = t;
        result = 0;
        break;
    }
    libusb_free_device_list(devs, 1);
    if (usb)
        libusb_exit(usb);
    return result;
}

static void usb_fill_info(const struct usb_link *l, const struct printer_driver *drv, libusb_device *dev,
                          const struct libusb_device_descriptor *desc, struct printer_device_info *info)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->driver, sizeof(info->driver), "%s", drv ? drv->name : "");
    info->vendor_id = desc->idVendor;
    info->product_id = desc->idProduct;
    info->bus = libusb_get_bus_number(dev);
    info->address = libusb_get_device_address(dev);
    snprintf(info->spec, sizeof(info->spec), "usb:%u:%u", info->bus, info->address);
    if (!l)
        return;
    if (printer_device_id_field(l->device_id, "MDL", info->model, sizeof(info->model)) < 0)
        snprintf(info->model, sizeof(info->model), "%s", l->product);
    if (printer_device_id_field(l->device_id, "MFG", info->manufacturer, sizeof(info->manufacturer)) < 0)
        snprintf(info->manufacturer, sizeof(info->manufacturer), "%s", l->manufacturer);
    usb_link_serial(l, info->serial, sizeof(info->serial));
}

int printer_list_usb(struct printer_device_info **ret_list, size_t *ret_count)
{
    libusb_context *usb = NULL;
    libusb_device **devs = NULL;
    struct printer_device_info *list = NULL;
    size_t count = 0;
    ssize_t n;
    int result = 0;

    if (!ret_list || !ret_count)
        return PRINTER_ERROR_INVALID;
    if (libusb_init(&usb) < 0)
        return PRINTER_ERROR_IO;
    n = libusb_get_device_list(usb, &devs);
    if (n < 0) {
        libusb_exit(usb);
        return usb_error((int)n);
    }
    if (n > 0) {
        list = calloc((size_t)n, sizeof(*list));
        if (!list)
            result = PRINTER_ERROR_NOMEM;
    }
    for (ssize_t i = 0; result == 0 && i < n; i++) {
        struct libusb_device_descriptor desc;
        struct usb_candidate c;
        struct usb_link l;
        int r;

        if (libusb_get_device_descriptor(devs[i], &desc) < 0 || !usb_candidate(devs[i], &desc, &c))
            continue;
        memset(&l, 0, sizeof(l));
        r = usb_link_open(devs[i], &desc, c.iface, c.alt, c.ep_out, c.ep_in, &l);
        usb_fill_info(r == 0 ? &l : NULL, c.drv, devs[i], &desc, &list[count]);
        list[count].open_error = r;
        count++;
        if (l.handle) {
            libusb_release_interface(l.handle, l.interface);
            if (l.reattach)
                libusb_attach_kernel_driver(l.handle, l.interface);
            libusb_close(l.handle);
        }
    }
    libusb_free_device_list(devs, 1);
    libusb_exit(usb);
    if (result < 0) {
        free(list);
        return result;
    }
    *ret_list = list;
    *ret_count = count;
    return 0;
}
