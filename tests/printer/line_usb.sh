#!/usr/bin/env bash
# line_usb.sh — cardline's production line against emulated USB printers through real libusb (umockdev)
source "$(dirname "$0")/../integration/lib.sh"
require_postgres
if ! command -v umockdev-wrapper >/dev/null || [ ! -x "$LINE_USB" ]; then
    [ "${CI:-}" = "true" ] && fail "umockdev-wrapper or the line_usb test program is missing in CI"
    echo "SKIP: umockdev not installed" >&2
    exit 77
fi
new_db
cl gen applications 16 --seed 21 >/dev/null
umockdev-wrapper "$LINE_USB" "$DB" "$WORK"
