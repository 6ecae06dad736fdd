#!/usr/bin/python3
"""ssc_card.py — an independent virtual social security card (SSSE application) or social security PSAM for
pcscd's vpcd reader driver, on Debian's python3-virtualsmartcard.

Written only from the card specification (社会保障（个人）卡规范 parts 4, 5, 6, 9; the V2.0 file-structure notice)
and public APDU traces, as published in the public repository gdgly/SI_3rdCard; it shares no code or tables with
cardline's encoder/, so a mistake the encoder makes is a mistake this card refuses. What it models:

* SSSE (DF name "sx1.sh.社会保障" in GBK) with EF05/EF06 as fixed-length TLV records that exist from
  pre-personalisation on (an filled with 00, cn with FF); EF06 record n is NOT tag n (08 09 4E 0A 0B 0C 0D);
  READ/UPDATE RECORD by record number (P2 low bits 100), by identifier (000), "P1 to last" (101, read only),
  SFI in P2; Le other than the record's length -> 6Cxx; short or long records -> 6700; EF05 01-04 are the
  maker's (6982 to the issuer).
* FCI 6F{84 name, A5{88 01 1E, 9F0C{86 01 alg}}}, T=0 style 61xx/GET RESPONSE; 3DES or SM4 cards.
* GET CHALLENGE (04/08/10), INTERNAL AUTHENTICATE (IRK), EXTERNAL AUTHENTICATE (UKSSSE 04, PUK 06,
  RKSSSE 0A) with 63Cx/6983 counters; keys dispersed per card (region factors + ATR historical bytes T6..T13);
  3.00 cards read EF06 only under RKSSSE.
* VERIFY with a try counter, cardholder CHANGE PIN 80 5E 01 00, issuer PIN unblock/reset 84 24 00 00|01
  (PUK authentication + MAC, PIN block under STKSSSE), APPLICATION BLOCK 84 1E 00 01 (then SELECT -> 9303).
* PSAM mode: BF EC (initialise environment), BF DE (deliver session key: three dispersals), 80 FA (cipher).
The test key file's root stands for every key role's root (a test HSM, not a bureau's key set-up).
"""
import argparse
import importlib
import logging
import os
import secrets
import socket
import sys
import threading
import time

VSC_PATH = "/usr/lib/python3/site-packages/virtualsmartcard"


def import_virtualsmartcard():
    """Debian installs the module outside sys.path, and it imports PyCrypto as Crypto (Debian: Cryptodome)."""
    if VSC_PATH not in sys.path and os.path.isdir(VSC_PATH):
        sys.path.insert(0, VSC_PATH)
    try:
        importlib.import_module("Crypto.Cipher")
    except ImportError:
        import Cryptodome
        import Cryptodome.Cipher
        import Cryptodome.Hash
        sys.modules["Crypto"] = Cryptodome
        sys.modules["Crypto.Cipher"] = Cryptodome.Cipher
        sys.modules["Crypto.Hash"] = Cryptodome.Hash
    from virtualsmartcard.VirtualSmartcard import SmartcardOS, VirtualICC
    return SmartcardOS, VirtualICC


from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

ALG_3DES, ALG_SM4 = 0x01, 0x03
DF_NAME = b"sx1.sh." + "社会保障".encode("gbk")
# [V2] 表9 / [P10] §5.4.1: per EF, in record order: (identifier, full length, format)
LAYOUT = {
    0xEF05: [(0x01, 16, "cn"), (0x02, 1, "an"), (0x03, 4, "an"), (0x04, 12, "cn"),
             (0x05, 4, "cn"), (0x06, 4, "cn"), (0x07, 9, "an")],
    0xEF06: [(0x08, 18, "an"), (0x09, 30, "an"), (0x4E, 20, "an"), (0x0A, 1, "an"),
             (0x0B, 1, "cn"), (0x0C, 3, "cn"), (0x0D, 4, "cn")],
}
SFI = {5: 0xEF05, 6: 0xEF06}
MAKER_RECORDS = {(0xEF05, 1), (0xEF05, 2), (0xEF05, 3), (0xEF05, 4)}
KEY_IDS = {0x04: "UKSSSE", 0x06: "PUK", 0x0A: "RKSSSE"}
PSAM_KEYS = {0x0170, 0x0094, 0x004C, 0x0090, 0x0173}  # IRK UKSSSE RKSSSE PUK STKSSSE logical addresses
PIN_TRIES, KEY_TRIES = 3, 5


def sw(code, data=b""):
    return bytes(data) + code.to_bytes(2, "big")


class BlockCipher:
    """E_K for the card's algorithm: 3DES-EDE (8-byte blocks) or SM4 (16-byte blocks), ECB."""

    def __init__(self, alg):
        self.alg = alg
        self.block = 8 if alg == ALG_3DES else 16

    def _algo(self, key):
        return algorithms.TripleDES(bytes(key)) if self.alg == ALG_3DES else algorithms.SM4(bytes(key))

    def enc(self, key, data):
        e = Cipher(self._algo(key), modes.ECB()).encryptor()
        return e.update(bytes(data)) + e.finalize()

    def dec(self, key, data):
        d = Cipher(self._algo(key), modes.ECB()).decryptor()
        return d.update(bytes(data)) + d.finalize()

    def disperse(self, key, factor):
        """[P9] §7.1.1/§7.2.1: 3DES E(f)||E(~f); 16-byte ciphers E(f||~f)."""
        inv = bytes(b ^ 0xFF for b in factor)
        if self.block == 8:
            return self.enc(key, factor) + self.enc(key, inv)
        return self.enc(key, factor + inv)

    def session(self, key, rnd):
        """[P4] §8.4: 3DES SK = E_K(R) (8 bytes, single DES); SM4 SK = E_K(R || 00..)."""
        return self.enc(key, rnd[:8].ljust(self.block, b"\0"))

    def with_session(self, sk, data):
        return self.enc(sk if len(sk) == 16 else sk + sk, data)

    def auth(self, key, process, original):
        c = self.with_session(self.session(key, process), original[:8].ljust(self.block, b"\0"))
        return c[:8] if self.block == 8 else bytes(a ^ b for a, b in zip(c[:8], c[8:16]))

    def cbc_last(self, sk, data):
        x = bytes(self.block)
        for i in range(0, len(data), self.block):
            x = self.with_session(sk, bytes(a ^ b for a, b in zip(x, data[i:i + self.block])))
        return x

    def mac(self, key, challenge, data):
        """[P4] §8.2.4: pad 80 00.., CBC IV 0 under the challenge's session key; fold to 4 bytes."""
        padded = bytes(data) + b"\x80"
        padded += bytes(-len(padded) % self.block)
        last = self.cbc_last(self.session(key, challenge), padded)
        if self.block == 8:
            return last[:4]
        return bytes(last[i] ^ last[4 + i] ^ last[8 + i] ^ last[12 + i] for i in range(4))


def factors(region, hist):
    """[P9] §7.3, [SC] §10.3: level 1 region[0:2]||'0000sh', level 2 region||'sx', level 3 T6..T13."""
    return [region[:2].encode() + b"0000sh", region.encode() + b"sx", bytes(hist)]


def bcd(digits, length):
    s = digits + "F" * (2 * length - len(digits))
    return bytes.fromhex(s)


def historical_bytes(atr):
    """Skip T0 and the interface bytes (ISO 7816-3); the rest up to K bytes are historical."""
    k, i, y = atr[1] & 0x0F, 2, atr[1] >> 4
    while True:
        i += bin(y & 0x7).count("1")
        if not y & 0x8:
            break
        y = atr[i] >> 4
        i += 1
    return atr[i:i + k]


class Apdu:
    def __init__(self, msg):
        if len(msg) < 4:
            raise ValueError
        self.cla, self.ins, self.p1, self.p2 = msg[0], msg[1], msg[2], msg[3]
        self.raw = bytes(msg)
        self.data, self.le = b"", None
        rest = msg[4:]
        if len(rest) == 1:
            self.le = rest[0] or 256
        elif len(rest) > 1:
            lc = rest[0]
            if lc == 0 or len(rest) not in (1 + lc, 2 + lc):
                raise ValueError
            self.data = bytes(rest[1:1 + lc])
            if len(rest) == 2 + lc:
                self.le = rest[-1] or 256


class SsseCard:
    """The card: files, keys and counters persist; security state is lost at reset."""

    def __init__(self, opts, root):
        self.opts = opts
        self.root = root
        self.cipher = BlockCipher(ALG_3DES if opts.alg == "3des" else ALG_SM4)
        rng = secrets.SystemRandom() if opts.seed is None else __import__("random").Random(opts.seed)
        serial = bytes(rng.randrange(256) for _ in range(4))
        code = bytes(rng.randrange(256) for _ in range(4))
        if opts.serial:
            serial = bytes.fromhex(opts.serial)
        region = opts.region
        if opts.atr:
            self.atr = bytes.fromhex(opts.atr)
        elif opts.psam:
            self.atr = bytes.fromhex("3B66000053535053414D")  # T=0, historical "SSPSAM"
        else:
            # 13 historical bytes as in the [TR1] trace: T6 T7 maker, T8 T9 region (4 digits), T10..T13 serial
            self.atr = bytes.fromhex("3B6D000000814A44468660") + bcd(region[:4], 2) + serial
        hist = historical_bytes(self.atr)
        self.hist = hist[5:13] if len(hist) >= 13 else bytes(8)
        key = root
        for f in factors(region, self.hist):
            key = self.cipher.disperse(key, f)
        self.card_key = key  # every role's card key (one test root)
        self.records = {}
        for fid, layout in LAYOUT.items():
            self.records[fid] = [bytearray([tag, n]) + (b"\xff" if fmt == "cn" else b"\0") * n
                                 for tag, n, fmt in layout]
        card_id = bcd(region, 3) + bytes.fromhex("D156000005") + serial + code
        self.store(0xEF05, 1, card_id)
        self.store(0xEF05, 2, opts.card_type.encode().ljust(1, b"\0"))
        self.store(0xEF05, 3, opts.spec_version.encode().ljust(4, b"\0"))
        self.store(0xEF05, 4, bytes.fromhex("9156000002") + bcd(region, 3) + bcd(region, 3) + b"\x01")
        self.pin = bcd("123456", 3)
        self.pin_tries = PIN_TRIES
        self.key_tries = {kid: KEY_TRIES for kid in KEY_IDS}
        self.blocked = False
        self.updates = 0
        self.ef06_read_key = opts.spec_version >= "3.00" and not opts.free_ef06
        self.reset()

    def store(self, fid, rec, value):
        tag, n, _ = LAYOUT[fid][rec - 1]
        self.records[fid][rec - 1] = bytearray([tag, n]) + bytes(value)

    def reset(self):
        self.df = None
        self.ef = None
        self.challenge = None
        self.authed = set()
        self.pending = b""
        self.psam_env = False
        self.psam_sk = None
        self.psam_cipher = None

    # ---- dispatch ----
    def execute(self, msg):
        if self.opts.slow:
            time.sleep(self.opts.slow / 1000)
        try:
            a = Apdu(msg)
        except (ValueError, IndexError):
            return sw(0x6700)
        if a.ins == 0xDC and self.opts.pull_at is not None and self.updates == self.opts.pull_at:
            print(f"ssc-card: pulled out at UPDATE RECORD {self.updates}", file=sys.stderr)
            os._exit(0)  # the contacts are gone: vpcd sees the socket close
        if a.cla == 0x00 and a.ins == 0xC0:
            return self.get_response(a)
        self.pending = b""  # response data survives only until the next command
        if self.opts.psam:
            return self.psam(a)
        handler = {
            (0x00, 0xA4): self.select, (0x00, 0xB2): self.read_record, (0x00, 0xDC): self.update_record,
            (0x00, 0x84): self.get_challenge, (0x00, 0x82): self.external_auth,
            (0x00, 0x88): self.internal_auth, (0x00, 0x20): self.verify, (0x80, 0x5E): self.change_pin,
            (0x84, 0x24): self.pin_unblock, (0x84, 0x1E): self.application_block,
        }.get((a.cla, a.ins))
        if handler is None:
            return sw(0x6E00) if a.cla not in (0x00, 0x80, 0x84) else sw(0x6D00)
        if self.opts.foreign and a.ins != 0xA4:
            return sw(0x6D00)
        try:
            return handler(a)
        except (ValueError, IndexError) as e:  # a malformed data field the checks above let through
            print(f"ssc-card: {a.raw.hex()}: {e}", file=sys.stderr)
            return sw(0x6F00)

    def respond(self, a, data):
        """T=0: a case-4 command's data waits for GET RESPONSE (61xx)."""
        self.pending = bytes(data)
        return sw(0x6100 | (len(data) & 0xFF))

    def get_response(self, a):
        if a.p1 or a.p2:
            return sw(0x6A86)
        if not self.pending:
            return sw(0x6985)
        le = a.le or 256
        if le > len(self.pending) and le != 256:
            return sw(0x6C00 | len(self.pending))
        out, self.pending = self.pending[:le], self.pending[le:]
        return sw(0x6100 | len(self.pending) if self.pending else 0x9000, out)

    # ---- files ----
    def select(self, a):
        if a.p2 not in (0x00, 0x0C):
            return sw(0x6A86)
        if not a.data:
            return sw(0x6700)
        if a.p1 == 0x04:
            if a.data != DF_NAME or self.opts.foreign:
                return sw(0x6A82)
            if self.blocked:
                return sw(0x9303)
            self.df, self.ef, self.authed = "SSSE", None, set()
            if a.le is None:
                return sw(0x9000)
            inner = bytes([0x88, 0x01, 0x1E, 0x9F, 0x0C, 0x03, 0x86, 0x01, self.cipher.alg])
            body = bytes([0x84, len(DF_NAME)]) + DF_NAME + bytes([0xA5, len(inner)]) + inner
            return self.respond(a, bytes([0x6F, len(body)]) + body)
        if a.p1 in (0x00, 0x02):
            if len(a.data) != 2:
                return sw(0x6700)
            fid = int.from_bytes(a.data, "big")
            if fid == 0x3F00 and a.p1 == 0x00:
                self.df, self.ef, self.authed = "MF", None, set()
                return sw(0x9000)
            if self.df == "SSSE" and fid in (0xEF05, 0xEF06, 0xEF07, 0xEF08):
                self.ef = fid
                return sw(0x9000)
            return sw(0x6A82)
        return sw(0x6A86)

    def address(self, a, writing):
        """P2 = SFI<<3 | mode ([P5] 表32). Returns (fid, [record numbers]) or a status word."""
        if self.df != "SSSE":
            return 0x6986
        sfi, mode = a.p2 >> 3, a.p2 & 0x07
        if sfi:
            if sfi in (7, 8):
                return 0x6981
            if sfi not in SFI:
                return 0x6A82
            self.ef = SFI[sfi]
        if self.ef is None:
            return 0x6986
        if self.ef not in LAYOUT:
            return 0x6981  # EF07/EF08 are transparent
        count = len(LAYOUT[self.ef])
        if mode == 0x04:
            if not 1 <= a.p1 <= count:
                return 0x6A83
            return self.ef, [a.p1]
        if mode == 0x00:
            for n, (tag, _, _) in enumerate(LAYOUT[self.ef], 1):
                if tag == a.p1:
                    return self.ef, [n]
            return 0x6A83
        if mode == 0x05 and not writing:
            if not 1 <= a.p1 <= count:
                return 0x6A83
            return self.ef, list(range(a.p1, count + 1))
        return 0x6A86

    def read_record(self, a):
        if a.data:
            return sw(0x6700)
        where = self.address(a, False)
        if isinstance(where, int):
            return sw(where)
        fid, recs = where
        if fid == 0xEF06 and self.ef06_read_key and "RKSSSE" not in self.authed:
            return sw(0x6982)  # [SC] §10.2: 3.0 cards guard the holder's data with RKSSSE
        data = b"".join(bytes(self.records[fid][n - 1]) for n in recs)
        if a.le is None or a.le == 256 or a.le != len(data):
            return sw(0x6C00 | (len(data) & 0xFF))  # [P5] §6.10.4: Le 00 -> 6Cxx too
        return sw(0x9000, data)

    def update_record(self, a):
        where = self.address(a, True)
        if isinstance(where, int):
            return sw(where)
        fid, (rec,) = where
        if (fid, rec) in MAKER_RECORDS or "UKSSSE" not in self.authed:
            return sw(0x6982)  # the maker's records are under the maker's key; the rest under UKSSSE
        tag, n, _ = LAYOUT[fid][rec - 1]
        if len(a.data) < 2:
            return sw(0x6700)
        if a.data[0] != tag:
            return sw(0x6A80)
        if a.data[1] != len(a.data) - 2:
            return sw(0x6A85)
        if a.data[1] != n:
            return sw(0x6700)  # a record of the wrong length: the records are fixed
        index, self.updates = self.updates, self.updates + 1
        if self.opts.memory_fault_at is not None and index == self.opts.memory_fault_at:
            return sw(0x6581)
        self.records[fid][rec - 1] = bytearray(a.data)
        return sw(0x9000)

    # ---- security ----
    def get_challenge(self, a):
        if a.p1 or a.p2:
            return sw(0x6A86)
        if a.data or a.le not in (4, 8, 16):
            return sw(0x6700)
        rnd = secrets.token_bytes(a.le)
        self.challenge = rnd[:8].ljust(8, b"\0")
        return sw(0x9000, rnd)

    def take_challenge(self):
        c, self.challenge = self.challenge, None
        return c

    def external_auth(self, a):
        if a.p1 != 0x00:
            return sw(0x6A86)
        if self.df != "SSSE" or a.p2 not in KEY_IDS:
            return sw(0x6A88)
        if len(a.data) not in (16, 17):
            return sw(0x6700)
        if self.key_tries[a.p2] == 0:
            return sw(0x6983)
        challenge = self.take_challenge()
        if challenge is None:
            return sw(0x6984)
        want = self.cipher.auth(self.card_key, challenge, a.data[8:16])
        if not secrets.compare_digest(want, a.data[:8]):
            self.key_tries[a.p2] -= 1
            return sw(0x63C0 | self.key_tries[a.p2])
        self.key_tries[a.p2] = KEY_TRIES
        self.authed.add(KEY_IDS[a.p2])
        return sw(0x9000)

    def internal_auth(self, a):
        if a.p1 != 0x00 or a.p2 != 0x00:
            return sw(0x6A86)
        if self.df != "SSSE":
            return sw(0x6985)
        if len(a.data) not in (16, 17):
            return sw(0x6700)
        return self.respond(a, self.cipher.auth(self.card_key, a.data[:8], a.data[8:16]))

    def verify(self, a):
        if a.p1 != 0x00 or a.p2 != 0x00:
            return sw(0x6A86)
        if self.df != "SSSE":
            return sw(0x6985)
        if self.pin_tries == 0:
            return sw(0x6983)
        if not a.data:
            return sw(0x63C0 | self.pin_tries)
        if not 2 <= len(a.data) <= 8:
            return sw(0x6700)
        if secrets.compare_digest(a.data, self.pin):
            self.pin_tries = PIN_TRIES
            return sw(0x9000)
        self.pin_tries -= 1
        return sw(0x63C0 | self.pin_tries)

    def change_pin(self, a):
        """Cardholder CHANGE PIN 80 5E 01 00 <old> FF <new> ([P5] 表10)."""
        if a.p1 != 0x01 or a.p2 != 0x00:
            return sw(0x6A86)
        if b"\xff" not in a.data:
            return sw(0x6A80)
        if self.pin_tries == 0:
            return sw(0x6983)
        old, new = a.data.split(b"\xff", 1)
        if not secrets.compare_digest(old, self.pin):
            self.pin_tries -= 1
            return sw(0x63C0 | self.pin_tries)
        self.pin, self.pin_tries = new, PIN_TRIES
        return sw(0x9000)

    def mac_ok(self, a):
        challenge = self.take_challenge()
        if challenge is None or len(a.data) < 4:
            return False
        want = self.cipher.mac(self.card_key, challenge, a.raw[:5] + a.data[:-4])
        self.last_challenge = challenge
        return secrets.compare_digest(want, a.data[-4:])

    def pin_unblock(self, a):
        """84 24 00 00 04 <MAC> unblock, 84 24 00 01 Lc <enc PIN> <MAC> reset ([P5] 表24-26)."""
        if a.p1 != 0x00 or a.p2 not in (0x00, 0x01):
            return sw(0x6A86)
        if len(a.data) != (4 if a.p2 == 0 else self.cipher.block + 4):
            return sw(0x6700)
        if "PUK" not in self.authed:
            return sw(0x6982)
        if not self.mac_ok(a):
            return sw(0x6988)
        if a.p2 == 0x01:
            sk = self.cipher.session(self.card_key, self.last_challenge)
            plain = self.cipher.dec(sk if len(sk) == 16 else sk + sk, a.data[:-4])
            ld = plain[0]
            if not 2 <= ld <= 6 or plain[1 + ld] != 0x80:
                return sw(0x6A80)
            self.pin = plain[1:1 + ld]
        self.pin_tries = PIN_TRIES
        return sw(0x9000)

    def application_block(self, a):
        if a.p1 != 0x00 or a.p2 not in (0x00, 0x01):
            return sw(0x6A86)
        if self.df != "SSSE":
            return sw(0x6985)
        if len(a.data) != 4:
            return sw(0x6700)
        if not self.mac_ok(a):
            return sw(0x6988)
        self.blocked = True
        return sw(0x9000)

    # ---- the PSAM ([P9] §9) ----
    def psam(self, a):
        if a.cla == 0x00 and a.ins == 0xA4:
            return sw(0x9000)
        if (a.cla, a.ins) == (0xBF, 0xEC):
            if len(a.data) != 1:
                return sw(0x6700)
            self.psam_env, self.psam_sk = True, None
            return sw(0x9000)
        if (a.cla, a.ins) == (0xBF, 0xDE):
            if not self.psam_env:
                return sw(0x6985)
            if (a.p1 << 8 | a.p2) not in PSAM_KEYS:
                return sw(0x6A88)
            m = len(a.data) - 24
            if m not in (8, 16):
                return sw(0x6A80)  # the number of dispersal factors does not fit
            c = BlockCipher(ALG_3DES if m == 8 else ALG_SM4)
            key = self.root
            for i in range(3):
                key = c.disperse(key, a.data[8 * i:8 * i + 8])
            sk = c.enc(key, a.data[24:])
            self.psam_cipher, self.psam_sk = c, (sk if len(sk) == 16 else sk + sk)
            return sw(0x9000)
        if (a.cla, a.ins) == (0x80, 0xFA):
            c = self.psam_cipher
            if self.psam_sk is None:
                return sw(0x6984)
            if not a.data or len(a.data) % c.block:
                return sw(0x6700)
            if a.p1 == 0x00:
                return self.respond(a, c.enc(self.psam_sk, a.data))
            if a.p1 == 0x05:
                return self.respond(a, c.cbc_last(self.psam_sk, a.data))
            return sw(0x6A86)
        return sw(0x6D00)


class QuickAckSocket:
    """The vpcd socket, re-arming TCP_QUICKACK (Linux) before every receive."""

    def __init__(self, sock):
        self._sock = sock

    def recv(self, n):
        if hasattr(socket, "TCP_QUICKACK"):
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return self._sock.recv(n)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def read_key(path):
    text = "".join(open(path).read().split())
    if len(text) != 32:
        raise ValueError("the key file must hold 32 hex digits")
    return bytes.fromhex(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=35963)
    p.add_argument("--key-file", required=True, help="issuer root key, 32 hex digits")
    p.add_argument("--seed", type=int, help="the maker's serial and code derive from it (default random)")
    p.add_argument("--serial", help="the card serial, 8 hex digits (ATR T10..T13, card identifier)")
    p.add_argument("--alg", choices=("sm4", "3des"), default="sm4")
    p.add_argument("--region", default="440200",
                   help="the issuing bureau's region code (6 digits; default Shaoguan's)")
    p.add_argument("--card-type", default="3")
    p.add_argument("--spec-version", default="3.00")
    p.add_argument("--free-ef06", action="store_true",
                   help="EF06 readable without RKSSSE even on a 3.00 card (as 1.0/2.0 cards are)")
    p.add_argument("--psam", action="store_true", help="be the issuer's social security PSAM")
    p.add_argument("--foreign", action="store_true", help="a card without the SSSE application")
    p.add_argument("--atr", help="answer the reset with this ATR (hex)")
    p.add_argument("--memory-fault-at", type=int, help="the N-th UPDATE RECORD (from 0) answers 6581")
    p.add_argument("--pull-at", type=int, help="pulled out when the N-th UPDATE RECORD (from 0) arrives")
    p.add_argument("--slow", type=int, default=0, help="every answer takes MS milliseconds")
    p.add_argument("--lifetime", type=int, default=0, help="leave the reader after S seconds")
    p.add_argument("--connect-timeout", type=int, default=10000, help="ms to wait for vpcd")
    opts = p.parse_args()
    if len(opts.region) != 6 or not opts.region.isdigit():
        p.error("--region must be 6 digits")
    if opts.serial and (len(opts.serial) != 8 or any(c not in "0123456789abcdefABCDEF" for c in opts.serial)):
        p.error("--serial must be 8 hex digits")
    card = SsseCard(opts, read_key(opts.key_file))
    SmartcardOS, VirtualICC = import_virtualsmartcard()

    class Os(SmartcardOS):
        def getATR(self):
            return card.atr

        def powerUp(self):
            card.reset()

        def powerDown(self):
            card.reset()

        def reset(self):
            card.reset()

        def execute(self, msg):
            return card.execute(msg)

    if opts.lifetime:
        t = threading.Timer(opts.lifetime, lambda: os._exit(0))
        t.daemon = True
        t.start()
    # the library logs every APDU (PINs included) at INFO and nags about its own unused SAM at WARNING
    logging.basicConfig(level=logging.ERROR)
    deadline = time.monotonic() + opts.connect_timeout / 1000
    while True:
        try:
            vicc = VirtualICC(None, "iso7816", opts.host, opts.port, logginglevel=logging.ERROR)
            break
        except SystemExit:  # the library exits when vpcd does not accept (yet)
            if time.monotonic() > deadline:
                print(f"ssc-card: vpcd on {opts.host}:{opts.port} did not accept", file=sys.stderr)
                return 1
            time.sleep(0.05)
    # vpcd writes a command as two segments (length, then bytes): acknowledge at once, or Nagle on its side
    # and delayed ACKs on ours cost ~40 ms per command; answer at once too
    vicc.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    vicc.sock = QuickAckSocket(vicc.sock)
    vicc.os = Os()
    try:
        vicc.run()
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
