#!/usr/bin/python3
"""pboc_card.py — the virtual social security card of ssc_card.py with a second application: a UnionPay
(PBOC 3.0) debit application, personalised over GlobalPlatform SCP02 with STORE DATA and read by a terminal
(PPSE, SELECT, GET PROCESSING OPTIONS, READ RECORD), for pcscd's vpcd.

Written from the primary sources, not from cardline's encoder/: GlobalPlatform Card Specification 2.2
(STORE DATA; Appendix E: SCP02 option i=55 with INITIALIZE UPDATE and EXTERNAL AUTHENTICATE),
EMV Card Personalization Specification 1.1 (DGIs, key diversification, sensitive DGIs under the session
DEK), EMV 4.3 Book 1 (SELECT) and Book 3 (GET PROCESSING OPTIONS, READ RECORD, AFL, PDOL), PBOC 3.0 (PPSE),
JR/T 0025 (PBOC 3.0). One card, two applications, as the regulation's card is: SELECT by name picks the
application the following commands go to. What the bank application refuses, as a card does:
  * INITIALIZE UPDATE with an unknown key version: 6A88; EXTERNAL AUTHENTICATE not right after it: 6985;
    a wrong host cryptogram: 6300; a wrong C-MAC on EXTERNAL AUTHENTICATE: 6982;
  * after authentication, any command without CLA 84 and a valid C-MAC: 6982, and the session is closed;
  * STORE DATA before authentication: 6982; a block out of sequence (P2 not the next): 6A86; a sensitive DGI
    that is not whole 3DES blocks, keys (8000) whose check values (9000) differ, a malformed PIN block
    (8010): 6A80; the last block without the DGIs a terminal needs: 6A88; with --bank-fault-at N, block N
    answers 6581 (memory failure);
  * GET PROCESSING OPTIONS (and READ RECORD) before personalisation: 6985; PDOL data of the wrong length: 6700.
The card's SCP02 keys are diversified (EMV CPS) from the key file's root as issuer master key (KMC).
With --blanks the reader is fed blank after blank, as a production line's printer feeds its contact station:
the first power-up after a power cycle in which the bank application was selected (the line's bank pass, good
or failed, ends the card) brings a new blank with both applications unpersonalised, its own SCP02 keys (KDD)
and the next serial. Each blank's secure channel and STORE DATA are logged on stderr (account masked).
"""
import argparse
import logging
import os
import secrets
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ssc_card  # noqa: E402  (the social security application and the vpcd plumbing)

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

try:  # cryptography >= 43 moved 3DES
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES  # noqa: E402
except ImportError:
    TripleDES = algorithms.TripleDES

UNIONPAY_AID = bytes.fromhex("A000000333010101")
PPSE = b"2PAY.SYS.DDF01"
KEY_VERSION = 0x20


def log(msg):
    print(f"pboc-card: {msg}", file=sys.stderr, flush=True)


def des3(key, data, decrypt=False):
    """3DES-EDE ECB; a 16-byte key is K1 K2 K1, an 8-byte one single DES."""
    k = key + key[:8] if len(key) == 16 else key * 3
    c = Cipher(TripleDES(k), modes.ECB())
    op = c.decryptor() if decrypt else c.encryptor()
    return op.update(bytes(data)) + op.finalize()


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def pad80(data):
    """ISO/IEC 9797-1 padding method 2."""
    data = bytes(data) + b"\x80"
    return data + bytes(-len(data) % 8)


def cbc_mac_3des(key, data):
    """GP 2.2 Appendix E: full triple DES MAC, ICV zero."""
    x = bytes(8)
    for i in range(0, len(data), 8):
        x = des3(key, xor(x, data[i:i + 8]))
    return x


def retail_mac(key, icv, data):
    """ISO/IEC 9797-1 MAC algorithm 3: single DES CBC under K1, the last block through 3DES."""
    x = icv
    for i in range(0, len(data) - 8, 8):
        x = des3(key[:8], xor(x, data[i:i + 8]))
    return des3(key, xor(x, data[-8:]))


def session_key(static, constant, seq):
    """GP 2.2 Appendix E: 3DES-CBC of constant || sequence counter || 00*12 under the static key."""
    d = constant + seq + bytes(12)
    b1 = des3(static, d[:8])
    return b1 + des3(static, xor(b1, d[8:]))


def emv_diversify(kmc, kdd, key_type):
    """EMV CPS 1.1 key diversification: the card key from the KMC and KDD bytes 4..9."""
    six = kdd[4:10]
    return des3(kmc, six + bytes([0xF0, key_type]) + six + bytes([0x0F, key_type]))


def kcv(key):
    return des3(key, bytes(8))[:3]


def tlv(tag, value):
    t = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    n = len(value)
    ln = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big")
    return t + ln + bytes(value)


def tlv_walk(data):
    """Yield (tag, value) of a BER-TLV list, descending into constructed values."""
    i = 0
    while i < len(data):
        start = i
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            while True:
                tag = tag << 8 | data[i]
                i += 1
                if not data[i - 1] & 0x80:
                    break
        n = data[i]
        i += 1
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[i:i + k], "big")
            i += k
        value = data[i:i + n]
        if len(value) != n:
            raise ValueError("truncated TLV")
        i += n
        yield tag, value
        if data[start] & 0x20:
            yield from tlv_walk(value)


def tlv_find(data, want):
    for tag, value in tlv_walk(data):
        if tag == want:
            return value
    return None


def dol_length(dol):
    total, i = 0, 0
    while i < len(dol):
        first = dol[i]
        i += 1
        if first & 0x1F == 0x1F:
            while dol[i] & 0x80:
                i += 1
            i += 1
        total += dol[i]
        i += 1
    return total


class PbocApp:
    """The UnionPay application: pre-personalised until the last STORE DATA block, then a debit app."""

    def __init__(self, kmc, seed, fault_at=None, blank=1):
        self.blank = blank  # which blank of the stack this is, for the log
        self.fault_at = fault_at  # the STORE DATA block (from 0) that answers 6581, as a failing EEPROM does
        rng = secrets.SystemRandom() if seed is None else __import__("random").Random(seed + 7)
        self.kdd = bytes(2) + bytes(rng.randrange(256) for _ in range(8))
        self.keys = {t: emv_diversify(kmc, self.kdd, t) for t in (1, 2, 3)}
        self.seq = 1
        self.rng = rng
        self.dgis = {}
        self.personalised = False
        self.reset()

    def reset(self):
        self.pending_init = None
        self.sk = None
        self.authed = False
        self.last_mac = None
        self.block = 0
        self.buffer = b""
        self.buffer_enc = False

    def close_session(self):
        self.sk, self.authed, self.last_mac = None, False, None

    # ---- SELECT answers ----
    def fci(self):
        body = tlv(0x84, UNIONPAY_AID)
        if self.personalised:
            body += self.dgis[0x9102]
        return ssc_card.sw(0x9000, tlv(0x6F, body))

    def ppse(self):
        if not self.personalised:
            return ssc_card.sw(0x6A82)
        entry = tlv(0x4F, UNIONPAY_AID)
        label = tlv_find(self.dgis[0x9102], 0x50)
        if label:
            entry += tlv(0x50, label)
        entry += tlv(0x87, b"\x01")
        return ssc_card.sw(0x9000, tlv(0x6F, tlv(0x84, PPSE) + tlv(0xA5, tlv(0xBF0C, tlv(0x61, entry)))))

    # ---- commands ----
    def execute(self, a):
        init, self.pending_init = self.pending_init, None
        if self.authed:
            # GP 2.2 Appendix E: after EXTERNAL AUTHENTICATE every command carries a C-MAC
            if a.cla != 0x84 or len(a.data) < 8:
                self.close_session()
                return ssc_card.sw(0x6982)
            modified = bytes([a.cla, a.ins, a.p1, a.p2, len(a.data)]) + a.data[:-8]
            icv = des3(self.sk["mac"][:8], self.last_mac)
            mac = retail_mac(self.sk["mac"], icv, pad80(modified))
            if mac != a.data[-8:]:
                self.close_session()
                return ssc_card.sw(0x6982)
            self.last_mac = mac
            a.data = a.data[:-8]
        if (a.cla, a.ins) == (0x80, 0x50):
            return self.initialize_update(a)
        if (a.cla, a.ins) == (0x84, 0x82):
            return self.external_authenticate(a, init)
        if a.ins == 0xE2 and a.cla in (0x80, 0x84):
            return self.store_data(a)
        if (a.cla, a.ins) == (0x80, 0xA8):
            return self.gpo(a)
        if (a.cla, a.ins) == (0x00, 0xB2):
            return self.read_record(a)
        return ssc_card.sw(0x6D00)

    def initialize_update(self, a):
        if self.personalised:
            return ssc_card.sw(0x6985)
        if a.p1 not in (0x00, KEY_VERSION) or a.p2 != 0:
            return ssc_card.sw(0x6A88)
        if len(a.data) != 8:
            return ssc_card.sw(0x6700)
        self.close_session()
        seq = self.seq.to_bytes(2, "big")
        self.sk = {"enc": session_key(self.keys[1], b"\x01\x82", seq),
                   "mac": session_key(self.keys[2], b"\x01\x01", seq),
                   "dek": session_key(self.keys[3], b"\x01\x81", seq)}
        challenge = bytes(self.rng.randrange(256) for _ in range(6))
        card_crypto = cbc_mac_3des(self.sk["enc"], pad80(a.data + seq + challenge))
        self.pending_init = (a.data, seq, challenge)
        return ssc_card.sw(0x9000, self.kdd + bytes([KEY_VERSION, 0x02]) + seq + challenge + card_crypto)

    def external_authenticate(self, a, init):
        if init is None or self.sk is None:
            return ssc_card.sw(0x6985)
        if len(a.data) != 16 or a.p2 != 0 or a.p1 not in (0x00, 0x01, 0x03):
            self.close_session()
            return ssc_card.sw(0x6A86 if len(a.data) == 16 else 0x6700)
        host, seq, challenge = init
        modified = bytes([0x84, 0x82, a.p1, a.p2, 0x10]) + a.data[:8]
        mac = retail_mac(self.sk["mac"], bytes(8), pad80(modified))
        if mac != a.data[8:]:
            self.close_session()
            return ssc_card.sw(0x6982)
        if cbc_mac_3des(self.sk["enc"], pad80(seq + challenge + host)) != a.data[:8]:
            self.close_session()
            return ssc_card.sw(0x6300)
        self.authed, self.last_mac = True, mac
        log(f"blank {self.blank}: SCP02 channel open (key version {KEY_VERSION:02X}, i=55, C-MAC)")
        self.seq += 1
        self.block, self.buffer = 0, b""
        return ssc_card.sw(0x9000)

    def store_data(self, a):
        if not self.authed or a.cla != 0x84:
            return ssc_card.sw(0x6982)
        if self.personalised:
            return ssc_card.sw(0x6985)
        if a.p2 != self.block or a.p1 & 0x07 or (a.p1 >> 3) & 0x03 not in (0, 1) or (a.p1 >> 5) & 0x03 == 2:
            return ssc_card.sw(0x6A86)
        if self.fault_at is not None and a.p2 == self.fault_at:
            return ssc_card.sw(0x6581)
        encrypted = (a.p1 >> 5) & 0x03 == 3
        if not self.buffer:
            self.buffer_enc = encrypted
        elif encrypted != self.buffer_enc:
            return ssc_card.sw(0x6A80)  # a DGI split across blocks of differing encryption
        self.block += 1
        self.buffer += a.data
        while len(self.buffer) >= 3:
            n, h = self.buffer[2], 3
            if n == 0xFF:
                if len(self.buffer) < 5:
                    break
                n, h = int.from_bytes(self.buffer[3:5], "big"), 5
            if len(self.buffer) < h + n:
                break
            num = int.from_bytes(self.buffer[:2], "big")
            value = self.buffer[h:h + n]
            if self.buffer_enc:
                if n % 8:
                    return ssc_card.sw(0x6A80)
                value = des3(self.sk["dek"], value, decrypt=True)
            self.dgis[num] = value
            self.buffer = self.buffer[h + n:]
        if a.p1 & 0x80:
            return self.finish(a.p2)
        return ssc_card.sw(0x9000)

    def finish(self, a_last):
        if self.buffer:
            return ssc_card.sw(0x6A80)
        d = self.dgis
        if 0x9102 not in d or 0x9104 not in d:
            return ssc_card.sw(0x6A88)
        try:
            afl = tlv_find(d[0x9104], 0x94)
            tlv_find(d[0x9102], 0x50)
        except (ValueError, IndexError):
            return ssc_card.sw(0x6A80)
        if not afl or len(afl) % 4:
            return ssc_card.sw(0x6A80)
        for i in range(0, len(afl), 4):
            for rec in range(afl[i + 1], afl[i + 2] + 1):
                if ((afl[i] >> 3) << 8 | rec) not in d:
                    return ssc_card.sw(0x6A88)
        if 0x8000 in d:
            keys = d[0x8000]
            if 0x9000 not in d or b"".join(kcv(keys[i:i + 16]) for i in range(0, len(keys), 16)) != d[0x9000]:
                return ssc_card.sw(0x6A80)
        if 0x8010 in d:
            pin = d[0x8010]
            if len(pin) != 8 or pin[0] >> 4 != 2 or not 4 <= pin[0] & 0x0F <= 12:
                return ssc_card.sw(0x6A80)
        self.personalised = True
        self.close_session()
        try:  # for the log only: the records were checked by whoever reads them
            pan = b"".join(tlv_find(v, 0x5A) or b"" for k, v in sorted(d.items()) if k < 0x7F00 and k & 0xFF)
            pan = pan.hex().upper().rstrip("F")
        except (ValueError, IndexError):
            pan = "?" * 10
        log(f"blank {self.blank}: personalised by STORE DATA blocks 00-{a_last:02X}, DGIs "
            f"{','.join(f'{k:04X}' for k in sorted(d))}, account {pan[:6]}{'*' * (len(pan) - 10)}{pan[-4:]}")
        return ssc_card.sw(0x9000)

    def gpo(self, a):
        if not self.personalised:
            return ssc_card.sw(0x6985)
        if a.p1 or a.p2:
            return ssc_card.sw(0x6A86)
        pdol = tlv_find(self.dgis[0x9102], 0x9F38) or b""
        want = dol_length(pdol)
        if len(a.data) < 2 or a.data[0] != 0x83 or a.data[1] != want or len(a.data) != 2 + want:
            return ssc_card.sw(0x6700)
        return ssc_card.sw(0x9000, tlv(0x77, self.dgis[0x9104]))

    def read_record(self, a):
        if a.p2 & 0x07 != 0x04 or not 1 <= a.p2 >> 3 <= 30:
            return ssc_card.sw(0x6A86)
        if not self.personalised:
            return ssc_card.sw(0x6985)
        value = self.dgis.get((a.p2 >> 3) << 8 | a.p1)
        if value is None or a.p1 == 0:
            return ssc_card.sw(0x6A83)
        return ssc_card.sw(0x9000, value)


class TwoAppCard:
    """SELECT by DF name decides which application the following commands go to. With a next_blank maker,
    a power-up after a powered session that selected the bank application feeds a new blank."""

    def __init__(self, ssc, pboc, next_blank=None):
        self.ssc, self.pboc, self.current = ssc, pboc, "ssc"
        self.next_blank, self.bank_seen, self.done = next_blank, False, False

    def power_up(self):
        if self.done and self.next_blank:
            self.ssc, self.pboc = self.next_blank()
            self.done = False
        self.bank_seen = False
        self.reset()

    def power_down(self):
        self.done = self.done or self.bank_seen
        self.reset()

    def reset(self):
        self.ssc.reset()
        self.pboc.reset()
        self.current = "ssc"

    def execute(self, msg):
        try:
            a = ssc_card.Apdu(msg)
        except (ValueError, IndexError):
            return ssc_card.sw(0x6700)
        if (a.cla, a.ins, a.p1) == (0x00, 0xA4, 0x04) and a.data in (UNIONPAY_AID, PPSE):
            self.bank_seen = True
            self.pboc.close_session()
            self.current = "pboc"
            return self.pboc.fci() if a.data == UNIONPAY_AID else self.pboc.ppse()
        if (a.cla, a.ins, a.p1) == (0x00, 0xA4, 0x04):
            self.current = "ssc"
        if self.current == "pboc":
            try:
                return self.pboc.execute(a)
            except (ValueError, IndexError, KeyError) as e:
                print(f"pboc-card: {a.raw.hex()}: {e}", file=sys.stderr)
                return ssc_card.sw(0x6F00)
        return self.ssc.execute(msg)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=35963)
    p.add_argument("--key-file", required=True, help="issuer root key (SSSE roots and the bank's KMC), 32 hex")
    p.add_argument("--bank-kmc-file", help="the bank application's KMC when it differs from --key-file")
    p.add_argument("--bank-kmc-blanks", help="with --blanks: only these blanks (from 1, comma-separated) have "
                   "their bank keys from --bank-kmc-file")
    p.add_argument("--blanks", action="store_true", help="a stack of blanks: a new one after each bank pass")
    p.add_argument("--seed", type=int)
    p.add_argument("--serial")
    p.add_argument("--alg", choices=("sm4", "3des"), default="sm4")
    p.add_argument("--region", default="440200",
                   help="the issuing bureau's region code (6 digits; default Shaoguan's)")
    p.add_argument("--bank-fault-at", type=int, help="STORE DATA block N (from 0) answers 6581 (memory failure)")
    p.add_argument("--lifetime", type=int, default=0)
    p.add_argument("--connect-timeout", type=int, default=10000)
    opts = p.parse_args()
    # the social security application with ssc_card.py's defaults
    ssc_opts = argparse.Namespace(alg=opts.alg, atr=None, card_type="3", foreign=False, free_ef06=False,
                                  memory_fault_at=None, psam=False, pull_at=None, region=opts.region,
                                  seed=opts.seed, serial=opts.serial, slow=0, spec_version="3.00")
    root = ssc_card.read_key(opts.key_file)
    other = ssc_card.read_key(opts.bank_kmc_file) if opts.bank_kmc_file else None
    foreign = {int(n) for n in opts.bank_kmc_blanks.split(",")} if opts.bank_kmc_blanks else None
    if opts.serial and (len(opts.serial) != 8 or any(c not in "0123456789abcdefABCDEF" for c in opts.serial)):
        p.error("--serial must be 8 hex digits")
    count = [0]

    def blank():
        """The next blank of the stack: its own serial (the ATR's and the card identifier's) and SCP02 KDD."""
        count[0] += 1
        k = count[0]
        o = argparse.Namespace(**vars(ssc_opts))
        if k > 1:
            o.seed = None if opts.seed is None else opts.seed + 1000 * (k - 1)
            if opts.serial:
                o.serial = f"{(int(opts.serial, 16) + k - 1) & 0xFFFFFFFF:08X}"
        kmc = other if other and (foreign is None or k in foreign) else root
        if k > 1:
            log(f"blank {k} fed")
        return ssc_card.SsseCard(o, root), PbocApp(kmc, o.seed, opts.bank_fault_at, k)

    card = TwoAppCard(*blank(), next_blank=blank if opts.blanks else None)
    SmartcardOS, VirtualICC = ssc_card.import_virtualsmartcard()

    class Os(SmartcardOS):
        def getATR(self):
            return card.ssc.atr

        def powerUp(self):
            card.power_up()

        def powerDown(self):
            card.power_down()

        def reset(self):
            card.reset()

        def execute(self, msg):
            return card.execute(msg)

    if opts.lifetime:
        t = threading.Timer(opts.lifetime, lambda: os._exit(0))
        t.daemon = True
        t.start()
    logging.basicConfig(level=logging.ERROR)
    deadline = time.monotonic() + opts.connect_timeout / 1000
    while True:
        try:
            vicc = VirtualICC(None, "iso7816", opts.host, opts.port, logginglevel=logging.ERROR)
            break
        except SystemExit:
            if time.monotonic() > deadline:
                print(f"pboc-card: vpcd on {opts.host}:{opts.port} did not accept", file=sys.stderr)
                return 1
            time.sleep(0.05)
    vicc.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    vicc.sock = ssc_card.QuickAckSocket(vicc.sock)
    vicc.os = Os()
    try:
        vicc.run()
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
