/* usbprinter_testbed.c — umockdev ioctl handler presenting an emulated printer to libusb: URBs, control
 * requests, stalls, discards and unplugging */
#include "usbprinter_testbed.h"

#include <errno.h>
#include <glib.h>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umockdev.h>

#define TB_MAX_DEVICES 4
#define TB_EP_OUT      0x01
#define TB_EP_IN       0x82
#define TB_SETUP_LEN   8

struct tb_device {
    struct printer_emulator *printer;
    UMockdevIoctlBase *handler;
    char node[64];
    char *syspath;
    GList *in_flight; /* IN URBs waiting for an answer (UMockdevIoctlData refs) */
    GList *done;      /* completed URBs to reap */
    GList *discarded; /* cancelled URBs to reap with -ENOENT */
    pthread_mutex_t lock;
};

struct usbprinter_testbed {
    UMockdevTestbed *bed;
    struct tb_device dev[TB_MAX_DEVICES];
    unsigned n;
};

/* umockdev_in_mock_environment() of 0.17 misses umockdev-wrapper's bare library name: look at LD_PRELOAD */
int usbprinter_testbed_available(void)
{
    const char *preload = getenv("LD_PRELOAD");

    return umockdev_in_mock_environment() || (preload && strstr(preload, "libumockdev-preload"));
}

/* A USB string descriptor for s (ASCII) into out; returns its length. */
static size_t string_descriptor(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 2;

    for (; *s && n + 2 <= cap && n + 2 <= 254; s++) {
        out[n++] = (uint8_t)*s;
        out[n++] = 0;
    }
    out[0] = (uint8_t)n;
    out[1] = 3;
    return n;
}

static void device_descriptor(const struct printer_emulator *p, uint8_t out[18])
{
    const uint8_t d[18] = {18,
                           1,
                           0x00,
                           0x02,
                           0,
                           0,
                           0,
                           64,
                           (uint8_t)(printer_emulator_vendor(p) & 0xff),
                           (uint8_t)(printer_emulator_vendor(p) >> 8),
                           (uint8_t)(printer_emulator_product(p) & 0xff),
                           (uint8_t)(printer_emulator_product(p) >> 8),
                           0x00,
                           0x01,
                           1,
                           2,
                           3,
                           1};

    memcpy(out, d, sizeof(d));
}

/* configuration, printer-class interface (7/1/2), bulk OUT 0x01, bulk IN 0x82, 512-byte packets */
static const uint8_t config_descriptor[32] = {
    9, 2, 32,        0, 1,    1,    0, 0xc0, 50, /* configuration */
    9, 4, 0,         0, 2,    7,    1, 2,    0,  /* interface */
    7, 5, TB_EP_OUT, 2, 0x00, 0x02, 0,           /* bulk OUT */
    7, 5, TB_EP_IN,  2, 0x00, 0x02, 0,           /* bulk IN */
};

/* Answers a control request; returns the bytes placed after the setup packet, or -1 to stall. */
static int control(struct tb_device *d, const uint8_t *setup, uint8_t *data, size_t cap)
{
    unsigned type = setup[0], request = setup[1], value = setup[2] | setup[3] << 8,
             length = setup[6] | setup[7] << 8;
    uint8_t buf[1024];
    size_t n = 0;

    if (type == 0x80 && request == 6) { /* GET_DESCRIPTOR */
        switch (value >> 8) {
        case 1:
            device_descriptor(d->printer, buf);
            n = 18;
            break;
        case 2:
            memcpy(buf, config_descriptor, sizeof(config_descriptor));
            n = sizeof(config_descriptor);
            break;
        case 3:
            if ((value & 0xff) == 0) {
                const uint8_t langs[4] = {4, 3, 0x09, 0x04};

                memcpy(buf, langs, 4);
                n = 4;
            } else {
                const char *s = (value & 0xff) == 1   ? printer_emulator_manufacturer(d->printer)
                                : (value & 0xff) == 2 ? printer_emulator_product_name(d->printer)
                                                      : printer_emulator_serial(d->printer);

                n = string_descriptor(s, buf, sizeof(buf));
            }
            break;
        default:
            return -1;
        }
    } else if (type == 0xa1 && request == 0) { /* GET_DEVICE_ID */
        size_t id = strlen(printer_emulator_device_id(d->printer));

        buf[0] = (uint8_t)((id + 2) >> 8);
        buf[1] = (uint8_t)(id + 2);
        memcpy(buf + 2, printer_emulator_device_id(d->printer), id);
        n = id + 2;
    } else if ((type & 0x80) == 0) {
        n = 0; /* SET_* requests: accepted */
    } else {
        return -1;
    }
    if (n > length)
        n = length;
    if (n > cap)
        n = cap;
    memcpy(data, buf, n);
    return (int)n;
}

static gint same_addr(gconstpointer data, gconstpointer addr)
{
    return ((const UMockdevIoctlData *)data)->client_addr != (gulong)(uintptr_t)addr;
}

static void reap(UMockdevIoctlClient *client, UMockdevIoctlData *arg, UMockdevIoctlData *urb_data)
{
    UMockdevIoctlData *ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);

    umockdev_ioctl_data_set_ptr(ptr, 0, urb_data);
    umockdev_ioctl_client_complete(client, 0, 0);
    umockdev_ioctl_data_unref(ptr);
    umockdev_ioctl_data_unref(urb_data);
}

static gboolean submit(struct tb_device *d, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    UMockdevIoctlData *urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
    struct usbdevfs_urb *urb;
    UMockdevIoctlData *buffer;

    if (!urb_data) {
        umockdev_ioctl_client_complete(client, -1, EFAULT);
        return TRUE;
    }
    urb = (struct usbdevfs_urb *)(void *)urb_data->data;
    buffer = umockdev_ioctl_data_resolve(urb_data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
                                         (gsize)urb->buffer_length, NULL);
    if (printer_emulator_unplugged(d->printer) || !buffer) {
        umockdev_ioctl_client_complete(client, -1, buffer ? ENODEV : EFAULT);
        umockdev_ioctl_data_unref(urb_data);
        return TRUE;
    }
    urb->status = 0;
    urb->actual_length = 0;
    if (urb->type == USBDEVFS_URB_TYPE_CONTROL && urb->buffer_length >= TB_SETUP_LEN) {
        int n =
            control(d, buffer->data, buffer->data + TB_SETUP_LEN, (size_t)urb->buffer_length - TB_SETUP_LEN);

        if (n < 0)
            urb->status = -EPIPE;
        else
            urb->actual_length = n;
        d->done = g_list_append(d->done, urb_data);
    } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == TB_EP_OUT) {
        int r = printer_emulator_write(d->printer, buffer->data, (size_t)urb->buffer_length);

        if (r == -ENODEV) {
            umockdev_ioctl_client_complete(client, -1, ENODEV);
            umockdev_ioctl_data_unref(urb_data);
            return TRUE;
        }
        urb->status = r;
        urb->actual_length = r == 0 ? urb->buffer_length : 0;
        d->done = g_list_append(d->done, urb_data);
    } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == TB_EP_IN) {
        d->in_flight = g_list_append(d->in_flight, urb_data);
    } else {
        umockdev_ioctl_client_complete(client, -1, EINVAL);
        umockdev_ioctl_data_unref(urb_data);
        return TRUE;
    }
    umockdev_ioctl_client_complete(client, 0, 0);
    return TRUE;
}

static gboolean reap_one(struct tb_device *d, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    UMockdevIoctlData *urb_data;
    struct usbdevfs_urb *urb;

    if (d->discarded) {
        urb_data = d->discarded->data;
        d->discarded = g_list_delete_link(d->discarded, d->discarded);
        ((struct usbdevfs_urb *)(void *)urb_data->data)->status = -ENOENT;
        reap(client, arg, urb_data);
        return TRUE;
    }
    if (d->done) {
        urb_data = d->done->data;
        d->done = g_list_delete_link(d->done, d->done);
        reap(client, arg, urb_data);
        return TRUE;
    }
    if (printer_emulator_unplugged(d->printer)) {
        umockdev_ioctl_client_complete(client, -1, ENODEV);
        return TRUE;
    }
    if (d->in_flight) {
        int n;

        urb_data = d->in_flight->data;
        urb = (struct usbdevfs_urb *)(void *)urb_data->data;
        n = printer_emulator_read(d->printer, urb->buffer, (size_t)urb->buffer_length);
        if (n > 0) {
            d->in_flight = g_list_delete_link(d->in_flight, d->in_flight);
            urb->status = 0;
            urb->actual_length = n;
            reap(client, arg, urb_data);
            return TRUE;
        }
    }
    umockdev_ioctl_client_complete(client, -1, EAGAIN);
    return TRUE;
}

static gboolean discard(struct tb_device *d, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    void *addr = *(void **)(void *)arg->data;
    GList *l = g_list_find_custom(d->in_flight, addr, same_addr);

    if (l) {
        d->discarded = g_list_append(d->discarded, l->data);
        d->in_flight = g_list_delete_link(d->in_flight, l);
        umockdev_ioctl_client_complete(client, 0, 0);
    } else {
        umockdev_ioctl_client_complete(client, -1, EINVAL);
    }
    return TRUE;
}

static gboolean handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user)
{
    struct tb_device *d = user;
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    gboolean handled = TRUE;

    (void)handler;
    pthread_mutex_lock(&d->lock);
    switch (umockdev_ioctl_client_get_request(client)) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *caps = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);

        *(guint32 *)(void *)caps->data = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                         USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
        umockdev_ioctl_client_complete(client, 0, 0);
        umockdev_ioctl_data_unref(caps);
        break;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESET:
    case USBDEVFS_RESETEP:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
        if (printer_emulator_unplugged(d->printer))
            umockdev_ioctl_client_complete(client, -1, ENODEV);
        else
            umockdev_ioctl_client_complete(client, 0, 0);
        break;
    case USBDEVFS_GETDRIVER:
        umockdev_ioctl_client_complete(client, -1, ENODATA); /* no kernel driver holds it */
        break;
    case USBDEVFS_SUBMITURB:
        handled = submit(d, client, arg);
        break;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        handled = reap_one(d, client, arg);
        break;
    case USBDEVFS_DISCARDURB:
        handled = discard(d, client, arg);
        break;
    default:
        handled = FALSE;
        break;
    }
    pthread_mutex_unlock(&d->lock);
    return handled;
}

int usbprinter_testbed_new(struct usbprinter_testbed **ret, char *why, size_t why_size)
{
    struct usbprinter_testbed *tb;

    if (!usbprinter_testbed_available()) {
        snprintf(why, why_size, "not running under umockdev-wrapper");
        return -1;
    }
    tb = g_new0(struct usbprinter_testbed, 1);
    tb->bed = umockdev_testbed_new();
    if (!tb->bed) {
        g_free(tb);
        snprintf(why, why_size, "umockdev_testbed_new failed");
        return -1;
    }
    *ret = tb;
    return 0;
}

int usbprinter_testbed_add(struct usbprinter_testbed *tb, struct printer_emulator *p, unsigned address,
                           char *why, size_t why_size)
{
    struct tb_device *d;
    GError *error = NULL;
    GString *desc;
    uint8_t dev_desc[18];
    gchar *record;
    gboolean ok;

    if (tb->n == TB_MAX_DEVICES || address == 0 || address > 127) {
        snprintf(why, why_size, "bad address or too many devices");
        return -1;
    }
    d = &tb->dev[tb->n];
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    d->printer = p;
    snprintf(d->node, sizeof(d->node), "/dev/bus/usb/001/%03u", address);
    d->handler = umockdev_ioctl_base_new();
    g_signal_connect(d->handler, "handle-ioctl", G_CALLBACK(handle_ioctl), d);
    /* the handler first, so that libusb can open the node as soon as the device appears */
    if (!umockdev_testbed_attach_ioctl(tb->bed, d->node, d->handler, &error)) {
        snprintf(why, why_size, "attach_ioctl: %s", error ? error->message : "failed");
        g_clear_error(&error);
        g_object_unref(d->handler);
        pthread_mutex_destroy(&d->lock);
        return -1;
    }
    desc = g_string_new("");
    device_descriptor(p, dev_desc);
    for (size_t i = 0; i < sizeof(dev_desc); i++)
        g_string_append_printf(desc, "%02x", dev_desc[i]);
    for (size_t i = 0; i < sizeof(config_descriptor); i++)
        g_string_append_printf(desc, "%02x", config_descriptor[i]);
    record = g_strdup_printf("P: /devices/pci0000:00/usb1/1-%u\n"
                             "N: bus/usb/001/%03u\n"
                             "E: SUBSYSTEM=usb\n"
                             "E: DEVTYPE=usb_device\n"
                             "E: BUSNUM=001\n"
                             "E: DEVNUM=%03u\n"
                             "E: DEVNAME=/dev/bus/usb/001/%03u\n"
                             "A: busnum=1\\n\n"
                             "A: devnum=%u\\n\n"
                             "A: bConfigurationValue=1\\n\n"
                             "A: speed=480\\n\n"
                             "A: idVendor=%04x\\n\n"
                             "A: idProduct=%04x\\n\n"
                             "H: descriptors=%s\n",
                             address, address, address, address, address, printer_emulator_vendor(p),
                             printer_emulator_product(p), desc->str);
    g_string_free(desc, TRUE);
    ok = umockdev_testbed_add_from_string(tb->bed, record, &error);
    g_free(record);
    if (!ok) {
        snprintf(why, why_size, "add_from_string: %s", error ? error->message : "failed");
        g_clear_error(&error);
        umockdev_testbed_detach_ioctl(tb->bed, d->node, NULL);
        g_object_unref(d->handler);
        pthread_mutex_destroy(&d->lock);
        return -1;
    }
    tb->n++;
    return 0;
}

static void free_urbs(GList *l)
{
    g_list_free_full(l, (GDestroyNotify)umockdev_ioctl_data_unref);
}

void usbprinter_testbed_free(struct usbprinter_testbed *tb)
{
    if (!tb)
        return;
    for (unsigned i = 0; i < tb->n; i++) {
        struct tb_device *d = &tb->dev[i];

        umockdev_testbed_detach_ioctl(tb->bed, d->node, NULL);
        g_object_unref(d->handler);
        pthread_mutex_lock(&d->lock);
        free_urbs(d->in_flight);
        free_urbs(d->done);
        free_urbs(d->discarded);
        pthread_mutex_unlock(&d->lock);
        pthread_mutex_destroy(&d->lock);
    }
    g_object_unref(tb->bed);
    g_free(tb);
}
