"""Tests of scvjwt. Run: python3 -m unittest test_scvjwt (pytest runs them too).

Differential tests compare with the cryptography package and the openssl tool where they are
present; tests that need them, or ../shared (Wycheproof vectors, the key corpus script), skip
with a reason when they are absent.
"""

import atexit
import base64
import contextlib
import hashlib
import hmac
import io
import itertools
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings
from unittest import mock

import scvjwt

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "scvjwt.py")
SHARED = os.path.join(HERE, "..", "shared")
WYCHEPROOF = os.path.join(SHARED, "vectors", "wycheproof")
MAKE_TEST_KEYS = os.path.join(SHARED, "tools", "make-test-keys.sh")
OPENSSL = shutil.which("openssl")

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False

try:
    from hypothesis import HealthCheck, given, settings, strategies
    HAVE_HYPOTHESIS = True
except ImportError:
    HAVE_HYPOTHESIS = False

needs_cryptography = unittest.skipUnless(HAVE_CRYPTOGRAPHY, "the cryptography package is not installed")
needs_openssl = unittest.skipUnless(OPENSSL, "the openssl tool is not on PATH")
needs_wycheproof = unittest.skipUnless(os.path.isdir(WYCHEPROOF), "../shared/vectors/wycheproof is absent")
needs_corpus = unittest.skipUnless(OPENSSL and os.path.exists(MAKE_TEST_KEYS),
                                   "../shared/tools/make-test-keys.sh or openssl is absent")

ORG_ID = "00D5e000001AbCd"
CALL_CENTER = "ExampleCallCenter"
NOW = 1767225600


# ------------------------------------------------------------------------------------------------
# Fixtures: temporary folders, keys made once per run, the shared key corpus, the command line
# ------------------------------------------------------------------------------------------------

_TEMP_ROOT = []


def temp_dir():
    """A folder removed when the test run ends."""
    if not _TEMP_ROOT:
        _TEMP_ROOT.append(tempfile.mkdtemp(prefix="scvjwt-test-"))
        atexit.register(shutil.rmtree, _TEMP_ROOT[0], True)
    return tempfile.mkdtemp(dir=_TEMP_ROOT[0])


_KEYS = {}


def openssl_key_pem(bits, e=65537, index=0):
    """A throwaway RSA private key (PKCS#8 PEM bytes) made by the openssl tool, cached per run."""
    name = ("openssl", bits, e, index)
    if name not in _KEYS:
        _KEYS[name] = subprocess.run(
            [OPENSSL, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % bits,
             "-pkeyopt", "rsa_keygen_pubexp:%d" % e],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    return _KEYS[name]


def cryptography_key(bits, e=65537, index=0):
    """A throwaway cryptography RSA private key, cached per run."""
    name = ("cryptography", bits, e, index)
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=e, key_size=bits)
    return _KEYS[name]


def cryptography_pem(key, fmt="pkcs8"):
    formats = {"pkcs8": serialization.PrivateFormat.PKCS8,
               "pkcs1": serialization.PrivateFormat.TraditionalOpenSSL}
    return key.private_bytes(serialization.Encoding.PEM, formats[fmt], serialization.NoEncryption())


_CORPUS = []


def key_corpus():
    """The folder ../shared/tools/make-test-keys.sh filled, made once per run."""
    if not _CORPUS:
        folder = os.path.join(temp_dir(), "keys")
        subprocess.run(["sh", MAKE_TEST_KEYS, folder], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=True)
        _CORPUS.append(folder)
    return _CORPUS[0]


def corpus_file(name):
    with open(os.path.join(key_corpus(), name), "rb") as handle:
        return handle.read()


def run_cli(*args, **kwargs):
    """Run `python3 scvjwt.py ARGS` as users do; returns (exit status, stdout, stderr) as text."""
    env = dict(os.environ)
    for name in ("SCVJWT_KEY_FILE", "SCVJWT_ORG_ID", "SCVJWT_CALL_CENTER", "SCVJWT_ENDPOINT_BASE"):
        env.pop(name, None)
    env.update(kwargs.pop("env", {}))
    completed = subprocess.run([sys.executable, SCRIPT] + list(args), input=kwargs.pop("input", None),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120,
                               **kwargs)
    return (completed.returncode, completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"))


def write_file(folder, name, data, mode=0o600):
    """A file in `folder`, readable by its owner only unless `mode` says otherwise (key files
    open to others make the command line warn)."""
    path = os.path.join(folder, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


SAMPLE_KEY = scvjwt._sample_key()


# ------------------------------------------------------------------------------------------------
# Helpers of the tests below: tokens signed over exact bytes, independent fingerprints, openssl,
# a fixed certificate built without any tool, and the offsets of DER length bytes for the fuzzer
# ------------------------------------------------------------------------------------------------

PUBLIC_KEY = SAMPLE_KEY.public_key()
ORG_ID_18 = "00D5e000001AbCdEAK"   # ORG_ID with its checksum, worked out by hand with DOMAIN.md's rule
RS256_HEADER = {"alg": "RS256", "typ": "JWT"}
KEY_NUMBER_NAMES = ("n", "e", "d", "p", "q", "dp", "dq", "qi")
B64URL_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
UUID4 = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def key_numbers(key):
    return tuple(getattr(key, name) for name in KEY_NUMBER_NAMES)


def secret_texts(key):
    """The secret numbers of `key` as decimal and hex text (whole, and their first 16 characters),
    none of which may appear in any repr, str or error message."""
    texts = []
    for value in (key.d, key.p, key.q, key.dp, key.dq, key.qi):
        for text in ("%d" % value, "%x" % value, "%X" % value):
            texts += [text, text[:16]]
    return texts


def compact_json(value):
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def signed_token(header, claims, key=SAMPLE_KEY):
    """A compact token over exactly these header and claims (dicts, or raw JSON bytes), signed
    with `key`: for tokens mint() would never make."""
    encoded = [scvjwt.b64url_encode(part if isinstance(part, bytes) else compact_json(part))
               for part in (header, claims)]
    signing_input = ".".join(encoded)
    return signing_input + "." + scvjwt.b64url_encode(scvjwt.sign_rs256(key, signing_input.encode("ascii")))


def standard_claims(now=NOW, ttl=300, **extra):
    claims = {"iat": now, "exp": now + ttl, "iss": ORG_ID, "sub": CALL_CENTER}
    claims.update(extra)
    return claims


def token_parts(token):
    """The decoded (header, claims, signature) bytes of a compact token."""
    return tuple(scvjwt.b64url_decode(part) for part in token.split("."))


def with_signature(token, signature):
    return token.rsplit(".", 1)[0] + "." + scvjwt.b64url_encode(signature)


def independent_fingerprint(spki_der):
    """'SHA256:' and the unpadded base64 of SHA-256 over SubjectPublicKeyInfo DER that openssl or
    cryptography wrote: computed here without scvjwt."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(spki_der).digest()).decode("ascii").rstrip("=")


def pem_body_der(pem):
    """The DER inside the first PEM block of `pem` (bytes or str), decoded here without scvjwt."""
    text = pem.decode("ascii") if isinstance(pem, bytes) else pem
    lines = text.strip().splitlines()
    return base64.b64decode("".join(line for line in lines if not line.startswith("-----")))


def run_openssl(*args, **kwargs):
    """Run the openssl tool and return its standard output (bytes); any failure fails the test."""
    completed = subprocess.run([OPENSSL] + list(args), input=kwargs.pop("input", None),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if completed.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args),
                                                        completed.stderr.decode("utf-8", "replace")))
    return completed.stdout


def sample_certificate_der(key=SAMPLE_KEY):
    """A fixed self-signed X.509 v3 certificate (RFC 5280) for `key`, built from scvjwt's DER
    encoders and signed with sign_rs256, so that certificate tests need no tool; openssl and
    cryptography read and verify it (see the differential tests)."""
    encode, sequence = scvjwt._der_encode, scvjwt._der_encode_sequence
    sha256_with_rsa = bytes.fromhex("300d06092a864886f70d01010b0500")
    common_name = bytes.fromhex("0603550403")                     # 2.5.4.3
    name = sequence(encode(0x31, sequence(common_name, encode(0x0C, b"scvjwt test certificate"))))
    validity = sequence(encode(0x17, b"260101000000Z"), encode(0x17, b"360101000000Z"))
    basic_constraints = sequence(bytes.fromhex("0603551d13"), bytes.fromhex("0101ff"),
                                 encode(0x04, sequence(bytes.fromhex("0101ff"))))   # critical, cA TRUE
    tbs = sequence(encode(0xA0, scvjwt._der_encode_uint(2)), scvjwt._der_encode_uint(0x5CA1AB1E),
                   sha256_with_rsa, name, validity, name, key.public_key()._spki_der(),
                   encode(0xA3, sequence(basic_constraints)))
    return sequence(tbs, sha256_with_rsa, encode(0x03, b"\x00" + scvjwt.sign_rs256(key, tbs)))


SAMPLE_CERTIFICATE_DER = sample_certificate_der()
SAMPLE_CERTIFICATE_PEM = scvjwt._pem_wrap("CERTIFICATE", SAMPLE_CERTIFICATE_DER)


def der_length_offsets(data, base=0):
    """The offset of the first length byte of every element in a DER tree, walking constructed
    elements and the BIT and OCTET STRINGs that wrap DER (keys in PKCS#8, SPKI, certificates)."""
    offsets, pos = [], 0
    while pos < len(data):
        try:
            tag, contents, end = scvjwt._der_read(data, pos)
        except scvjwt.KeyFormatError:
            break
        offsets.append(base + pos + 1)
        start = end - len(contents)
        inner = 1 if tag == 0x03 else 0
        if tag & 0x20 or (tag in (0x03, 0x04) and contents[inner:inner + 1] == b"\x30"):
            offsets += der_length_offsets(contents[inner:], base + start + inner)
        pos = end
    return offsets


# ------------------------------------------------------------------------------------------------
# Errors, base64url, DER and PEM
# ------------------------------------------------------------------------------------------------

class ErrorsTest(unittest.TestCase):
    """The error classes of SPEC.md and TokenError.reason."""

    def test_hierarchy(self):
        for cls in (scvjwt.KeyFormatError, scvjwt.ClaimsError, scvjwt.TokenError):
            self.assertTrue(issubclass(cls, scvjwt.ScvJwtError) and issubclass(cls, ValueError), cls)
        self.assertTrue(issubclass(scvjwt.BackendError, scvjwt.ScvJwtError))
        self.assertFalse(issubclass(scvjwt.BackendError, ValueError))
        self.assertTrue(issubclass(scvjwt.ScvJwtError, Exception))

    def test_token_error_reasons(self):
        reasons = ("malformed", "algorithm", "signature", "expired", "future", "lifetime", "issuer",
                   "subject", "audience", "replay")
        self.assertEqual(scvjwt.TokenError.REASONS, reasons)
        for reason in reasons:
            self.assertEqual(scvjwt.TokenError(reason).reason, reason)
            self.assertIn(reason, str(scvjwt.TokenError(reason)))
            self.assertEqual(str(scvjwt.TokenError(reason, "one sentence")), "one sentence")
        with self.assertRaises(ValueError):
            scvjwt.TokenError("late")

    def test_token_error_survives_pickling(self):
        import pickle
        error = pickle.loads(pickle.dumps(scvjwt.TokenError("expired", "the token expired 5 seconds ago")))
        self.assertIsInstance(error, scvjwt.TokenError)
        self.assertEqual((error.reason, str(error)), ("expired", "the token expired 5 seconds ago"))


class Base64urlTest(unittest.TestCase):
    """b64url_encode and the strict b64url_decode (RFC 4648 section 5, unpadded as in RFC 7515)."""

    # RFC 4648 section 10 without padding, and bytes that need the URL alphabet's '-' and '_'.
    VECTORS = [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"),
               (b"fooba", "Zm9vYmE"), (b"foobar", "Zm9vYmFy"), (b"\xfb\xff", "-_8"), (b"\xff\xfe\xfd", "__79")]

    def test_known_answers(self):
        for data, text in self.VECTORS:
            self.assertEqual(scvjwt.b64url_encode(data), text)
            self.assertEqual(scvjwt.b64url_decode(text), data)
            self.assertEqual(scvjwt.b64url_decode(text.encode("ascii")), data)
        self.assertEqual(scvjwt.b64url_encode(bytearray(b"foo")), "Zm9v")
        self.assertEqual(scvjwt.b64url_encode(memoryview(b"foo")), "Zm9v")
        self.assertEqual(scvjwt.b64url_decode(memoryview(b"Zm9v")), b"foo")

    def test_agrees_with_the_standard_library(self):
        rng = random.Random(4648)
        for size in range(200):
            data = bytes(rng.getrandbits(8) for _ in range(size))
            expected = base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
            self.assertEqual(scvjwt.b64url_encode(data), expected)
            self.assertEqual(scvjwt.b64url_decode(expected), data)

    def test_strictness(self):
        refused = ["Zg==", "Zg=", "Zm9v=", "=", "Zm 9v", "Zm9v\n", " Zm9v", "Zm9v\t", "Zm9v\r\n",
                   "Zm+v", "Zm/v", "Zm9v.", "Z\u00e9", "Zm9v\x00", "\uff3a\uff47",   # fullwidth letters
                   "Z", "Zm9vY", "Zm9vYmFyZ",                                      # length 1 mod 4
                   "Zh", "Zm9", "Zm9vYh", "-_9"]                                   # unused bits set
        for text in refused:
            for value in (text, text.encode("utf-8")):
                with self.assertRaises(scvjwt.TokenError, msg=repr(value)) as caught:
                    scvjwt.b64url_decode(value)
                self.assertEqual(caught.exception.reason, "malformed")

    def test_one_canonical_text_per_byte(self):
        """Of the 4096 two-character texts exactly 256 decode, one for each byte value."""
        decoded = {}
        for first in B64URL_CHARACTERS:
            for second in B64URL_CHARACTERS:
                try:
                    decoded[first + second] = scvjwt.b64url_decode(first + second)
                except scvjwt.TokenError:
                    pass
        self.assertEqual(sorted(decoded.values()), [bytes([i]) for i in range(256)])
        for text, data in decoded.items():
            self.assertEqual(scvjwt.b64url_encode(data), text)

    def test_wrong_types(self):
        for value in (None, 5, 1.5, ["Zg"], {"Zg": 1}):
            with self.assertRaises(scvjwt.TokenError):
                scvjwt.b64url_decode(value)
        for value in (None, "text", 5, [1]):
            with self.assertRaises(scvjwt.ScvJwtError):
                scvjwt.b64url_encode(value)


class DerReaderTest(unittest.TestCase):
    """The strict DER reader under every key format (X.690 section 10): definite lengths in their
    shortest form, minimal non-negative INTEGERs, nothing read past a parent, no trailing bytes."""

    def pkcs1_elements(self):
        return [scvjwt._der_encode_uint(value) for value in (0,) + key_numbers(SAMPLE_KEY)]

    def pkcs1(self, elements):
        return scvjwt._der_encode(0x30, b"".join(elements))

    def pkcs8(self, version=0, algorithm=None, private_key=None):
        return scvjwt._der_encode_sequence(
            scvjwt._der_encode_uint(version), scvjwt._RSA_ALGORITHM_DER if algorithm is None else algorithm,
            scvjwt._der_encode(0x04, SAMPLE_KEY._pkcs1_der() if private_key is None else private_key))

    def assertRefused(self, data, words, loader=scvjwt.load_private_key):
        with self.assertRaises(scvjwt.KeyFormatError) as caught:
            loader(data)
        self.assertIn(words, str(caught.exception))
        for secret in secret_texts(SAMPLE_KEY):
            self.assertNotIn(secret, str(caught.exception))

    def test_well_formed_baseline(self):
        self.assertEqual(scvjwt.load_private_key(self.pkcs1(self.pkcs1_elements())), SAMPLE_KEY)
        self.assertEqual(scvjwt.load_private_key(self.pkcs8()), SAMPLE_KEY)

    def test_lengths(self):
        der = self.pkcs1(self.pkcs1_elements())
        self.assertEqual(der[:2], b"\x30\x82")
        self.assertRefused(b"\x30\x83\x00" + der[2:], "shortest form")             # a leading zero length byte
        elements = self.pkcs1_elements()
        elements[0] = b"\x02\x81\x01\x00"                                           # long form for 1
        self.assertRefused(self.pkcs1(elements), "shortest form")
        self.assertRefused(b"\x30\x80" + der[4:] + b"\x00\x00", "indefinite")
        self.assertRefused(b"\x30\x85\x00\x00\x00\x01\x0a" + der[4:], "past the end")   # 5 length bytes
        self.assertRefused(b"\x30\x84\x7f\xff\xff\xff" + der[4:], "past the end")
        self.assertRefused(der[:-1], "past the end")
        self.assertRefused(der + b"\x00", "bytes follow")

    def test_nothing_is_read_past_a_parent(self):
        elements = self.pkcs1_elements()
        last = elements[-1]
        elements[-1] = last[:2] + bytes([last[2] + 1]) + last[3:] if last[1] == 0x81 else \
            last[:3] + bytes([last[3] + 1]) + last[4:]
        self.assertRefused(self.pkcs1(elements), "past the end")
        # inside a PKCS#8 key whose attributes follow, the bytes after qi exist, but not in qi's parent
        pkcs8 = scvjwt._der_encode_sequence(scvjwt._der_encode_uint(0), scvjwt._RSA_ALGORITHM_DER,
                                            scvjwt._der_encode(0x04, self.pkcs1(elements)),
                                            scvjwt._der_encode(0xA0, b"\x30\x00"))
        self.assertRefused(pkcs8, "past the end")
        self.assertRefused(self.pkcs1(self.pkcs1_elements() + [b"\x02"]), "ends inside an element")

    def test_integers(self):
        for version, words in ((b"\x02\x01\xff", "negative"), (b"\x02\x02\x00\x00", "leading zero"),
                               (b"\x02\x00", "empty INTEGER"), (b"\x1f\x01\x00", "high tag")):
            elements = self.pkcs1_elements()
            elements[0] = version
            self.assertRefused(self.pkcs1(elements), words)
        elements = self.pkcs1_elements()
        elements[1] = scvjwt._der_encode(0x02, b"\x00" + SAMPLE_KEY.n.to_bytes(257, "big"))
        self.assertRefused(self.pkcs1(elements), "leading zero")

    def test_structure(self):
        elements = self.pkcs1_elements()
        self.assertRefused(self.pkcs1([scvjwt._der_encode_uint(1)] + elements[1:]), "multi-prime")
        self.assertRefused(self.pkcs1(elements + [scvjwt._der_encode_uint(1)] * 2), "more than 10")
        self.assertRefused(self.pkcs1(elements[:5]), "could not find an RSA private key")
        self.assertRefused(scvjwt._der_encode(0x31, b"".join(elements)), "neither PEM")
        self.assertRefused(scvjwt._pem_wrap("RSA PRIVATE KEY", scvjwt._der_encode(0x31, b"".join(elements))),
                           "not a SEQUENCE")

    def test_pkcs8(self):
        self.assertEqual(scvjwt.load_private_key(self.pkcs8(version=1)), SAMPLE_KEY)    # RFC 5958 v2
        self.assertRefused(self.pkcs8(version=2), "PKCS#8 version")
        oid = bytes.fromhex("06092a864886f70d010101")
        self.assertEqual(scvjwt.load_private_key(self.pkcs8(algorithm=scvjwt._der_encode_sequence(oid))),
                         SAMPLE_KEY)                                                  # parameters absent
        self.assertRefused(self.pkcs8(algorithm=scvjwt._der_encode_sequence(oid, b"\x02\x01\x00")), "NULL")
        pss = bytes.fromhex("06092a864886f70d01010a")                                 # 1.2.840.113549.1.1.10
        self.assertRefused(self.pkcs8(algorithm=scvjwt._der_encode_sequence(pss)), "RSA-PSS")
        self.assertRefused(self.pkcs8(algorithm=scvjwt._der_encode_sequence(b"\x06\x03\x2a\x03\x04")), "1.2.3.4")
        self.assertRefused(self.pkcs8(algorithm=scvjwt._der_encode_sequence(b"\x06\x03\x2a\x80\x04")), "padded arc")
        self.assertRefused(self.pkcs8(algorithm=scvjwt._der_encode_sequence(b"\x06\x41" + b"\x81" * 64 + b"\x01")),
                           "object identifier")
        self.assertRefused(self.pkcs8(algorithm=scvjwt._der_encode_sequence(b"\x06\x02\x2a\x86")),
                           "object identifier")                                       # last arc unfinished
        self.assertRefused(self.pkcs8(private_key=b"\x30\x00"), "fewer than 9")

    def test_public_structures(self):
        spki = PUBLIC_KEY._spki_der()
        self.assertEqual(scvjwt.load_public_key(spki), PUBLIC_KEY)
        rsa_public_key = scvjwt._der_encode_sequence(scvjwt._der_encode_uint(SAMPLE_KEY.n),
                                                     scvjwt._der_encode_uint(SAMPLE_KEY.e))
        self.assertEqual(scvjwt.load_public_key(rsa_public_key), PUBLIC_KEY)
        partial_bits = scvjwt._der_encode_sequence(scvjwt._RSA_ALGORITHM_DER,
                                                   scvjwt._der_encode(0x03, b"\x01" + rsa_public_key))
        self.assertRefused(partial_bits, "whole bytes", scvjwt.load_public_key)
        self.assertRefused(spki + b"\x00", "bytes follow", scvjwt.load_public_key)

    def test_certificates(self):
        self.assertEqual(scvjwt.load_public_key(SAMPLE_CERTIFICATE_DER), PUBLIC_KEY)
        fields = scvjwt._der_items(scvjwt._der_sequence(SAMPLE_CERTIFICATE_DER, 3, 3, "c")[0][1], 1, 10, "t")
        short_tbs = scvjwt._der_encode(0x30, b"".join(scvjwt._der_encode(tag, value) for tag, value in fields[:6]))
        certificate = scvjwt._der_encode_sequence(short_tbs, scvjwt._der_encode(0x30, b"\x06\x00"),
                                                  scvjwt._der_encode(0x03, b"\x00"))
        self.assertRefused(certificate, "too few fields", scvjwt.load_public_key)


class PemTest(unittest.TestCase):
    """PEM (RFC 7468) as it arrives after copying through JSON, env files, shells and Windows: every
    form of damage loads the right key; what is not a usable key is refused with a clear sentence."""

    def damaged_forms(self, pem):
        """(name, text) pairs: the same PEM after each kind of transport damage."""
        body_lines = pem.strip().splitlines()[1:-1]
        return [
            ("literal \\n", pem.replace("\n", "\\n")),
            ("doubly escaped \\\\n", pem.replace("\n", "\\\\n")),
            ("JSON string body", json.dumps(pem)[1:-1]),
            ("CRLF", pem.replace("\n", "\r\n")),
            ("CR", pem.replace("\n", "\r")),
            ("newlines turned into spaces", pem.replace("\n", " ")),
            ("newlines turned into tabs", pem.replace("\n", "\t")),
            ("one line", pem.replace("\n", "")),
            ("double quotes", '"%s"' % pem),
            ("single quotes around escaped text", "'%s'" % pem.replace("\n", "\\n")),
            ("env file line", 'SCVJWT_KEY="%s"\n' % pem.replace("\n", "\\n")),
            ("indentation", "\n".join("    " + line for line in pem.splitlines()) + "\n"),
            ("blank lines around", "\n\n  \n" + pem + "\n\n"),
            ("text before and after", "Here is the key you asked for:\n" + pem + "\nThanks, ops\n"),
            ("a certificate before", SAMPLE_CERTIFICATE_PEM + pem),
            ("a certificate after", pem + SAMPLE_CERTIFICATE_PEM),
            ("bare base64 DER", "".join(body_lines)),
            ("bare base64 DER in lines", "\n".join(body_lines) + "\n"),
            ("bare base64 DER in quotes", '"%s"' % "".join(body_lines)),
        ]

    def test_damaged_private_keys_load(self):
        for fmt in ("pkcs8", "pkcs1"):
            for name, text in self.damaged_forms(SAMPLE_KEY.to_pem(fmt)):
                for data in (text, text.encode("utf-8")):
                    self.assertEqual(scvjwt.load_private_key(data), SAMPLE_KEY, "%s %s" % (fmt, name))

    def test_damaged_public_keys_load(self):
        for name, text in self.damaged_forms(PUBLIC_KEY.to_pem()) + self.damaged_forms(SAMPLE_CERTIFICATE_PEM):
            for data in (text, text.encode("utf-8")):
                self.assertEqual(scvjwt.load_public_key(data), PUBLIC_KEY, name)

    def test_encodings_of_the_file(self):
        pem = SAMPLE_KEY.to_pem()
        forms = {
            "UTF-8 with BOM": b"\xef\xbb\xbf" + pem.encode("ascii"),
            "UTF-16 LE with BOM (Windows PowerShell >)": b"\xff\xfe" + pem.replace("\n", "\r\n").encode("utf-16-le"),
            "UTF-16 BE with BOM": b"\xfe\xff" + pem.encode("utf-16-be"),
            "Latin-1 text around": b"Cl\xe9 priv\xe9e :\n" + pem.encode("ascii"),
        }
        for name, data in forms.items():
            self.assertEqual(scvjwt.load_private_key(data), SAMPLE_KEY, name)
        self.assertEqual(scvjwt.load_public_key(b"\xff\xfe" + PUBLIC_KEY.to_pem().encode("utf-16-le")), PUBLIC_KEY)

    def test_pem_writing(self):
        for text, label in ((SAMPLE_KEY.to_pem(), "PRIVATE KEY"), (SAMPLE_KEY.to_pem("pkcs1"), "RSA PRIVATE KEY"),
                            (PUBLIC_KEY.to_pem(), "PUBLIC KEY")):
            lines = text.splitlines()
            self.assertEqual((lines[0], lines[-1]), ("-----BEGIN %s-----" % label, "-----END %s-----" % label))
            self.assertTrue(text.endswith("-----\n"))
            self.assertTrue(all(0 < len(line) <= 64 for line in lines[1:-1]))
            self.assertTrue(all(len(line) == 64 for line in lines[1:-2]))

    def assertRefused(self, data, words, loader=scvjwt.load_private_key):
        with self.assertRaises(scvjwt.KeyFormatError) as caught:
            loader(data)
        self.assertIn(words, str(caught.exception))
        return str(caught.exception)

    def test_refusals(self):
        pem = SAMPLE_KEY.to_pem()
        self.assertRefused(pem.split("-----END")[0], "no END line")
        self.assertRefused(pem.replace("MII", "M!I", 1), "valid base64")
        self.assertRefused("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", "valid base64")
        self.assertRefused("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
                           "-----END OPENSSH PRIVATE KEY-----\n", "ssh-keygen")
        self.assertRefused(scvjwt._pem_wrap("CERTIFICATE REQUEST", b"\x30\x00"), "certificate signing request")
        self.assertRefused(scvjwt._pem_wrap("CERTIFICATE", SAMPLE_CERTIFICATE_DER), "this is a certificate")
        self.assertRefused(PUBLIC_KEY.to_pem(), "this is a public key")
        self.assertRefused(scvjwt._pem_wrap("FOO", b"\x30\x00"), "could not find an RSA private key")
        self.assertRefused(scvjwt._pem_wrap("FOO", b"\x30\x00"), "could not find an RSA public key",
                           scvjwt.load_public_key)
        for data in ("", b"", "just some text", b"\x00\x01\x02", "   \n"):
            self.assertRefused(data, "neither PEM")
        self.assertRefused(b"\xff\xfe" + b"\x00" * 3, "UTF-16")
        for value in (None, 5, ["-----BEGIN"], 1.5):
            self.assertRefused(value, "must be bytes or str")
            self.assertRefused(value, "must be bytes or str", scvjwt.load_public_key)
        message = self.assertRefused(PUBLIC_KEY, "public key")
        self.assertIn("private key", message)
        self.assertRefused(SAMPLE_KEY.to_pem(), "password must be", lambda data: scvjwt.load_private_key(data, 5))

    def test_objects_and_other_forms(self):
        self.assertIs(scvjwt.load_private_key(SAMPLE_KEY), SAMPLE_KEY)
        self.assertIs(scvjwt.load_public_key(PUBLIC_KEY), PUBLIC_KEY)
        self.assertEqual(scvjwt.load_public_key(SAMPLE_KEY), PUBLIC_KEY)
        self.assertEqual(scvjwt.load_public_key(SAMPLE_KEY.to_pem("pkcs1")), PUBLIC_KEY)
        self.assertEqual(scvjwt.load_public_key(SAMPLE_KEY._pkcs8_der()), PUBLIC_KEY)
        self.assertEqual(scvjwt.load_private_key(bytearray(SAMPLE_KEY._pkcs1_der())), SAMPLE_KEY)
        self.assertEqual(scvjwt.load_private_key(memoryview(SAMPLE_KEY.to_pem().encode("ascii"))), SAMPLE_KEY)
        # a password given for a key that is not encrypted is ignored
        self.assertEqual(scvjwt.load_private_key(SAMPLE_KEY.to_pem(), password="unused"), SAMPLE_KEY)
        self.assertEqual(scvjwt.load_private_key(SAMPLE_KEY.to_pem(), password=b"unused"), SAMPLE_KEY)

    def test_a_damaged_block_does_not_hide_a_good_one(self):
        """A truncated or garbled certificate before the key, and PKCS#8 under a PKCS#1 label
        (tools mix them up): the key still loads; with no good block, the damage is named."""
        pem = SAMPLE_KEY.to_pem()
        for damaged in ("-----BEGIN CERTIFICATE-----\nMIIB\n",
                        "-----BEGIN CERTIFICATE-----\nMI!!\n-----END CERTIFICATE-----\n",
                        "-----END PRIVATE KEY-----\n-----BEGIN PRIVATE KEY-----\n"):
            self.assertEqual(scvjwt.load_private_key(damaged + pem), SAMPLE_KEY)
            self.assertEqual(scvjwt.load_public_key(damaged + pem), PUBLIC_KEY)
        self.assertEqual(scvjwt.load_private_key(pem.replace("PRIVATE KEY", "RSA PRIVATE KEY")), SAMPLE_KEY)
        self.assertEqual(scvjwt.load_private_key(SAMPLE_KEY.to_pem("pkcs1").replace("RSA PRIVATE KEY", "PRIVATE KEY")),
                         SAMPLE_KEY)
        for text, message in (("-----BEGIN CERTIFICATE-----\nMIIB\n", "'CERTIFICATE' has no END line"),
                              (pem.replace("MII", "M!I", 1), "'PRIVATE KEY' does not hold valid base64")):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_private_key(text)
            self.assertIn(message, str(caught.exception))

    def test_text_key_file_whose_first_byte_is_the_der_sequence_tag(self):
        """A key file that starts with the character '0' (0x30, DER's SEQUENCE tag) is still text."""
        pem = ("0 comment line before the block\n" + SAMPLE_KEY.to_pem()).encode("ascii")
        self.assertEqual(scvjwt.load_private_key(pem), SAMPLE_KEY)
        self.assertEqual(scvjwt.load_public_key(pem), PUBLIC_KEY)

    def test_a_block_with_broken_der_does_not_hide_the_key(self):
        """A line lost from a certificate before the key: its base64 still decodes, its DER does
        not; the key after it loads all the same, and alone the damage is named."""
        certificate = scvjwt.self_signed_certificate(SAMPLE_KEY, "x", now=NOW).splitlines()
        damaged = "\n".join(certificate[:3] + certificate[4:]) + "\n"
        self.assertEqual(scvjwt.load_private_key(damaged + SAMPLE_KEY.to_pem()), SAMPLE_KEY)
        self.assertEqual(scvjwt.load_public_key(damaged + SAMPLE_KEY.to_pem()), PUBLIC_KEY)
        with self.assertRaises(scvjwt.KeyFormatError) as caught:
            scvjwt.load_public_key(damaged)
        self.assertIn("malformed DER", str(caught.exception))

# ------------------------------------------------------------------------------------------------
# RSA keys, signing and verification
# ------------------------------------------------------------------------------------------------


class RSAPublicKeyTest(unittest.TestCase):
    """RSAPublicKey: bounds on the numbers, equality, hashing, PEM, fingerprint, immutability."""

    def test_attributes(self):
        key = scvjwt.RSAPublicKey(SAMPLE_KEY.n, 65537)
        self.assertEqual((key.n, key.e, key.bits), (SAMPLE_KEY.n, 65537, 2048))
        self.assertEqual(scvjwt.RSAPublicKey(SAMPLE_KEY.n, 3).e, 3)              # e = 3 is accepted

    def test_equality_and_hash(self):
        same = scvjwt.RSAPublicKey(SAMPLE_KEY.n, SAMPLE_KEY.e)
        other = scvjwt.RSAPublicKey(SAMPLE_KEY.n, 3)
        self.assertEqual(same, PUBLIC_KEY)
        self.assertFalse(same != PUBLIC_KEY)
        self.assertEqual(hash(same), hash(PUBLIC_KEY))
        self.assertEqual(len({same, PUBLIC_KEY, other}), 2)
        self.assertNotEqual(other, PUBLIC_KEY)
        self.assertNotEqual(PUBLIC_KEY, SAMPLE_KEY)
        self.assertNotEqual(PUBLIC_KEY, (SAMPLE_KEY.n, SAMPLE_KEY.e))
        self.assertNotEqual(PUBLIC_KEY, None)

    def test_pem_round_trip(self):
        self.assertEqual(scvjwt.load_public_key(PUBLIC_KEY.to_pem()), PUBLIC_KEY)
        self.assertEqual(pem_body_der(PUBLIC_KEY.to_pem()), PUBLIC_KEY._spki_der())

    def test_fingerprint(self):
        fingerprint = PUBLIC_KEY.fingerprint()
        self.assertRegex(fingerprint, r"\ASHA256:[A-Za-z0-9+/]{43}\Z")
        self.assertEqual(fingerprint, independent_fingerprint(pem_body_der(PUBLIC_KEY.to_pem())))
        self.assertNotEqual(scvjwt.RSAPublicKey(SAMPLE_KEY.n, 3).fingerprint(), fingerprint)
        self.assertIn(fingerprint, repr(PUBLIC_KEY))

    def test_immutable(self):
        with self.assertRaises(AttributeError):
            PUBLIC_KEY.n = 5
        with self.assertRaises(AttributeError):
            PUBLIC_KEY.other = 5
        with self.assertRaises(AttributeError):
            del PUBLIC_KEY.e
        self.assertFalse(hasattr(PUBLIC_KEY, "__dict__"))
        self.assertEqual(PUBLIC_KEY.n, SAMPLE_KEY.n)

    def test_refused_numbers(self):
        n = SAMPLE_KEY.n
        cases = [
            ((1 << 1022) + 1, 65537, "1023 bits"), (n >> 1025 | 1, 65537, "at least 1024"),
            ((1 << 16384) + 1, 65537, "16385 bits"), (n + 1, 65537, "even"),
            (n, 65536, "odd"), (n, 2, "odd"), (n, 1, "at least 3"), (n, 0, "at least 3"), (n, -3, "at least 3"),
            (n, n, "too large"), (n, (1 << 257) + 1, "too large"),
            (True, 3, "integers"), (n, True, "integers"), (str(n), 3, "integers"), (n, "3", "integers"),
            (float(1 << 1020), 3, "integers"), (None, 3, "integers"), (n, 3.0, "integers"),
        ]
        for modulus, exponent, words in cases:
            with self.assertRaises(scvjwt.KeyFormatError, msg=words) as caught:
                scvjwt.RSAPublicKey(modulus, exponent)
            self.assertIn(words, str(caught.exception))
        self.assertEqual(scvjwt.RSAPublicKey((1 << 1023) + 1, 3).bits, 1024)
        self.assertEqual(scvjwt.RSAPublicKey((1 << 16383) + 1, 3).bits, 16384)


class RSAPrivateKeyTest(unittest.TestCase):
    """RSAPrivateKey: recovering p and q, filling the CRT values, refusing inconsistent numbers,
    never showing a secret, immutability, PEM round trips."""

    def test_recovers_the_primes(self):
        key = scvjwt.RSAPrivateKey(SAMPLE_KEY.n, SAMPLE_KEY.e, SAMPLE_KEY.d)
        self.assertEqual({key.p, key.q}, {scvjwt._SAMPLE_P, scvjwt._SAMPLE_Q})
        self.assertEqual((key.dp, key.dq), (key.d % (key.p - 1), key.d % (key.q - 1)))
        self.assertEqual(key.qi * key.q % key.p, 1)
        self.assertEqual(key.public_key(), PUBLIC_KEY)
        self.assertEqual(scvjwt.sign_rs256(key, b"message"), scvjwt.sign_rs256(SAMPLE_KEY, b"message"))

    def test_recovery_with_small_exponents(self):
        p, q = scvjwt._SAMPLE_P, scvjwt._SAMPLE_Q
        lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
        exponents = [e for e in (3, 5, 7, 11, 13, 17, 19, 23) if math.gcd(e, lam) == 1]
        self.assertTrue(exponents)
        for e in exponents:
            key = scvjwt.RSAPrivateKey(p * q, e, scvjwt._inverse_mod(e, lam))
            self.assertEqual({key.p, key.q}, {p, q}, e)

    def test_fills_missing_crt_values(self):
        n, e, d, p, q = SAMPLE_KEY.n, SAMPLE_KEY.e, SAMPLE_KEY.d, SAMPLE_KEY.p, SAMPLE_KEY.q
        for key in (scvjwt.RSAPrivateKey(n, e, d, p, q), scvjwt.RSAPrivateKey(n, e, d, p=p),
                    scvjwt.RSAPrivateKey(n, e, d, q=q), scvjwt.RSAPrivateKey(n, e, d, p, q, qi=SAMPLE_KEY.qi)):
            self.assertEqual(key_numbers(key), key_numbers(SAMPLE_KEY))
            self.assertEqual(key, SAMPLE_KEY)
        self.assertEqual(SAMPLE_KEY.dp, d % (p - 1))
        self.assertEqual(SAMPLE_KEY.dq, d % (q - 1))
        self.assertEqual(SAMPLE_KEY.qi, scvjwt._inverse_mod(q, p))

    def test_refuses_inconsistent_numbers(self):
        k = SAMPLE_KEY
        lam = (k.p - 1) * (k.q - 1) // math.gcd(k.p - 1, k.q - 1)
        cases = [
            dict(d=k.d + 2), dict(d=k.d + 2, p=None, q=None), dict(d=k.d + lam // 2, p=None, q=None),
            dict(d=1), dict(d=k.n), dict(d=k.n + 5), dict(d=0), dict(d=-k.d),
            dict(dp=k.dp + 1), dict(dq=k.dq ^ 1), dict(qi=k.qi + 1), dict(qi=0), dict(qi=k.p + k.qi),
            dict(p=k.p + 2), dict(q=k.q - 2), dict(p=k.p, q=k.p), dict(p=1, q=k.n), dict(p=k.n, q=1),
            dict(p=None, q=k.q + 2), dict(p=3, q=None), dict(p=k.q, q=k.p, qi=k.qi),
        ]
        for change in cases:
            numbers = dict(zip(KEY_NUMBER_NAMES, key_numbers(k)))
            numbers.update(change)
            with self.assertRaises(scvjwt.KeyFormatError, msg=str(sorted(change))) as caught:
                scvjwt.RSAPrivateKey(**numbers)
            message = str(caught.exception)
            self.assertTrue("inconsistent" in message or "positive integers" in message, message)
            for secret in secret_texts(k):
                self.assertNotIn(secret, message)

    def test_refuses_a_square_modulus(self):
        p = scvjwt._SAMPLE_P
        d = scvjwt._inverse_mod(65537, p * (p - 1))
        with self.assertRaises(scvjwt.KeyFormatError):
            scvjwt.RSAPrivateKey(p * p, 65537, d, p, p)

    def test_refuses_sizes_and_exponents(self):
        k = SAMPLE_KEY
        for n, e, words in (((1 << 1022) + 1, 65537, "at least 1024"), ((1 << 16384) + 1, 65537, "16384"),
                            (k.n, 65536, "odd"), (k.n, 2, "odd"), (k.n, 1, "at least 3")):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.RSAPrivateKey(n, e, 3)
            self.assertIn(words, str(caught.exception))

    def test_refuses_numbers_that_are_not_integers(self):
        k = SAMPLE_KEY
        for name in KEY_NUMBER_NAMES:
            for bad in (True, str(getattr(k, name)), float(getattr(k, name) % (1 << 1000)), [getattr(k, name)]):
                numbers = dict(zip(KEY_NUMBER_NAMES, key_numbers(k)))
                numbers[name] = bad
                with self.assertRaises(scvjwt.KeyFormatError, msg="%s=%s" % (name, type(bad).__name__)):
                    scvjwt.RSAPrivateKey(**numbers)

    def test_repr_and_str_show_no_secret(self):
        for key in (SAMPLE_KEY, scvjwt.RSAPrivateKey(SAMPLE_KEY.n, SAMPLE_KEY.e, SAMPLE_KEY.d)):
            for text in (repr(key), str(key), "%s" % key, "{0!r}".format(key), repr([key])):
                for secret in secret_texts(key):
                    self.assertNotIn(secret, text)
                self.assertIn("2048", text)
                self.assertIn(PUBLIC_KEY.fingerprint(), text)

    def test_immutable(self):
        for name in KEY_NUMBER_NAMES + ("bits", "other"):
            with self.assertRaises(AttributeError):
                setattr(SAMPLE_KEY, name, 5)
        with self.assertRaises(AttributeError):
            del SAMPLE_KEY.d
        self.assertFalse(hasattr(SAMPLE_KEY, "__dict__"))
        self.assertEqual(scvjwt.load_private_key(SAMPLE_KEY.to_pem()), SAMPLE_KEY)

    def test_copies_and_pickles_are_rebuilt_from_the_numbers(self):
        import copy
        import pickle
        for key in (SAMPLE_KEY, PUBLIC_KEY):
            for twin in (copy.copy(key), copy.deepcopy(key), pickle.loads(pickle.dumps(key))):
                self.assertIsNot(twin, key)
                self.assertEqual(twin, key)
                self.assertEqual(hash(twin), hash(key))
                self.assertEqual(twin._numbers(), key._numbers())

    def test_private_keys_are_equal_by_their_public_numbers(self):
        """p and q swapped (qInv recomputed) is the same key; the public half never equals it."""
        swapped = scvjwt.RSAPrivateKey(SAMPLE_KEY.n, SAMPLE_KEY.e, SAMPLE_KEY.d, SAMPLE_KEY.q, SAMPLE_KEY.p)
        self.assertEqual(swapped, SAMPLE_KEY)
        self.assertEqual(scvjwt.sign_rs256(swapped, b"m", "pure"), scvjwt.sign_rs256(SAMPLE_KEY, b"m", "pure"))
        self.assertNotEqual(SAMPLE_KEY, PUBLIC_KEY)
        self.assertNotEqual(PUBLIC_KEY, SAMPLE_KEY)
        self.assertEqual(len({SAMPLE_KEY, swapped}), 1)

    def test_equality(self):
        self.assertEqual(SAMPLE_KEY, scvjwt._sample_key())
        self.assertFalse(scvjwt._sample_key() != SAMPLE_KEY)
        self.assertNotEqual(SAMPLE_KEY, PUBLIC_KEY)
        self.assertNotEqual(SAMPLE_KEY, SAMPLE_KEY.to_pem())

    def test_pem_round_trips(self):
        for fmt, label in (("pkcs8", "PRIVATE KEY"), ("pkcs1", "RSA PRIVATE KEY")):
            text = SAMPLE_KEY.to_pem(fmt)
            self.assertTrue(text.startswith("-----BEGIN %s-----\n" % label), fmt)
            loaded = scvjwt.load_private_key(text)
            self.assertEqual(key_numbers(loaded), key_numbers(SAMPLE_KEY))
            self.assertEqual(loaded.to_pem(fmt), text)
        self.assertEqual(SAMPLE_KEY.to_pem(), SAMPLE_KEY.to_pem("pkcs8"))
        self.assertEqual(pem_body_der(SAMPLE_KEY.to_pem("pkcs1")), SAMPLE_KEY._pkcs1_der())
        for fmt in ("der", "PKCS8", "", None, 8):
            with self.assertRaises(scvjwt.KeyFormatError):
                SAMPLE_KEY.to_pem(fmt)

    def test_fuzzer_findings_are_refused_as_key_errors(self):
        """Found by fuzzing: p and q sharing a factor (qInv does not exist), d missing, and a
        prime n or a prime power, which every recovery base fails on: refused at once."""
        p, q = 3 * ((1 << 520) + 1), 3 * ((1 << 521) + 3)
        lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
        cases = [(p * q, 65537, scvjwt._inverse_mod(65537, lam), p, q),
                 (SAMPLE_KEY.n, 65537, None), (SAMPLE_KEY.n, 65537, "1"),
                 ((1 << 1279) - 1, 65537, scvjwt._inverse_mod(65537, (1 << 1279) - 2)),
                 (211 ** 266, 65537, scvjwt._inverse_mod(65537, 210 * 211 ** 265))]
        for numbers in cases:
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.RSAPrivateKey(*numbers)

    def test_recovery_when_the_prime_power_test_meets_a_factor(self):
        """p = 2**521 - 1 has ord_p(2) = 521; with 521 dividing q - 1, gcd(2**n - 2, n) = p: the
        test meant for prime powers finds a factor of a genuine key, which then loads."""
        p = (1 << 521) - 1
        q = 1 + 1042 * ((1 << 510) + 12345)
        while not independent_miller_rabin(q):
            q += 1042
        lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
        d = scvjwt._inverse_mod(65537, lam)
        key = scvjwt.RSAPrivateKey(p * q, 65537, d)
        self.assertEqual({key.p, key.q}, {p, q})


class SignVerifyTest(unittest.TestCase):
    """sign_rs256 and verify_rs256 (RFC 8017 section 8.2) with the pure backend."""

    # b"leading zero 36" is the first message of the form b"leading zero %d" whose signature with
    # the sample key starts with a zero byte (found once by search, checked below).
    LEADING_ZERO_MESSAGE = b"leading zero 36"

    def test_known_answer(self):
        """The pinned sample token's signature, which openssl and cryptography also produce."""
        signing_input, signature = scvjwt._SAMPLE_TOKEN.rsplit(".", 1)
        self.assertEqual(scvjwt.sign_rs256(SAMPLE_KEY, signing_input.encode("ascii"), backend="pure"),
                         scvjwt.b64url_decode(signature))

    def test_encoding_is_emsa_pkcs1_v15(self):
        """RSAVP1 of the signature is 00 01 FF..FF 00 DigestInfo(SHA-256) (RFC 8017 section 9.2)."""
        message = b"The quick brown fox"
        signature = scvjwt.sign_rs256(SAMPLE_KEY, message)
        self.assertEqual(len(signature), 256)
        digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(message).digest()
        expected = b"\x00\x01" + b"\xff" * (256 - 3 - len(digest_info)) + b"\x00" + digest_info
        self.assertEqual(pow(int.from_bytes(signature, "big"), SAMPLE_KEY.e, SAMPLE_KEY.n).to_bytes(256, "big"),
                         expected)

    def test_every_backend_and_key_form_gives_the_same_bytes(self):
        expected = scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend="pure")
        self.assertIn("pure", scvjwt.backends())
        self.assertTrue(set(scvjwt.backends()) <= {"pure", "openssl", "cryptography"})
        for backend in ["auto"] + scvjwt.backends():
            self.assertEqual(scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend=backend), expected, backend)
        for key in (SAMPLE_KEY.to_pem(), SAMPLE_KEY.to_pem("pkcs1").encode("ascii"), SAMPLE_KEY._pkcs8_der(),
                    SAMPLE_KEY._pkcs1_der()):
            self.assertEqual(scvjwt.sign_rs256(key, b"message"), expected)
        for message in (bytearray(b"message"), memoryview(b"message")):
            self.assertEqual(scvjwt.sign_rs256(SAMPLE_KEY, message), expected)

    def test_blinding_is_fresh_every_32_signatures_and_squared_between(self):
        """The pair (r**e, r**-1) is drawn from os.urandom, then squared for each next signature
        (both squares stay a matching pair), and drawn afresh after 32 uses."""
        from unittest import mock
        key = scvjwt.load_private_key(SAMPLE_KEY.to_pem())
        expected = scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend="pure")
        draws = []
        for _ in range(65):
            with mock.patch.object(scvjwt.os, "urandom", wraps=os.urandom) as urandom:
                self.assertEqual(scvjwt.sign_rs256(key, b"message", backend="pure"), expected)
            draws.append(urandom.called)
            blinder, unblinder, _, _ = key._backend_cache["blinding"]
            self.assertEqual(blinder * pow(unblinder, key.e, key.n) % key.n, 1)
        self.assertEqual([i for i, drawn in enumerate(draws) if drawn], [0, 32, 64])

    @unittest.skipUnless(hasattr(os, "fork"), "no fork() on this platform")
    def test_a_forked_child_draws_its_own_blinding(self):
        """After fork() the child does not continue its parent's chain of blinding pairs."""
        key = scvjwt.load_private_key(SAMPLE_KEY.to_pem())
        scvjwt.sign_rs256(key, b"message", backend="pure")
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:                                   # the child: sign, report its pair, leave
            try:
                os.close(reader)
                scvjwt.sign_rs256(key, b"message", backend="pure")
                os.write(writer, str(key._backend_cache["blinding"][0]).encode("ascii"))
            finally:
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader, "rb") as pipe:
            child_blinder = int(pipe.read())
        os.waitpid(child, 0)
        scvjwt.sign_rs256(key, b"message", backend="pure")
        self.assertNotEqual(key._backend_cache["blinding"][0], child_blinder)

    def test_a_faulty_signature_is_never_released(self):
        from unittest import mock

        def faulty(key, message, encoded_message):
            good = scvjwt._sign_pure(key, message, encoded_message)
            return bytes([good[0] ^ 0x10]) + good[1:]

        with mock.patch.dict(scvjwt._SIGNERS, {"pure": faulty}):
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend="pure")
        self.assertIn("not released", str(caught.exception))

    def test_verify(self):
        message = b"message"
        signature = scvjwt.sign_rs256(SAMPLE_KEY, message)
        for key in (PUBLIC_KEY, SAMPLE_KEY, PUBLIC_KEY.to_pem(), SAMPLE_CERTIFICATE_DER, SAMPLE_CERTIFICATE_PEM):
            self.assertIs(scvjwt.verify_rs256(key, message, signature), True)
        self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, bytearray(message), bytearray(signature)), True)
        self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, message, memoryview(signature)), True)
        self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, b"messagE", signature), False)
        self.assertIs(scvjwt.verify_rs256(scvjwt.RSAPublicKey(SAMPLE_KEY.n, 3), message, signature), False)

    def test_verify_refuses_every_changed_signature(self):
        message = b"message"
        signature = scvjwt.sign_rs256(SAMPLE_KEY, message)
        s = int.from_bytes(signature, "big")
        n = SAMPLE_KEY.n
        changed = [signature[:i] + bytes([signature[i] ^ (1 << bit)]) + signature[i + 1:]
                   for i in (0, 1, 100, 254, 255) for bit in (0, 7)]
        changed += [b"", b"\x00", signature[:-1], signature[1:], b"\x00" + signature, signature + b"\x00",
                    b"\x00" * 256, b"\xff" * 256, (1).to_bytes(256, "big"), n.to_bytes(256, "big"),
                    (n - 1).to_bytes(256, "big")]
        if s + n < 1 << 2048:
            changed.append((s + n).to_bytes(256, "big"))          # the same residue, but s >= n
        for bad in changed:
            self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, message, bad), False, bad[:8].hex())
        for bad in (None, "signature", 5, [1, 2]):
            self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, message, bad), False)

    def test_leading_zero_byte(self):
        signature = scvjwt.sign_rs256(SAMPLE_KEY, self.LEADING_ZERO_MESSAGE)
        self.assertEqual(signature[0], 0)
        self.assertEqual(len(signature), 256)
        self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, self.LEADING_ZERO_MESSAGE, signature), True)
        self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, self.LEADING_ZERO_MESSAGE, signature[1:]), False)
        self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, self.LEADING_ZERO_MESSAGE, b"\x00" + signature), False)

    def test_bad_arguments(self):
        for backend in ("nope", "PURE", "", None, ["pure"], {}):
            with self.assertRaises(scvjwt.BackendError):
                scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend=backend)
        for backend in {"openssl", "cryptography"} - set(scvjwt.backends()):
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend=backend)
            self.assertIn("not available", str(caught.exception))
        for message in ("text", None, 5):
            with self.assertRaises(scvjwt.ScvJwtError):
                scvjwt.sign_rs256(SAMPLE_KEY, message)
            with self.assertRaises(scvjwt.ScvJwtError):
                scvjwt.verify_rs256(PUBLIC_KEY, message, b"")
        for key in (None, PUBLIC_KEY, PUBLIC_KEY.to_pem(), b"", "garbage"):
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.sign_rs256(key, b"message")
        for key in (None, b"", "garbage", 5):
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.verify_rs256(key, b"message", b"")


# ------------------------------------------------------------------------------------------------
# Differential tests: the cryptography package, the openssl tool, Project Wycheproof, the key corpus
# ------------------------------------------------------------------------------------------------

def differential_messages(seed):
    """Messages for the differential tests: empty, short, long, and a token's signing input."""
    rng = random.Random(seed)
    messages = [b"", b"a", scvjwt._SAMPLE_TOKEN.rsplit(".", 1)[0].encode("ascii")]
    messages += [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000))) for _ in range(2)]
    return messages


@needs_cryptography
class CryptographyDifferentialTest(unittest.TestCase):
    """scvjwt against the cryptography package on random keys of 1024 to 4096 bits, odd sizes
    included: the same numbers from every encoding, byte-identical signatures, each side
    accepting the other's signatures and tokens."""

    SIZES = (1024, 1025, 1536, 2047, 2048, 2049, 2560, 3071, 3072, 3073, 4095, 4096)

    @classmethod
    def setUpClass(cls):
        cls.messages = differential_messages(8017)

    def keys(self):
        """(name, cryptography key) pairs: one key per size, and one with e = 3."""
        for bits in self.SIZES:
            yield "%d bits" % bits, cryptography_key(bits)
        yield "2048 bits, e=3", cryptography_key(2048, e=3)

    ENCODINGS = (("PEM", serialization.Encoding.PEM), ("DER", serialization.Encoding.DER)) if HAVE_CRYPTOGRAPHY else ()

    def private_encodings(self, key):
        for fmt_name, fmt in (("PKCS#8", serialization.PrivateFormat.PKCS8),
                              ("PKCS#1", serialization.PrivateFormat.TraditionalOpenSSL)):
            for encoding_name, encoding in self.ENCODINGS:
                yield fmt_name + " " + encoding_name, key.private_bytes(encoding, fmt, serialization.NoEncryption())

    def public_encodings(self, key):
        for fmt_name, fmt in (("SPKI", serialization.PublicFormat.SubjectPublicKeyInfo),
                              ("PKCS#1", serialization.PublicFormat.PKCS1)):
            for encoding_name, encoding in self.ENCODINGS:
                yield fmt_name + " " + encoding_name, key.public_key().public_bytes(encoding, fmt)

    def test_numbers_from_every_encoding(self):
        for name, key in self.keys():
            numbers = key.private_numbers()
            expected = (numbers.public_numbers.n, numbers.public_numbers.e, numbers.d, numbers.p, numbers.q,
                        numbers.dmp1, numbers.dmq1, numbers.iqmp)
            for encoding, data in self.private_encodings(key):
                loaded = scvjwt.load_private_key(data)
                self.assertEqual(key_numbers(loaded), expected, "%s, %s" % (name, encoding))
                self.assertEqual(loaded.bits, key.key_size, name)
            for encoding, data in self.public_encodings(key):
                loaded = scvjwt.load_public_key(data)
                self.assertEqual((loaded.n, loaded.e), expected[:2], "%s, %s" % (name, encoding))

    def test_pem_and_fingerprint_match_cryptography(self):
        for name, key in self.keys():
            ours = scvjwt.load_private_key(cryptography_pem(key))
            self.assertEqual(ours.to_pem("pkcs8").encode("ascii"), cryptography_pem(key, "pkcs8"), name)
            self.assertEqual(ours.to_pem("pkcs1").encode("ascii"), cryptography_pem(key, "pkcs1"), name)
            public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
            self.assertEqual(ours.public_key().to_pem().encode("ascii"), public_pem, name)
            spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
            self.assertEqual(ours.public_key().fingerprint(), independent_fingerprint(spki), name)

    def test_cryptography_reads_our_pem(self):
        """cryptography checks each key it loads (slow for big keys): odd sizes and e = 3 here; the
        byte-identical PEM above covers the rest."""
        keys = [("%d bits" % bits, cryptography_key(bits)) for bits in (1025, 2047, 3073)]
        for name, key in keys + [("2048 bits, e=3", cryptography_key(2048, e=3))]:
            ours = scvjwt.load_private_key(cryptography_pem(key))
            for fmt in ("pkcs8", "pkcs1"):
                read = serialization.load_pem_private_key(ours.to_pem(fmt).encode("ascii"), password=None)
                self.assertEqual(read.private_numbers(), key.private_numbers(), "%s, %s" % (name, fmt))
            read = serialization.load_pem_public_key(ours.public_key().to_pem().encode("ascii"))
            self.assertEqual(read.public_numbers(), key.public_key().public_numbers(), name)

    def test_identical_signatures_verified_both_ways(self):
        for name, key in self.keys():
            ours = scvjwt.load_private_key(cryptography_pem(key))
            for message in self.messages:
                signature = scvjwt.sign_rs256(ours, message, backend="pure")
                theirs = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
                self.assertEqual(signature, theirs, "%s, message of %d bytes" % (name, len(message)))
                key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
                self.assertIs(scvjwt.verify_rs256(ours.public_key(), message, theirs), True, name)
                self.assertIs(scvjwt.verify_rs256(ours.public_key(), message + b"!", theirs), False, name)

    def test_tokens_verified_both_ways(self):
        from cryptography.exceptions import InvalidSignature
        for name, key in self.keys():
            ours = scvjwt.load_private_key(cryptography_pem(key))
            token = scvjwt.mint(ours, ORG_ID, CALL_CENTER, now=NOW)
            signing_input, signature = token.rsplit(".", 1)
            key.public_key().verify(scvjwt.b64url_decode(signature), signing_input.encode("ascii"),
                                    padding.PKCS1v15(), hashes.SHA256())
            with self.assertRaises(InvalidSignature):
                key.public_key().verify(scvjwt.b64url_decode(signature), signing_input.encode("ascii") + b"x",
                                        padding.PKCS1v15(), hashes.SHA256())
            their_signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
            their_token = signing_input + "." + scvjwt.b64url_encode(their_signature)
            public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
            claims = scvjwt.verify(their_token, public_pem, ORG_ID, CALL_CENTER, now=NOW)
            self.assertEqual(claims, scvjwt.decode_unverified(token)[1], name)

    def test_prime_recovery_matches_cryptography(self):
        for bits in (1025, 2047, 3073):
            numbers = cryptography_key(bits).private_numbers()
            n, e, d = numbers.public_numbers.n, numbers.public_numbers.e, numbers.d
            key = scvjwt.RSAPrivateKey(n, e, d)
            self.assertEqual({key.p, key.q}, set(rsa.rsa_recover_prime_factors(n, e, d)), bits)
            self.assertEqual({key.p, key.q}, {numbers.p, numbers.q}, bits)

    def test_sample_token_and_certificate(self):
        key = serialization.load_pem_private_key(SAMPLE_KEY.to_pem().encode("ascii"), password=None)
        signing_input, signature = scvjwt._SAMPLE_TOKEN.rsplit(".", 1)
        self.assertEqual(key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()),
                         scvjwt.b64url_decode(signature))
        from cryptography import x509
        certificate = x509.load_der_x509_certificate(SAMPLE_CERTIFICATE_DER)
        self.assertEqual(certificate.public_key().public_numbers().n, SAMPLE_KEY.n)
        key.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(),
                                hashes.SHA256())


@needs_openssl
class OpenSSLDifferentialTest(unittest.TestCase):
    """scvjwt against the openssl command line tool, with keys openssl generates (so this runs
    without the cryptography package): encodings, fingerprints, signatures and tokens. (The key
    corpus adds openssl's 3072- and 4096-bit keys, see KeyCorpusTest.)"""

    SIZES = (1024, 1537, 2047, 2048, 3073)

    @classmethod
    def setUpClass(cls):
        cls.folder = temp_dir()
        cls.messages = differential_messages(7468)
        cls.files = {}
        for bits in cls.SIZES:
            files = {"pkcs8.pem": write_file(cls.folder, "%d_pkcs8.pem" % bits, openssl_key_pem(bits))}
            key = files["pkcs8.pem"]
            for name, args in (("pkcs8.der", ["pkey", "-outform", "DER"]),
                               ("pkcs1.pem", ["rsa", "-traditional"]),
                               ("pkcs1.der", ["rsa", "-traditional", "-outform", "DER"]),
                               ("spki.pem", ["pkey", "-pubout"]),
                               ("spki.der", ["pkey", "-pubout", "-outform", "DER"]),
                               ("pkcs1-public.pem", ["rsa", "-RSAPublicKey_out"])):
                files[name] = write_file(cls.folder, "%d_%s" % (bits, name), run_openssl(*(args + ["-in", key])))
            cls.files[bits] = files

    def read(self, bits, name):
        with open(self.files[bits][name], "rb") as handle:
            return handle.read()

    def openssl_sign(self, key_path, message):
        return run_openssl("dgst", "-sha256", "-sign", key_path, input=message)

    def openssl_verifies(self, public_path, message, signature):
        signature_path = write_file(temp_dir(), "signature.bin", signature)
        completed = subprocess.run([OPENSSL, "dgst", "-sha256", "-verify", public_path, "-signature",
                                    signature_path], input=message, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=60)
        return completed.returncode == 0 and b"Verified OK" in completed.stdout

    def test_every_encoding_loads_the_same_numbers(self):
        for bits in self.SIZES:
            keys = [scvjwt.load_private_key(self.read(bits, name))
                    for name in ("pkcs8.pem", "pkcs8.der", "pkcs1.pem", "pkcs1.der")]
            for key in keys:
                self.assertEqual(key_numbers(key), key_numbers(keys[0]), bits)
            modulus = run_openssl("rsa", "-in", self.files[bits]["pkcs8.pem"], "-noout", "-modulus")
            self.assertEqual(int(modulus.decode("ascii").strip().split("=", 1)[1], 16), keys[0].n)
            self.assertIn(keys[0].bits, (bits - 1, bits))    # odd sizes: the product may be a bit shorter
            for name in ("spki.pem", "spki.der", "pkcs1-public.pem"):
                self.assertEqual(scvjwt.load_public_key(self.read(bits, name)), keys[0].public_key(), name)
            self.assertEqual(keys[0].public_key().fingerprint(), independent_fingerprint(self.read(bits, "spki.der")))
            self.assertEqual(keys[0].public_key().to_pem().encode("ascii"), self.read(bits, "spki.pem"))

    def test_openssl_reads_our_pem(self):
        for bits in (1537, 2048):
            key = scvjwt.load_private_key(self.read(bits, "pkcs8.pem"))
            for fmt in ("pkcs8", "pkcs1"):
                path = write_file(temp_dir(), "ours.pem", key.to_pem(fmt))
                self.assertIn(b"RSA key ok", run_openssl("rsa", "-in", path, "-check", "-noout"))
                self.assertEqual(run_openssl("pkey", "-in", path, "-pubout"), self.read(bits, "spki.pem"))
                self.assertEqual(run_openssl("pkey", "-in", path, "-outform", "DER"), self.read(bits, "pkcs8.der"))

    def test_identical_signatures_verified_both_ways(self):
        for bits in self.SIZES:
            key = scvjwt.load_private_key(self.read(bits, "pkcs1.pem"))
            for message in self.messages[1:4]:
                signature = scvjwt.sign_rs256(key, message, backend="pure")
                self.assertEqual(signature, self.openssl_sign(self.files[bits]["pkcs8.pem"], message), bits)
                self.assertTrue(self.openssl_verifies(self.files[bits]["spki.pem"], message, signature), bits)
            self.assertFalse(self.openssl_verifies(self.files[bits]["spki.pem"], b"other", signature), bits)

    def test_tokens_verified_both_ways(self):
        for bits in self.SIZES:
            key = scvjwt.load_private_key(self.read(bits, "pkcs8.der"))
            token = scvjwt.mint(key, ORG_ID, CALL_CENTER, now=NOW, audience="https://scrt.salesforce.com")
            signing_input, signature = token.rsplit(".", 1)
            self.assertTrue(self.openssl_verifies(self.files[bits]["spki.pem"], signing_input.encode("ascii"),
                                                  scvjwt.b64url_decode(signature)), bits)
            their_signature = self.openssl_sign(self.files[bits]["pkcs1.pem"], signing_input.encode("ascii"))
            their_token = signing_input + "." + scvjwt.b64url_encode(their_signature)
            claims = scvjwt.verify(their_token, self.read(bits, "spki.der"), ORG_ID, CALL_CENTER, now=NOW + 1,
                                   audience="https://scrt.salesforce.com")
            self.assertEqual(claims, scvjwt.decode_unverified(token)[1])

    def test_sample_token_and_certificate(self):
        folder = temp_dir()
        key_path = write_file(folder, "sample.pem", SAMPLE_KEY.to_pem("pkcs1"))
        signing_input, signature = scvjwt._SAMPLE_TOKEN.rsplit(".", 1)
        self.assertEqual(self.openssl_sign(key_path, signing_input.encode("ascii")), scvjwt.b64url_decode(signature))
        certificate = write_file(folder, "sample.crt", SAMPLE_CERTIFICATE_PEM)
        public_pem = run_openssl("x509", "-in", certificate, "-noout", "-pubkey")
        self.assertEqual(public_pem.decode("ascii"), PUBLIC_KEY.to_pem())
        self.assertEqual(independent_fingerprint(pem_body_der(public_pem)), PUBLIC_KEY.fingerprint())
        self.assertIn(b"OK", run_openssl("verify", "-no_check_time", "-CAfile", certificate, certificate))


def wycheproof(name):
    with open(os.path.join(WYCHEPROOF, name)) as handle:
        return json.load(handle)


@needs_wycheproof
class WycheproofTest(unittest.TestCase):
    """Project Wycheproof RSASSA-PKCS1-v1_5 vectors, read in place from ../shared/vectors/wycheproof."""

    def test_verification_vectors(self):
        """Every case: valid -> True, invalid -> False; "acceptable" (a DigestInfo without its NULL
        parameter) -> False, by policy: we compare against the one canonical encoding."""
        data = wycheproof("rsa_signature_2048_sha256_test.json")
        seen = {"valid": 0, "invalid": 0, "acceptable": 0}
        for group in data["testGroups"]:
            self.assertEqual(group["sha"], "SHA-256")
            numbers = group["publicKey"]
            keys = [scvjwt.load_public_key(bytes.fromhex(group["publicKeyDer"])),
                    scvjwt.load_public_key(bytes.fromhex(group["publicKeyAsn"])),
                    scvjwt.load_public_key(group["publicKeyPem"]),
                    scvjwt.RSAPublicKey(int(numbers["modulus"], 16), int(numbers["publicExponent"], 16))]
            for key in keys:
                self.assertEqual(key, keys[0])
                self.assertEqual(key.bits, group["keySize"])
            for test in group["tests"]:
                result = scvjwt.verify_rs256(keys[0], bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
                self.assertIs(result, test["result"] == "valid",
                              "tcId %d: %s %s" % (test["tcId"], test["comment"], test["flags"]))
                seen[test["result"]] += 1
        self.assertEqual(sum(seen.values()), data["numberOfTests"])
        self.assertTrue(seen["valid"] and seen["invalid"] and seen["acceptable"], seen)

    def test_signature_generation_vectors(self):
        """The SHA-256 groups: byte for byte, with the key from its PKCS#8 DER and from (n, e, d)."""
        data = wycheproof("rsa_pkcs1_2048_sig_gen_test.json")
        groups = [group for group in data["testGroups"] if group["sha"] == "SHA-256"]
        self.assertTrue(groups)
        count = 0
        for group in groups:
            from_pkcs8 = scvjwt.load_private_key(bytes.fromhex(group["privateKeyPkcs8"]))
            numbers = group["privateKey"]
            n, e, d = (int(numbers[name], 16) for name in ("modulus", "publicExponent", "privateExponent"))
            from_numbers = scvjwt.RSAPrivateKey(n, e, d)
            self.assertEqual((from_pkcs8.n, from_pkcs8.e, from_pkcs8.d), (n, e, d))
            self.assertEqual({from_numbers.p, from_numbers.q}, {from_pkcs8.p, from_pkcs8.q})
            self.assertEqual(from_pkcs8.public_key(), scvjwt.load_public_key(bytes.fromhex(group["keyDer"])))
            for test in group["tests"]:
                for key in (from_pkcs8, from_numbers):
                    self.assertEqual(scvjwt.sign_rs256(key, bytes.fromhex(test["msg"])).hex(), test["sig"].lower(),
                                     "tcId %d" % test["tcId"])
                self.assertIs(scvjwt.verify_rs256(from_pkcs8, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])),
                              True)
                count += 1
        self.assertGreaterEqual(count, 10)


@needs_corpus
class KeyCorpusTest(unittest.TestCase):
    """The throwaway keys ../shared/tools/make-test-keys.sh writes with openssl: every RSA encoding
    loads the same numbers, every public form the same public key, every other key type and every
    encrypted file (without a password) is refused with a message that says why."""

    SIZES = (1024, 2048, 3072, 4096)
    WRONG_TYPES = {
        "ec_p256_pkcs8.pem": "EC", "ec_p256_sec1.pem": "EC", "ec_p256_public_spki.pem": "EC",
        "ed25519_pkcs8.pem": "Ed25519", "ed25519_public_spki.pem": "Ed25519",
        "dsa2048_pkcs8.pem": "DSA", "dsa2048_traditional.pem": "DSA", "dsa2048_public_spki.pem": "DSA",
    }

    def test_private_encodings_agree(self):
        for bits in self.SIZES:
            keys = [scvjwt.load_private_key(corpus_file("rsa%d_%s" % (bits, name)))
                    for name in ("pkcs8.pem", "pkcs8.der", "pkcs1.pem", "pkcs1.der")]
            keys.append(scvjwt.load_private_key(corpus_file("rsa%d_pkcs1.pem" % bits).decode("ascii")))
            for key in keys:
                self.assertEqual(key_numbers(key), key_numbers(keys[0]), bits)
            self.assertEqual(keys[0].bits, bits)
            self.assertEqual(pem_body_der(keys[0].to_pem("pkcs1")), corpus_file("rsa%d_pkcs1.der" % bits))
            self.assertEqual(pem_body_der(keys[0].to_pem("pkcs8")), corpus_file("rsa%d_pkcs8.der" % bits))

    def test_public_forms_agree(self):
        for bits in self.SIZES:
            public = scvjwt.load_private_key(corpus_file("rsa%d_pkcs8.pem" % bits)).public_key()
            names = ["public_spki.pem", "public_spki.der", "public_pkcs1.pem", "pkcs8.pem", "pkcs8.der",
                     "pkcs1.pem", "pkcs1.der"]
            if bits == 2048:
                names += ["selfsigned_cert.pem", "selfsigned_cert.der"]
            for name in names:
                loaded = scvjwt.load_public_key(corpus_file("rsa%d_%s" % (bits, name)))
                self.assertEqual(loaded, public, name)
                self.assertEqual(loaded.fingerprint(), public.fingerprint(), name)
            self.assertEqual(public.fingerprint(), independent_fingerprint(corpus_file("rsa%d_public_spki.der" % bits)))
            self.assertEqual(public.to_pem().encode("ascii"), corpus_file("rsa%d_public_spki.pem" % bits))

    def test_signatures_match_openssl(self):
        message = scvjwt._SAMPLE_TOKEN.rsplit(".", 1)[0].encode("ascii")
        for bits in self.SIZES:
            path = os.path.join(key_corpus(), "rsa%d_pkcs1.pem" % bits)
            signature = run_openssl("dgst", "-sha256", "-sign", path, input=message)
            self.assertEqual(scvjwt.sign_rs256(corpus_file("rsa%d_pkcs8.der" % bits), message), signature, bits)
            public = corpus_file("rsa%d_public_spki.pem" % bits)
            self.assertIs(scvjwt.verify_rs256(public, message, signature), True, bits)
            self.assertIs(scvjwt.verify_rs256(public, message + b".", signature), False, bits)

    def test_a_certificate_next_to_its_key(self):
        key_pem, cert_pem = corpus_file("rsa2048_pkcs1.pem"), corpus_file("rsa2048_selfsigned_cert.pem")
        key = scvjwt.load_private_key(key_pem)
        for text in (cert_pem + key_pem, key_pem + cert_pem):
            self.assertEqual(scvjwt.load_private_key(text), key)
            self.assertEqual(scvjwt.load_public_key(text), key.public_key())

    def test_wrong_key_types_are_named(self):
        for name, kind in sorted(self.WRONG_TYPES.items()):
            pem = corpus_file(name)
            forms = [pem, pem_body_der(pem)]                      # as PEM and as DER
            loaders = [scvjwt.load_public_key]
            if "public" not in name:
                loaders.append(scvjwt.load_private_key)
            for data in forms:
                for loader in loaders:
                    with self.assertRaises(scvjwt.KeyFormatError, msg="%s %s" % (name, loader.__name__)) as caught:
                        loader(data)
                    self.assertRegex(str(caught.exception), r"\b%s\b" % re.escape(kind), name)
                    self.assertIn("RSA", str(caught.exception), name)
            if "public" in name:
                with self.assertRaises(scvjwt.KeyFormatError) as caught:
                    scvjwt.load_private_key(pem)
                self.assertIn("public key", str(caught.exception))

    def test_encrypted_keys_without_a_password(self):
        names = [name for name in sorted(os.listdir(key_corpus())) if "encrypted" in name]
        self.assertGreaterEqual(len(names), 10)
        for name in names:
            for loader in (scvjwt.load_private_key, scvjwt.load_public_key):
                with self.assertRaises(scvjwt.KeyFormatError, msg=name) as caught:
                    loader(corpus_file(name))
                self.assertIn("encrypted", str(caught.exception), name)
                self.assertIn("password", str(caught.exception), name)
                self.assertNotIn("test-passphrase", str(caught.exception))


# ------------------------------------------------------------------------------------------------
# Claims, tokens, Minter, decode_unverified, ReplayCache and verify
# ------------------------------------------------------------------------------------------------

class ClaimsTest(unittest.TestCase):
    """build_claims: org IDs, Call Center API names, lifetimes, clock skew, times and jti."""

    def claims(self, **kwargs):
        arguments = {"org_id": ORG_ID, "call_center": CALL_CENTER, "now": NOW, "jti": None}
        arguments.update(kwargs)
        return scvjwt.build_claims(**arguments)

    def assertClaimsError(self, words=None, **kwargs):
        with self.assertRaises(scvjwt.ClaimsError, msg=repr(kwargs)) as caught:
            self.claims(**kwargs)
        if words:
            self.assertIn(words, str(caught.exception))
        return str(caught.exception)

    def test_order_and_values(self):
        claims = self.claims(jti="j-1", audience="https://scrt.salesforce.com", ttl=900)
        self.assertEqual(list(claims), ["iat", "exp", "iss", "sub", "aud", "jti"])
        self.assertEqual(claims, {"iat": NOW, "exp": NOW + 900, "iss": ORG_ID, "sub": CALL_CENTER,
                                  "aud": "https://scrt.salesforce.com", "jti": "j-1"})
        self.assertEqual(list(self.claims()), ["iat", "exp", "iss", "sub"])
        self.assertEqual(self.claims(ttl=scvjwt.DEFAULT_TTL), self.claims())
        self.assertEqual((scvjwt.DEFAULT_TTL, scvjwt.MAX_TTL), (300, 86400))

    def test_checksum_known_answers(self):
        """DOMAIN.md's known answers for the three checksum characters of 18-character IDs."""
        for id_15, suffix in (("a0D30000001n7Pi", "EAI"), ("00558000001N0Ke", "AAK"), ("001550V000WOQZi", "ACP"),
                              (ORG_ID, "EAK")):
            self.assertEqual(scvjwt._org_id_suffix(id_15), suffix)

    def test_org_ids(self):
        self.assertEqual(self.claims(org_id=ORG_ID_18)["iss"], ORG_ID)
        self.assertEqual(self.claims(org_id="00DAAAAAAAAAAAA")["iss"], "00DAAAAAAAAAAAA")
        self.assertEqual(self.claims(org_id="00DAAAAAAAAAAAA255")["iss"], "00DAAAAAAAAAAAA")   # 28, 31, 31
        message = self.assertClaimsError("checksum", org_id="00D5e000001AbCdEAA")
        self.assertIn("EAK", message)
        self.assertClaimsError("checksum", org_id="00D5e000001ABCdEAK")        # case changed
        for bad in ("", "00D", "00D5e000001AbC", "00D5e000001AbCdE", "00D5e000001AbCdEA", "00D5e000001AbCdEAKX",
                    "0015e000001AbCd", "00d5e000001AbCd", "00D5e000001AbC-", "00D5e000001AbC\u00e9",
                    " 00D5e000001AbCd", "00D5e000001AbCd\n", "00D5e000001AbC\uff44"):
            self.assertClaimsError("org ID", org_id=bad)
        for bad in (None, 5, b"00D5e000001AbCd", ["00D5e000001AbCd"]):
            self.assertClaimsError("string", org_id=bad)

    def test_call_center_names(self):
        for good in ("scv4cc1", "HVCC", "ServiceCloudVoice", "acme_voice_prod", "A", "a1_b2_c3", "x" * 80):
            self.assertEqual(self.claims(call_center=good)["sub"], good)
        for bad in ("", "x" * 81, "1abc", "_abc", "a__b", "abc_", "a-b", "a b", "a.b", "caf\u00e9", "\u00e9t\u00e9",
                    "abc\n", "A\u0661", "ab/c", "Ａbc"):
            self.assertClaimsError("Call Center API name", call_center=bad)
        for bad in (None, 5, b"HVCC"):
            self.assertClaimsError("string", call_center=bad)

    def test_lifetime_bounds(self):
        self.assertEqual(self.claims(ttl=1)["exp"], NOW + 1)
        self.assertEqual(self.claims(ttl=86400)["exp"], NOW + 86400)
        for bad in (0, -1, 86401, 1.5, 300.0, "300", None, True):
            self.assertClaimsError("ttl", ttl=bad)

    def test_skew(self):
        claims = self.claims(skew=30)
        self.assertEqual((claims["iat"], claims["exp"]), (NOW - 30, NOW + 300))
        self.assertEqual(self.claims(skew=300)["iat"], NOW - 300)
        self.assertEqual(self.claims(skew=30, now=10)["iat"], 0)                   # never before 1970
        self.assertEqual(self.claims(ttl=86100, skew=300)["exp"] - self.claims(ttl=86100, skew=300)["iat"], 86400)
        self.assertClaimsError("86400", ttl=86400, skew=1)
        for bad in (-1, 301, 1.0, "5", None, True):
            self.assertClaimsError("skew", skew=bad)

    def test_times(self):
        self.assertEqual(self.claims(now=NOW + 0.999)["iat"], NOW)                  # whole seconds, the floor
        self.assertEqual(self.claims(now=0)["iat"], 0)
        self.assertEqual(self.claims(now=253402300799)["iat"], 253402300799)
        for bad in (-1, -0.5, 253402300800, float("nan"), float("inf"), "1767225600", True, [NOW]):
            self.assertClaimsError("time", now=bad)
        import time
        before = int(time.time())
        claims = scvjwt.build_claims(ORG_ID, CALL_CENTER)
        self.assertTrue(before <= claims["iat"] <= int(time.time()))
        self.assertEqual(claims["exp"] - claims["iat"], 300)

    def test_jti(self):
        first, second = self.claims(jti=True)["jti"], self.claims(jti=True)["jti"]
        self.assertRegex(first, UUID4)
        self.assertNotEqual(first, second)
        self.assertRegex(scvjwt.build_claims(ORG_ID, CALL_CENTER)["jti"], UUID4)   # the default
        self.assertNotIn("jti", self.claims(jti=False))
        self.assertNotIn("jti", self.claims(jti=None))
        self.assertEqual(self.claims(jti="call-42")["jti"], "call-42")
        self.assertEqual(self.claims(jti="\u00e9t\u00e9")["jti"], "\u00e9t\u00e9")
        for bad in ("", "x" * 1025, 1, 0, 1.5, b"jti", ["a"], "\ud800"):
            self.assertClaimsError("jti", jti=bad)
        for bad in ("", "x" * 1025, 5, ["https://scrt.salesforce.com"], "\udfff"):
            self.assertClaimsError("audience", audience=bad)


class MintTest(unittest.TestCase):
    """mint: the exact bytes of the header and claims, and a signature over them."""

    def test_known_answer(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=scvjwt._SAMPLE_NOW, jti=scvjwt._SAMPLE_JTI)
        self.assertEqual(token, scvjwt._SAMPLE_TOKEN)

    def test_byte_layout(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, ttl=900, now=NOW, jti="j-1",
                            audience="https://scrt.salesforce.com")
        header, claims, signature = token_parts(token)
        self.assertEqual(header, b'{"alg":"RS256","typ":"JWT"}')
        self.assertEqual(token.split(".")[0], "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9")
        self.assertEqual(claims, b'{"iat":1767225600,"exp":1767226500,"iss":"00D5e000001AbCd",'
                                 b'"sub":"ExampleCallCenter","aud":"https://scrt.salesforce.com","jti":"j-1"}')
        self.assertIs(scvjwt.verify_rs256(PUBLIC_KEY, token.rsplit(".", 1)[0].encode("ascii"), signature), True)
        self.assertRegex(token, r"\A[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")

    def test_minimal_header_and_no_jti(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti=False, typ=False)
        header, claims, _ = token_parts(token)
        self.assertEqual(header, b'{"alg":"RS256"}')
        self.assertEqual(token.split(".")[0], "eyJhbGciOiJSUzI1NiJ9")                # as the guide shows it
        self.assertEqual(claims, b'{"iat":1767225600,"exp":1767225900,"iss":"00D5e000001AbCd",'
                                 b'"sub":"ExampleCallCenter"}')

    def test_utf8_claims(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="caf\u00e9-\u2603")
        self.assertIn('"jti":"caf\u00e9-\u2603"'.encode("utf-8"), token_parts(token)[1])
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW)["jti"], "caf\u00e9-\u2603")

    def test_key_forms_and_skew(self):
        expected = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="j", skew=60)
        for key in (SAMPLE_KEY.to_pem(), SAMPLE_KEY.to_pem("pkcs1").encode("ascii"), SAMPLE_KEY._pkcs1_der()):
            self.assertEqual(scvjwt.mint(key, ORG_ID, CALL_CENTER, now=NOW, jti="j", skew=60), expected)
        claims = json.loads(token_parts(expected)[1].decode("utf-8"))
        self.assertEqual((claims["iat"], claims["exp"]), (NOW - 60, NOW + 300))
        self.assertEqual(scvjwt.mint(SAMPLE_KEY, ORG_ID_18, CALL_CENTER, now=NOW, jti="j", skew=60), expected)

    def test_fresh_jti_each_time(self):
        tokens = {scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW) for _ in range(5)}
        jtis = {scvjwt.decode_unverified(token)[1]["jti"] for token in tokens}
        self.assertEqual(len(jtis), 5)
        for jti in jtis:
            self.assertRegex(jti, UUID4)

    def test_refusals(self):
        with self.assertRaises(scvjwt.KeyFormatError):
            scvjwt.mint(PUBLIC_KEY, ORG_ID, CALL_CENTER)
        with self.assertRaises(scvjwt.KeyFormatError):
            scvjwt.mint("not a key", ORG_ID, CALL_CENTER)
        with self.assertRaises(scvjwt.ClaimsError):
            scvjwt.mint(SAMPLE_KEY, "00D5e000001AbCdEAA", CALL_CENTER)
        with self.assertRaises(scvjwt.ClaimsError):
            scvjwt.mint(SAMPLE_KEY, ORG_ID, "bad name")
        with self.assertRaises(scvjwt.BackendError):
            scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, backend="nope")


class FakeClock(object):
    """A clock for Minter that moves only when told to."""

    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


class MinterTest(unittest.TestCase):
    """Minter: single-use tokens with a new jti, or one reused token refreshed before it expires;
    safe to share between threads."""

    def test_single_use_tokens(self):
        minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER, clock=FakeClock())
        tokens = [minter.token() for _ in range(3)]
        self.assertEqual(len(set(tokens)), 3)
        jtis = set()
        for token in tokens:
            claims = scvjwt.verify(token, PUBLIC_KEY, ORG_ID, CALL_CENTER, now=NOW)
            self.assertEqual((claims["iat"], claims["exp"]), (NOW, NOW + 300))
            self.assertRegex(claims["jti"], UUID4)
            jtis.add(claims["jti"])
        self.assertEqual(len(jtis), 3)
        authorization = minter.authorization()
        self.assertTrue(authorization.startswith("Bearer "))
        self.assertNotIn(authorization[7:], tokens)

    def test_reuse_and_refresh(self):
        clock = FakeClock()
        minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER, ttl=300, reuse=True, refresh_margin=60, clock=clock)
        first = minter.token()
        self.assertNotIn("jti", scvjwt.decode_unverified(first)[1])
        clock.now = NOW + 240                        # 60 seconds left: still good enough
        self.assertEqual(minter.token(), first)
        self.assertEqual(minter.authorization(), "Bearer " + first)
        clock.now = NOW + 240.5                      # fewer than 60 left: a new token
        second = minter.token()
        self.assertNotEqual(second, first)
        claims = scvjwt.verify(second, PUBLIC_KEY, ORG_ID, CALL_CENTER, now=clock.now)
        self.assertEqual((claims["iat"], claims["exp"]), (NOW + 240, NOW + 540))
        self.assertNotIn("jti", claims)
        self.assertEqual(minter.token(), second)
        clock.now = NOW + 10000
        self.assertEqual(scvjwt.decode_unverified(minter.token())[1]["iat"], NOW + 10000)

    def test_options_reach_the_token(self):
        minter = scvjwt.Minter(SAMPLE_KEY.to_pem(), ORG_ID_18, CALL_CENTER, ttl=600,
                               audience="https://scrt.salesforce.com", typ=False, skew=30, backend="pure",
                               clock=FakeClock())
        header, claims = scvjwt.decode_unverified(minter.token())
        self.assertEqual(header, {"alg": "RS256"})
        self.assertEqual((claims["iat"], claims["exp"], claims["iss"], claims["aud"]),
                         (NOW - 30, NOW + 600, ORG_ID, "https://scrt.salesforce.com"))

    def test_refusals(self):
        cases = [
            (scvjwt.ClaimsError, dict(org_id="0015e000001AbCd")),
            (scvjwt.ClaimsError, dict(call_center="bad name")),
            (scvjwt.ClaimsError, dict(ttl=0)),
            (scvjwt.ClaimsError, dict(ttl=60, refresh_margin=60, reuse=True)),
            (scvjwt.ClaimsError, dict(refresh_margin=-1)),
            (scvjwt.ClaimsError, dict(refresh_margin=1.5)),
            (scvjwt.ClaimsError, dict(skew=301)),
            (scvjwt.ClaimsError, dict(audience="")),
            (scvjwt.ClaimsError, dict(clock=None)),
            (scvjwt.ClaimsError, dict(clock=NOW)),
            (scvjwt.KeyFormatError, dict(key=PUBLIC_KEY)),
            (scvjwt.KeyFormatError, dict(key="nonsense")),
            (scvjwt.BackendError, dict(backend="nope")),
        ]
        for error, change in cases:
            arguments = {"key": SAMPLE_KEY, "org_id": ORG_ID, "call_center": CALL_CENTER}
            arguments.update(change)
            with self.assertRaises(error, msg=repr(change)):
                scvjwt.Minter(**arguments)
        scvjwt.verify(scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER, ttl=30).token(), PUBLIC_KEY)  # margin unused
        for reuse in (False, True):
            minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER, reuse=reuse, clock=lambda: "noon")
            with self.assertRaises(scvjwt.ClaimsError):
                minter.token()

    def test_repr_shows_no_secret(self):
        text = repr(scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER))
        self.assertIn(PUBLIC_KEY.fingerprint(), text)
        for secret in secret_texts(SAMPLE_KEY):
            self.assertNotIn(secret, text)

    def run_threads(self, minter, threads=4, per_thread=5):
        tokens, errors = [], []

        def work():
            try:
                for _ in range(per_thread):
                    tokens.append(minter.token())
            except Exception as error:             # reported below: the test must see any failure
                errors.append(error)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(tokens), threads * per_thread)
        return tokens

    def test_threads_single_use(self):
        minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER, clock=FakeClock())
        tokens = self.run_threads(minter)
        jtis = [scvjwt.verify(token, PUBLIC_KEY, ORG_ID, CALL_CENTER, now=NOW)["jti"] for token in tokens]
        self.assertEqual(len(set(jtis)), len(tokens))

    def test_threads_reuse(self):
        minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER, reuse=True, clock=FakeClock())
        tokens = self.run_threads(minter)
        self.assertEqual(len(set(tokens)), 1)
        scvjwt.verify(tokens[0], PUBLIC_KEY, ORG_ID, CALL_CENTER, now=NOW)


class DecodeUnverifiedTest(unittest.TestCase):
    """decode_unverified: the header and claims of a well-formed token, without the signature check."""

    def test_decodes(self):
        header, claims = scvjwt.decode_unverified(scvjwt._SAMPLE_TOKEN)
        self.assertEqual(header, {"alg": "RS256", "typ": "JWT"})
        self.assertEqual(claims, {"iat": NOW, "exp": NOW + 300, "iss": ORG_ID, "sub": CALL_CENTER,
                                  "jti": scvjwt._SAMPLE_JTI})
        self.assertEqual(scvjwt.decode_unverified(scvjwt._SAMPLE_TOKEN.encode("ascii")), (header, claims))
        unsigned = scvjwt._SAMPLE_TOKEN.rsplit(".", 1)[0] + ".AAAA"          # the signature is not checked
        self.assertEqual(scvjwt.decode_unverified(unsigned), (header, claims))
        self.assertEqual(scvjwt.decode_unverified(scvjwt._SAMPLE_TOKEN.rsplit(".", 1)[0] + "."), (header, claims))

    def test_malformed(self):
        good_header, good_claims, signature = scvjwt._SAMPLE_TOKEN.split(".")
        encode = scvjwt.b64url_encode
        bad = [
            "", ".", "..", "a.b", good_header + "." + good_claims, scvjwt._SAMPLE_TOKEN + ".",
            scvjwt._SAMPLE_TOKEN + "." + signature, good_header + "==." + good_claims + "." + signature,
            good_header + "." + good_claims + "." + signature + "=", " " + scvjwt._SAMPLE_TOKEN,
            scvjwt._SAMPLE_TOKEN + "\n", good_header + "." + good_claims + ".+/",
            encode(b"[]") + "." + good_claims + "." + signature, encode(b'"x"') + "." + good_claims + "." + signature,
            good_header + "." + encode(b"null") + "." + signature, good_header + "." + encode(b"{") + "." + signature,
            good_header + "." + encode(b"\xff\xfe{}") + "." + signature,
            good_header + "." + encode(b"{} x") + "." + signature,
            good_header + "." + encode('{"a":1}'.encode("utf-16")) + "." + signature,
            good_header + "." + encode(b'{"a":1,"a":1}') + "." + signature,
            good_header + "." + encode(b'{"a":NaN}') + "." + signature,
            good_header + "." + encode(b'{"a":-Infinity}') + "." + signature,
            scvjwt._SAMPLE_TOKEN.encode("ascii") + b"\xff", None, 5, ["a", "b", "c"],
        ]
        for token in bad:
            with self.assertRaises(scvjwt.TokenError, msg=repr(token)[:80]) as caught:
                scvjwt.decode_unverified(token)
            self.assertEqual(caught.exception.reason, "malformed")


class VerifyTest(unittest.TestCase):
    """verify: every reason of SPEC.md, in Salesforce's order, and the messages it gives."""

    def assertReason(self, reason, token, key=PUBLIC_KEY, **kwargs):
        kwargs.setdefault("now", NOW + 1)
        with self.assertRaises(scvjwt.TokenError) as caught:
            scvjwt.verify(token, key, **kwargs)
        self.assertEqual(caught.exception.reason, reason, str(caught.exception))
        message = str(caught.exception)
        if isinstance(token, str) and len(token) > 40:
            for part in token.split("."):
                if len(part) > 20:
                    self.assertNotIn(part, message)              # never echo the token
        return message

    def test_valid(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, audience="https://scrt.salesforce.com")
        expected = scvjwt.decode_unverified(token)[1]
        for key in (PUBLIC_KEY, SAMPLE_KEY, PUBLIC_KEY.to_pem(), SAMPLE_CERTIFICATE_PEM, SAMPLE_CERTIFICATE_DER,
                    SAMPLE_KEY.to_pem().encode("ascii")):
            self.assertEqual(scvjwt.verify(token, key, ORG_ID, CALL_CENTER, now=NOW,
                                           audience="https://scrt.salesforce.com"), expected)
        self.assertEqual(scvjwt.verify(token.encode("ascii"), PUBLIC_KEY, ORG_ID_18, now=NOW), expected)
        self.assertEqual(scvjwt.verify(scvjwt._SAMPLE_TOKEN, PUBLIC_KEY, now=NOW + 299.9)["sub"], CALL_CENTER)
        self.assertEqual(scvjwt.verify(signed_token({"alg": "RS256"}, standard_claims()), PUBLIC_KEY, now=NOW),
                         standard_claims())

    def test_malformed(self):
        good = standard_claims()
        signed_bad_claims = [
            dict(good, exp=str(NOW + 300)), dict(good, exp=float(NOW + 300)), dict(good, exp=True),
            dict(good, exp=None), dict(good, iat=None), dict(good, iat=[NOW]), dict(good, iat=float(NOW)),
            dict(good, iat=False), dict(good, exp=-1), dict(good, exp=10 ** 400), dict(good, iat=-10 ** 400),
            dict(good, iat=NOW, exp=253402300799 + 86401),
            dict(good, iss=123), dict(good, iss=[ORG_ID]), dict(good, iss=None), dict(good, sub=5),
            dict(good, sub={"name": CALL_CENTER}), dict(good, jti=7), dict(good, jti=None), dict(good, jti=["a"]),
        ]
        tokens = [signed_token(RS256_HEADER, claims) for claims in signed_bad_claims]
        for name in ("iat", "exp"):
            tokens.append(signed_token(RS256_HEADER, {key: value for key, value in good.items() if key != name}))
        tokens += [
            signed_token(dict(RS256_HEADER, crit=["exp"]), good),
            signed_token(dict(RS256_HEADER, crit=[]), good),
            signed_token(b'{"alg":"RS256","alg":"RS256"}', good),
            signed_token(RS256_HEADER, b'{"iat":%d,"exp":%d,"exp":%d}' % (NOW, NOW + 300, NOW + 300)),
            signed_token(RS256_HEADER, b'{"iat":%d,"exp":NaN}' % NOW),
            signed_token(RS256_HEADER, b'{"iat":%d,"exp":Infinity}' % NOW),
            signed_token(RS256_HEADER, b'{"iat":%d,"exp":1e400}' % NOW),
            signed_token(b"[]", good), signed_token(RS256_HEADER, b"[1]"),
            signed_token(RS256_HEADER, b'{"iat":1767225600,"exp":1767225900} trailing'),
            signed_token(b"\xef\xbb\xbf" + compact_json(RS256_HEADER), good),
            scvjwt._SAMPLE_TOKEN[:-1] + "B",                           # non-zero unused bits in the signature
            scvjwt._SAMPLE_TOKEN.replace(".", ".=", 1),
            scvjwt._SAMPLE_TOKEN + ".",
            scvjwt._SAMPLE_TOKEN.rsplit(".", 1)[0],
            scvjwt._SAMPLE_TOKEN.replace("e", "\u00e9", 1),
            "Bearer " + scvjwt._SAMPLE_TOKEN,
        ]
        for token in tokens:
            self.assertReason("malformed", token)
        for token in (b"\xff" + scvjwt._SAMPLE_TOKEN.encode("ascii"), None, 42, ["a", "b", "c"], {"alg": "RS256"}):
            self.assertReason("malformed", token)

    def test_malformed_comes_before_algorithm(self):
        self.assertReason("malformed", signed_token({"alg": "none", "crit": ["b64"]}, standard_claims()))
        self.assertReason("malformed", signed_token({"alg": "HS256"}, dict(standard_claims(), exp="soon")))

    def test_oversized_token_refused_without_echo(self):
        padding_claim = "A" * 20000
        token = signed_token(RS256_HEADER, standard_claims(x=padding_claim))
        self.assertGreater(len(token), 16 * 1024)
        message = self.assertReason("malformed", token)
        self.assertIn("16 KiB", message)
        self.assertNotIn("AAAAAAAAAA", message)
        self.assertLess(len(message), 200)
        for huge in ("x" * (8 << 20), "a." * (4 << 20), b"." * (8 << 20), "\u00e9" * (1 << 20)):
            message = self.assertReason("malformed", huge)
            self.assertLess(len(message), 200)
        self.assertEqual(scvjwt.verify(signed_token(RS256_HEADER, standard_claims(x="A" * 10000)), PUBLIC_KEY,
                                       now=NOW)["x"], "A" * 10000)

    def test_algorithm(self):
        claims = standard_claims()
        public_pem = PUBLIC_KEY.to_pem().encode("ascii")
        hs256_input = (scvjwt.b64url_encode(b'{"alg":"HS256","typ":"JWT"}') + "." +
                       scvjwt.b64url_encode(compact_json(claims)))
        hs256 = hs256_input + "." + scvjwt.b64url_encode(
            hmac.new(public_pem, hs256_input.encode("ascii"), hashlib.sha256).digest())   # key confusion
        none_input = scvjwt.b64url_encode(b'{"alg":"none"}') + "." + scvjwt.b64url_encode(compact_json(claims))
        tokens = [hs256, none_input + ".", none_input + ".AAAA"]
        for header in ({"alg": "none"}, {"alg": "None"}, {"alg": "HS256"}, {"alg": "rs256"}, {"alg": "RS512"},
                       {"alg": "PS256"}, {"alg": "RS256 "}, {"typ": "JWT"}, {}, {"alg": None}, {"alg": ["RS256"]},
                       {"alg": 256}):
            tokens.append(signed_token(header, claims))
        for token in tokens:
            self.assertReason("algorithm", token)
        self.assertIn("'HS256'", self.assertReason("algorithm", hs256))

    def test_signature(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW)
        signature = token_parts(token)[2]
        bad = [with_signature(token, signature[:i] + bytes([signature[i] ^ 1]) + signature[i + 1:])
               for i in (0, 128, 255)]
        bad += [with_signature(token, b""), with_signature(token, b"\x00" + signature),
                with_signature(token, signature[:-1]), with_signature(token, SAMPLE_KEY.n.to_bytes(256, "big")),
                with_signature(token, b"\xff" * 256)]
        s = int.from_bytes(signature, "big")
        if s + SAMPLE_KEY.n < 1 << 2048:
            bad.append(with_signature(token, (s + SAMPLE_KEY.n).to_bytes(256, "big")))      # s >= n
        other = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="other")
        bad.append(with_signature(token, token_parts(other)[2]))                           # another token's
        header, claims, _ = token.split(".")
        changed_claims = scvjwt.b64url_encode(token_parts(token)[1].replace(b'"exp":1767225900', b'"exp":1767229500'))
        bad.append(header + "." + changed_claims + "." + token.split(".")[2])
        bad.append(scvjwt.b64url_encode(b'{"typ":"JWT","alg":"RS256"}') + "." + claims + "." + token.split(".")[2])
        for token_variant in bad:
            self.assertReason("signature", token_variant)
        self.assertReason("signature", token, key=scvjwt.RSAPublicKey(SAMPLE_KEY.n, 3))

    def test_signature_with_a_leading_zero_byte(self):
        # The first of the tokens with jti "leading-zero-<i>" whose signature starts with a zero byte.
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="leading-zero-335")
        signature = token_parts(token)[2]
        self.assertEqual((signature[0], len(signature)), (0, 256))
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW)["jti"], "leading-zero-335")
        self.assertReason("signature", with_signature(token, signature[1:]))               # zero removed
        self.assertReason("signature", with_signature(token, b"\x00" + signature))          # one more added

    @needs_openssl
    def test_signature_with_another_key(self):
        other = scvjwt.load_private_key(openssl_key_pem(2048))
        token = scvjwt.mint(other, ORG_ID, CALL_CENTER, now=NOW)
        self.assertReason("signature", token)
        self.assertEqual(scvjwt.verify(token, other.public_key(), now=NOW)["iss"], ORG_ID)

    def test_expired_and_future(self):
        token = scvjwt._SAMPLE_TOKEN                                   # iat NOW, exp NOW + 300
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW + 299)["exp"], NOW + 300)
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW + 299.999)["exp"], NOW + 300)
        self.assertIn("expired", self.assertReason("expired", token, now=NOW + 300))
        self.assertReason("expired", token, now=NOW + 10 ** 6)
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW + 300, leeway=1)["exp"], NOW + 300)
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW + 330.5, leeway=30.75)["exp"], NOW + 300)
        self.assertReason("expired", token, now=NOW + 301, leeway=1)
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW)["iat"], NOW)
        self.assertIn("future", self.assertReason("future", token, now=NOW - 1))
        self.assertReason("future", token, now=NOW - 0.5)
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW - 1, leeway=1)["iat"], NOW)
        self.assertReason("future", token, now=NOW - 61, leeway=60)
        self.assertReason("expired", token, now=NOW + 400, org_id="00DAAAAAAAAAAAA")   # checks in order

    def test_lifetime(self):
        self.assertReason("lifetime", signed_token(RS256_HEADER, standard_claims(ttl=86401)))
        self.assertEqual(scvjwt.verify(signed_token(RS256_HEADER, standard_claims(ttl=86400)), PUBLIC_KEY,
                                       now=NOW)["exp"], NOW + 86400)
        self.assertReason("lifetime", signed_token(RS256_HEADER, standard_claims(ttl=0)), now=NOW, leeway=1)
        self.assertReason("lifetime", signed_token(RS256_HEADER, standard_claims(ttl=-5)), now=NOW - 10, leeway=20)
        self.assertReason("lifetime", scvjwt._SAMPLE_TOKEN, max_lifetime=299)
        self.assertEqual(scvjwt.verify(scvjwt._SAMPLE_TOKEN, PUBLIC_KEY, now=NOW, max_lifetime=300)["iat"], NOW)

    def test_issuer_subject_audience(self):
        token = scvjwt._SAMPLE_TOKEN
        for org_id in (ORG_ID, ORG_ID_18):
            self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, org_id=org_id, now=NOW)["iss"], ORG_ID)
        self.assertReason("issuer", token, org_id="00D5e000001AbCD")
        self.assertReason("subject", token, call_center="ExampleCallcenter")
        self.assertReason("subject", token, org_id=ORG_ID, call_center="Other")
        self.assertReason("issuer", signed_token(RS256_HEADER, {"iat": NOW, "exp": NOW + 300}), org_id=ORG_ID)
        self.assertReason("subject", signed_token(RS256_HEADER, {"iat": NOW, "exp": NOW + 300}), call_center="HVCC")
        audience = "https://scrt.salesforce.com"
        for aud in (audience, [audience], ["https://other.example", audience], [5, audience]):
            token = signed_token(RS256_HEADER, standard_claims(aud=aud))
            self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, audience=audience, now=NOW)["aud"], aud)
            self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW)["aud"], aud)   # not asked for
        for aud in ("https://other.example", [], ["https://other.example"], audience + "/", 5, None,
                    {"aud": audience}, [[audience]]):
            self.assertReason("audience", signed_token(RS256_HEADER, standard_claims(aud=aud)), audience=audience)
        self.assertReason("audience", scvjwt._SAMPLE_TOKEN, audience=audience)            # no aud at all

    def test_bad_arguments(self):
        token = scvjwt._SAMPLE_TOKEN
        for kwargs in (dict(leeway=-1), dict(leeway=86401), dict(leeway=True), dict(leeway="5"),
                       dict(leeway=float("nan")), dict(max_lifetime=0), dict(max_lifetime=1.5),
                       dict(org_id="bad"), dict(call_center="bad name"), dict(now=-1), dict(now="now")):
            with self.assertRaises(scvjwt.ClaimsError, msg=repr(kwargs)):
                scvjwt.verify(token, PUBLIC_KEY, **kwargs)
        for key in (None, "", b"garbage", 5):
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.verify(token, key, now=NOW)

    def test_replay(self):
        cache = scvjwt.ReplayCache()
        token = scvjwt._SAMPLE_TOKEN
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW, replay_cache=cache)["jti"],
                         scvjwt._SAMPLE_JTI)
        self.assertIn("seen before", self.assertReason("replay", token, now=NOW + 1, replay_cache=cache))
        reissued = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW + 5, jti=scvjwt._SAMPLE_JTI)
        self.assertReason("replay", reissued, now=NOW + 6, replay_cache=cache)           # same jti, new token
        fresh = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW)
        scvjwt.verify(fresh, PUBLIC_KEY, now=NOW, replay_cache=scvjwt.ReplayCache())
        scvjwt.verify(fresh, PUBLIC_KEY, now=NOW, replay_cache=cache)
        without_jti = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti=False)
        for _ in range(3):                                   # reusable until it expires, as at Salesforce
            scvjwt.verify(without_jti, PUBLIC_KEY, now=NOW + 1, replay_cache=cache)
        self.assertEqual(len(cache), 2)
        # A token that fails another check is not remembered.
        self.assertReason("issuer", scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="x"),
                          org_id="00DAAAAAAAAAAAA", replay_cache=cache)
        scvjwt.verify(scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="x"), PUBLIC_KEY, now=NOW,
                      replay_cache=cache)

    def test_replay_entries_expire(self):
        cache = scvjwt.ReplayCache()
        first = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="first")           # exp NOW + 300
        later = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, ttl=3600, now=NOW, jti="later")
        scvjwt.verify(first, PUBLIC_KEY, now=NOW, leeway=30, replay_cache=cache)
        scvjwt.verify(later, PUBLIC_KEY, now=NOW + 320, leeway=30, replay_cache=cache)
        self.assertEqual(len(cache), 2)                      # first lives until exp + leeway = NOW + 330
        self.assertReason("replay", first, now=NOW + 329, leeway=30, replay_cache=cache)
        third = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, ttl=3600, now=NOW, jti="third")
        scvjwt.verify(third, PUBLIC_KEY, now=NOW + 330, leeway=30, replay_cache=cache)
        self.assertEqual(len(cache), 2)                      # first was dropped
        self.assertReason("expired", first, now=NOW + 330, leeway=30, replay_cache=cache)


class ReplayCacheTest(unittest.TestCase):
    """ReplayCache: each jti accepted once until it expires; memory bounded by live entries;
    thread-safe."""

    def test_add(self):
        cache = scvjwt.ReplayCache()
        self.assertIs(cache.add("a", 100, 0), True)
        self.assertIs(cache.add("a", 100, 99), False)
        self.assertIs(cache.add("b", 50, 99), True)          # "b" already expired when added
        self.assertEqual(len(cache), 2)
        self.assertIs(cache.add("a", 200, 100), True)        # "a" expired at 100, "b" is dropped too
        self.assertEqual(len(cache), 1)
        self.assertIn("1 jti", repr(cache))

    def test_memory_holds_live_entries_only(self):
        cache = scvjwt.ReplayCache()
        for second in range(5000):
            self.assertIs(cache.add("jti-%d" % second, second + 10, second), True)
            self.assertLessEqual(len(cache), 11)
        self.assertIs(cache.add("jti-4999", 6000, 4999), False)
        self.assertIs(cache.add("jti-0", 6000, 4999), True)

    def test_threads(self):
        cache = scvjwt.ReplayCache()
        accepted = []

        def work():
            accepted.extend(jti for jti in ("jti-%d" % i for i in range(300)) if cache.add(jti, NOW + 300, NOW))

        workers = [threading.Thread(target=work) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.assertEqual(sorted(accepted), sorted("jti-%d" % i for i in range(300)))
        self.assertEqual(len(cache), 300)

    def test_add_refuses_what_verify_never_passes(self):
        cache = scvjwt.ReplayCache()
        for jti, until, now in ((["list"], 10, 0), (None, 10, 0), (7, 10, 0), ("j", "10", 0), ("j", 10, None)):
            with self.assertRaises(scvjwt.TokenError) as caught:
                cache.add(jti, until, now)
            self.assertEqual(caught.exception.reason, "malformed")
        self.assertEqual(len(cache), 0)

# ------------------------------------------------------------------------------------------------
# Bad input: a deterministic mutation fuzzer, hostile inputs, and property tests (hypothesis)
# ------------------------------------------------------------------------------------------------


class MutationFuzzTest(unittest.TestCase):
    """A deterministic mutation fuzzer (fixed seed, about 4000 cases) over DER keys, a certificate,
    PEM text and tokens: byte flips, truncations, insertions, deletions and length-byte edits.
    Whatever the damage, only ScvJwtError subclasses may come out, and what loads must work."""

    CASES_PER_INPUT = 500
    LENGTH_VALUES = (0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xFF)

    def mutate(self, rng, data, length_offsets=()):
        data = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            operation = rng.randrange(7 if length_offsets else 6)
            position = rng.randrange(len(data) + 1)
            if operation == 0 and data:                                   # flip one bit
                data[position % len(data)] ^= 1 << rng.randrange(8)
            elif operation == 1 and data:                                 # any byte value
                data[position % len(data)] = rng.randrange(256)
            elif operation == 2:                                          # truncate
                del data[position:]
            elif operation == 3:                                          # insert bytes
                data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif operation == 4:                                          # delete a slice
                del data[position:position + rng.randint(1, 40)]
            elif operation == 5:                                          # repeat a slice
                data[position:position] = data[position:position + rng.randint(1, 40)]
            elif operation == 6:                                          # edit a length byte
                offset = rng.choice(length_offsets)
                if offset < len(data):
                    choices = self.LENGTH_VALUES + ((data[offset] + 1) % 256, (data[offset] - 1) % 256)
                    data[offset] = rng.choice(choices)
        return bytes(data)

    def check(self, name, seed, data, use, length_offsets=()):
        """Feed CASES_PER_INPUT mutations of `data` to `use`; collect anything but ScvJwtError."""
        rng = random.Random(seed)
        escaped = []
        loaded = 0
        for case in range(self.CASES_PER_INPUT):
            mutated = self.mutate(rng, data, length_offsets)
            try:
                use(mutated)
                loaded += 1
            except scvjwt.ScvJwtError:
                pass
            except Exception as error:                # what this test looks for: report, never raise
                escaped.append("%s case %d: %s: %s" % (name, case, type(error).__name__, error))
        self.assertEqual(escaped, [], "\n".join(escaped[:10]))
        return loaded

    def use_private_key(self, data):
        key = scvjwt.load_private_key(data)
        signature = scvjwt.sign_rs256(key, b"fuzz")            # a key that loads must sign and verify
        self.assertIs(scvjwt.verify_rs256(key.public_key(), b"fuzz", signature), True)

    def test_pkcs1_der(self):
        der = SAMPLE_KEY._pkcs1_der()
        self.check("PKCS#1", 1, der, self.use_private_key, der_length_offsets(der))

    def test_pkcs8_der(self):
        der = SAMPLE_KEY._pkcs8_der()
        self.check("PKCS#8", 2, der, self.use_private_key, der_length_offsets(der))

    def test_spki_der(self):
        der = PUBLIC_KEY._spki_der()
        self.check("SPKI", 3, der, scvjwt.load_public_key, der_length_offsets(der))
        rsa_public_key = scvjwt._der_encode_sequence(scvjwt._der_encode_uint(SAMPLE_KEY.n),
                                                     scvjwt._der_encode_uint(SAMPLE_KEY.e))
        self.check("PKCS#1 public", 4, rsa_public_key, scvjwt.load_public_key, der_length_offsets(rsa_public_key))

    def test_certificate_der(self):
        offsets = der_length_offsets(SAMPLE_CERTIFICATE_DER)
        self.assertGreater(len(offsets), 15)
        self.check("certificate", 5, SAMPLE_CERTIFICATE_DER, scvjwt.load_public_key, offsets)

    def test_pem_text(self):
        self.check("PEM", 6, SAMPLE_KEY.to_pem("pkcs1").encode("ascii"), self.use_private_key)
        self.check("PEM, str", 7, SAMPLE_CERTIFICATE_PEM.encode("ascii"),
                   lambda data: scvjwt.load_public_key(data.decode("latin-1")))

    def test_tokens(self):
        def use(data):
            scvjwt.decode_unverified(data)
            scvjwt.verify(data, PUBLIC_KEY, ORG_ID, CALL_CENTER, now=NOW, audience="a",
                          replay_cache=scvjwt.ReplayCache())

        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW, jti="fuzz", audience="a")
        loaded = self.check("token", 8, token.encode("ascii"), use)
        self.assertLess(loaded, self.CASES_PER_INPUT)

    def test_token_json(self):
        """Mutations inside the header and claims JSON, re-encoded, so the JSON reader sees them."""
        header, claims, signature = token_parts(scvjwt._SAMPLE_TOKEN)

        def use_header(data):
            token = ".".join(scvjwt.b64url_encode(part) for part in (data, claims, signature))
            scvjwt.decode_unverified(token)
            scvjwt.verify(token, PUBLIC_KEY, now=NOW)

        def use_claims(data):
            token = ".".join(scvjwt.b64url_encode(part) for part in (header, data, signature))
            scvjwt.decode_unverified(token)
            scvjwt.verify(token, PUBLIC_KEY, now=NOW)

        self.check("header JSON", 9, header, use_header)
        self.check("claims JSON", 10, claims, use_claims)


class HostileInputTest(unittest.TestCase):
    """Megabytes of data, deep nesting, huge lengths and numbers: refused with our own errors."""

    def assertRefused(self, error, function, *args, **kwargs):
        with self.assertRaises(error) as caught:
            function(*args, **kwargs)
        self.assertLess(len(str(caught.exception)), 300)
        return caught.exception

    def test_megabytes(self):
        for data in (b"A" * (3 << 20), "A" * (3 << 20), b"\x30" * (3 << 20), b"\x30\x84\x00\x30\x00\x00" * 500000,
                     "-----BEGIN PRIVATE KEY-----" * 100000):
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.load_private_key, data)
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.load_public_key, data)
        self.assertRefused(scvjwt.TokenError, scvjwt.verify, "e" * (5 << 20), PUBLIC_KEY)
        self.assertRefused(scvjwt.TokenError, scvjwt.decode_unverified, b"e" * (5 << 20))

    def test_just_under_the_size_limit(self):
        almost = (1 << 20) - 100
        for text in ("-----BEGIN " * (almost // 11), "\\" * almost, "\\n" * (almost // 2), "-----BEGIN A-----" * 60000,
                     "-----BEGIN RSA PRIVATE KEY-----\n" + "a:b " * (almost // 4 - 20) +
                     "\n-----END RSA PRIVATE KEY-----\n",
                     "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" + "A" * (almost - 100) +
                     "\n-----END RSA PRIVATE KEY-----\n"):
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.load_private_key, text)

    def test_deep_der_nesting(self):
        nested = b""
        for _ in range(5000):
            nested = scvjwt._der_encode(0x30, nested)
        for data in (nested, b"\x30\x80" * 100000, scvjwt._pem_wrap("PRIVATE KEY", nested)):
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.load_private_key, data)
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.load_public_key, data)

    def test_huge_lengths_and_numbers(self):
        encode = scvjwt._der_encode
        big = encode(0x02, b"\x01" + b"\x00" * 200000)                 # a 1.6-million-bit INTEGER
        cases = [
            b"\x30\x84\xff\xff\xff\xff\x02\x01\x00",
            b"\x30\x84\x7f\xff\xff\xff" + b"\x02\x84\x7f\xff\xff\xf0" + b"\x00" * 100,
            b"\x30\x88" + b"\xff" * 8 + b"\x02\x01\x00",
            encode(0x30, encode(0x02, b"\x00") + big * 5 + encode(0x02, b"\x01") * 3),     # PKCS#1 shape
            encode(0x30, big + encode(0x02, b"\x03")),                                      # huge modulus
            encode(0x30, encode(0x02, (SAMPLE_KEY.n).to_bytes(257, "big")) + big),          # huge exponent
        ]
        for data in cases:
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.load_private_key, data)
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.load_public_key, data)
        numbers = key_numbers(SAMPLE_KEY)
        huge = 1 << 1000000
        for index in range(len(numbers)):
            changed = list(numbers)
            changed[index] = huge + 1
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.RSAPrivateKey, *changed)

    def test_wrong_d_refused_quickly(self):
        """Recovery of p and q from a wrong d must stop at the first base that proves it wrong (it
        once tried 200 bases, several seconds for a 2048-bit key and minutes for 16384 bits)."""
        for d in (SAMPLE_KEY.d + 2, SAMPLE_KEY.d - 2, 12345, SAMPLE_KEY.n - 2):
            self.assertRefused(scvjwt.KeyFormatError, scvjwt.RSAPrivateKey, SAMPLE_KEY.n, SAMPLE_KEY.e, d)

    def test_hostile_json_in_tokens(self):
        def signed(claims_bytes):
            return signed_token(RS256_HEADER, claims_bytes)

        tokens = [
            signed(b'{"iat":%d,"exp":%s}' % (NOW, b"9" * 5000)),
            signed(b'{"iat":%d,"exp":-%s}' % (NOW, b"9" * 400)),
            signed(b'{"iat":%d,"exp":%d}' % (NOW, 10 ** 400)),
            signed(b'{"iat":%s,"exp":%d}' % (b"9" * 400, NOW + 300)),
            signed(b"[" * 12000),
            signed(b'{"a":' * 1800 + b"1" + b"}" * 1800),
            scvjwt.b64url_encode(b"[" * 11000) + ".e30.",
            scvjwt.b64url_encode(b'{"a":' * 2000) + ".e30.",
        ]
        for token in tokens:
            error = self.assertRefused(scvjwt.TokenError, scvjwt.verify, token, PUBLIC_KEY, now=NOW, leeway=0.5)
            self.assertEqual(error.reason, "malformed")
            self.assertRefused(scvjwt.TokenError, scvjwt.verify, token, PUBLIC_KEY)

    def test_json_nesting_is_bounded_the_same_on_every_python(self):
        """Nesting up to 32 levels is fine; deeper is malformed everywhere, not only where the json
        module's recursion limit happens to be low; brackets inside strings do not count."""
        for depth, valid in ((31, True), (32, False), (900, False), (5500, False)):
            claims = b'{"iat":%d,"exp":%d,"x":%s}' % (NOW, NOW + 300, b"[" * depth + b"]" * depth)
            token = signed_token(RS256_HEADER, claims)
            if valid:
                self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW)["iat"], NOW)
                continue
            error = self.assertRefused(scvjwt.TokenError, scvjwt.verify, token, PUBLIC_KEY, now=NOW)
            self.assertEqual(error.reason, "malformed")
            self.assertIn("nests more than 32 levels", str(error))
        text = '"[\\"[\\\\' + "[" * 40 + '"'
        claims = b'{"iat":%d,"exp":%d,"x":%s}' % (NOW, NOW + 300, text.encode("ascii"))
        self.assertEqual(scvjwt.verify(signed_token(RS256_HEADER, claims), PUBLIC_KEY, now=NOW)["x"],
                         json.loads(text))


if HAVE_HYPOTHESIS:
    try:   # hypothesis keeps caches in ./.hypothesis; files the tests write belong under temp_dir()
        from hypothesis.configuration import set_hypothesis_home_dir
        set_hypothesis_home_dir(os.path.join(temp_dir(), "hypothesis"))
    except ImportError:
        pass
    # Text from a fixed alphabet (ASCII, controls, and characters from every UTF-8 length) rather
    # than all of Unicode, whose tables hypothesis would rebuild in its temporary home on each run.
    TEXT_CHARACTERS = "".join(map(chr, range(0x80))) + "\u00e9\u00ff\u0100\u2603\u200b\ufeff\uffff\U0001f600"
    PROPERTIES = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])

    class PropertyTest(unittest.TestCase):
        """Property tests with hypothesis: base64url round trips and strictness, token round trips."""

        @PROPERTIES
        @given(strategies.binary(max_size=300))
        def test_b64url_round_trip(self, data):
            text = scvjwt.b64url_encode(data)
            self.assertTrue(set(text) <= set(B64URL_CHARACTERS))
            self.assertEqual(scvjwt.b64url_decode(text), data)
            self.assertEqual(scvjwt.b64url_decode(text.encode("ascii")), data)

        @PROPERTIES
        @given(strategies.one_of(strategies.text(alphabet=TEXT_CHARACTERS, max_size=40),
                                 strategies.text(alphabet=B64URL_CHARACTERS + "=+/ \n.", max_size=40)))
        def test_b64url_only_canonical_text_decodes(self, text):
            try:
                data = scvjwt.b64url_decode(text)
            except scvjwt.TokenError as error:
                self.assertEqual(error.reason, "malformed")
            else:
                self.assertEqual(scvjwt.b64url_encode(data), text)

        @settings(max_examples=60, deadline=None, database=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(org=strategies.text(alphabet=B64URL_CHARACTERS[:62], min_size=12, max_size=12),
               call_center=strategies.builds(                      # [A-Za-z](_?[A-Za-z0-9]){0,40}
                   lambda first, rest: first + "".join(rest), strategies.sampled_from(B64URL_CHARACTERS[:52]),
                   strategies.lists(strategies.tuples(strategies.sampled_from(["", "_"]),
                                                      strategies.sampled_from(B64URL_CHARACTERS[:62])).map("".join),
                                    max_size=40)),
               ttl=strategies.integers(1, scvjwt.MAX_TTL), skew=strategies.integers(0, 300),
               now=strategies.one_of(strategies.integers(0, 253402300799),
                                     strategies.floats(0, 253402300799, allow_nan=False)),
               jti=strategies.one_of(strategies.none(), strategies.booleans(),
                                     strategies.text(alphabet=TEXT_CHARACTERS, min_size=1, max_size=30)),
               audience=strategies.one_of(strategies.none(),
                                          strategies.text(alphabet=TEXT_CHARACTERS, min_size=1, max_size=30)),
               typ=strategies.booleans())
        def test_token_round_trip(self, org, call_center, ttl, skew, now, jti, audience, typ):
            org_id = "00D" + org
            if ttl + skew > scvjwt.MAX_TTL:
                with self.assertRaises(scvjwt.ClaimsError):
                    scvjwt.mint(SAMPLE_KEY, org_id, call_center, ttl=ttl, now=now, skew=skew)
                return
            token = scvjwt.mint(SAMPLE_KEY, org_id, call_center, ttl=ttl, now=now, jti=jti, audience=audience,
                                typ=typ, skew=skew)
            header, claims = scvjwt.decode_unverified(token)
            self.assertEqual(header, {"alg": "RS256", "typ": "JWT"} if typ else {"alg": "RS256"})
            self.assertEqual((claims["iss"], claims["sub"], claims["exp"]), (org_id, call_center, int(now) + ttl))
            self.assertEqual(claims["iat"], max(int(now) - skew, 0))
            self.assertEqual(claims.get("aud"), audience)
            if jti is True:
                self.assertRegex(claims["jti"], UUID4)
            else:
                self.assertEqual(claims.get("jti"), jti or None)
            verified = scvjwt.verify(token, PUBLIC_KEY, org_id=org_id + scvjwt._org_id_suffix(org_id),
                                     call_center=call_center, now=now, audience=audience)
            self.assertEqual(verified, claims)
            self.assertEqual(list(claims)[:4], ["iat", "exp", "iss", "sub"])
else:
    @unittest.skip("hypothesis is not installed")
    class PropertyTest(unittest.TestCase):
        """Property tests with hypothesis (skipped: hypothesis is not installed)."""

        def test_properties(self):
            raise AssertionError("skipped")


# ------------------------------------------------------------------------------------------------
# The command line, through subprocesses as users run it
# ------------------------------------------------------------------------------------------------

class CommandLineTest(unittest.TestCase):
    """scvjwt token, decode, verify, selftest and demo: exit codes, standard output carrying only
    the result, one 'scvjwt: error:' line for errors, warnings on standard error, no traceback."""

    @classmethod
    def setUpClass(cls):
        cls.folder = temp_dir()
        cls.key_file = write_file(cls.folder, "key.pem", SAMPLE_KEY.to_pem())
        cls.cert_file = write_file(cls.folder, "cert.pem", SAMPLE_CERTIFICATE_PEM)

    def cli(self, *args, **kwargs):
        """run_cli, checking what holds for every run: no traceback, and an error line last on
        standard error whenever the exit status is not 0."""
        status, out, err = run_cli(*args, **kwargs)
        self.assertNotIn("Traceback", out + err)
        if status != 0:
            self.assertTrue(err.strip().splitlines()[-1].startswith("scvjwt: error: "), err)
        return status, out, err

    def token_arguments(self, *extra):
        return ("token", "--key", self.key_file, "--org-id", ORG_ID, "--call-center", CALL_CENTER) + extra

    def assertToken(self, out, **expected_claims):
        """`out` is one line holding a token valid now with the sample key; returns its claims."""
        self.assertEqual(out.count("\n"), 1)
        claims = scvjwt.verify(out.strip(), PUBLIC_KEY)
        for name, value in expected_claims.items():
            self.assertEqual(claims.get(name), value, name)
        return claims

    def test_token(self):
        status, out, err = self.cli(*self.token_arguments())
        self.assertEqual((status, err), (0, ""))
        claims = self.assertToken(out, iss=ORG_ID, sub=CALL_CENTER)
        self.assertEqual(claims["exp"] - claims["iat"], 300)
        self.assertRegex(claims["jti"], UUID4)
        self.assertEqual(scvjwt.decode_unverified(out.strip())[0], {"alg": "RS256", "typ": "JWT"})

    def test_token_options(self):
        status, out, err = self.cli(*self.token_arguments("--ttl", "900", "--no-jti", "--audience",
                                                          "https://scrt.salesforce.com", "--minimal-header",
                                                          "--skew", "30", "--backend", "pure"))
        self.assertEqual((status, err), (0, ""))
        claims = self.assertToken(out, iss=ORG_ID, aud="https://scrt.salesforce.com")
        self.assertNotIn("jti", claims)
        self.assertEqual(claims["exp"] - claims["iat"], 930)
        self.assertEqual(scvjwt.decode_unverified(out.strip())[0], {"alg": "RS256"})
        status, out, err = self.cli("token", "--key", self.key_file, "--org-id", ORG_ID_18, "--call-center", "HVCC")
        self.assertEqual(status, 0, err)
        self.assertToken(out, iss=ORG_ID, sub="HVCC")

    def test_token_formats(self):
        status, out, err = self.cli(*self.token_arguments("--format", "header"))
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("Authorization: Bearer "))
        self.assertToken(out[len("Authorization: Bearer "):])
        status, out, err = self.cli(*self.token_arguments("--format", "json"))
        self.assertEqual(status, 0, err)
        shown = json.loads(out)
        self.assertEqual(shown["header"], {"alg": "RS256", "typ": "JWT"})
        self.assertEqual(shown["claims"], scvjwt.verify(shown["token"], PUBLIC_KEY, ORG_ID, CALL_CENTER))
        status, out, err = self.cli(*self.token_arguments("--format", "token"))
        self.assertEqual(status, 0, err)
        self.assertToken(out)
        status, out, err = self.cli(*self.token_arguments("--format", "yaml"))
        self.assertEqual((status, out), (2, ""))

    def test_key_from_standard_input(self):
        for key in (SAMPLE_KEY.to_pem("pkcs1").encode("ascii"), SAMPLE_KEY._pkcs8_der(),
                    SAMPLE_KEY.to_pem().replace("\n", "\\n").encode("ascii")):
            status, out, err = self.cli("token", "--key", "-", "--org-id", ORG_ID, "--call-center", CALL_CENTER,
                                        input=key)
            self.assertEqual((status, err), (0, ""))
            self.assertToken(out, iss=ORG_ID)

    def test_environment_defaults(self):
        env = {"SCVJWT_KEY_FILE": self.key_file, "SCVJWT_ORG_ID": ORG_ID, "SCVJWT_CALL_CENTER": "HVCC"}
        status, out, err = self.cli("token", env=env)
        self.assertEqual((status, err), (0, ""))
        self.assertToken(out, iss=ORG_ID, sub="HVCC")
        status, out, err = self.cli("token", "--call-center", "scv4cc1", env=env)      # options win
        self.assertEqual(status, 0, err)
        self.assertToken(out, sub="scv4cc1")
        env["SCVJWT_KEY_FILE"] = os.path.join(self.folder, "missing.pem")
        status, out, err = self.cli("token", env=env)
        self.assertEqual((status, out), (2, ""))
        self.assertIn("missing.pem", err)

    def secret(self, call_center="scv4cc1"):
        """An Amazon Connect contact center's SecretString (DOMAIN.md): the JWT key sits next to
        another private key (for Salesforce's OAuth flow) that must never be used."""
        return {
            "SALESFORCE_ORG_ID": ORG_ID,
            "CALL_CENTER_API_NAME": call_center,
            "SCRT_ENDPOINT_BASE": "https://example.my.salesforce-scrt.com",
            "SALESFORCE_REST_API_AUTH_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnot the JWT key\n"
                                                    "-----END PRIVATE KEY-----\n",
            call_center + "-salesforce-rest-api-auth-private-key": "not the JWT key either",
            call_center + "-scrt-jwt-auth-private-key": SAMPLE_KEY.to_pem("pkcs1"),
        }

    def test_secret_json(self):
        secret = self.secret()
        aws_answer = {"ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:scv4cc1-salesforce-secret-AbCdEf",
                      "Name": "scv4cc1-salesforce-secret", "VersionId": "b1c2d3e4-0000-4000-8000-000000000000",
                      "SecretString": json.dumps(secret), "VersionStages": ["AWSCURRENT"],
                      "CreatedDate": "2026-01-01T00:00:00+00:00"}
        for name, content in (("secret.json", secret), ("aws.json", aws_answer)):
            path = write_file(self.folder, name, json.dumps(content, indent=2))
            status, out, err = self.cli("token", "--secret-json", path)
            self.assertEqual((status, err), (0, ""), name)
            self.assertToken(out, iss=ORG_ID, sub="scv4cc1")
            status, out, err = self.cli("token", "--secret-json", "-", input=json.dumps(content).encode("utf-8"))
            self.assertEqual((status, err), (0, ""), name)
            self.assertToken(out, iss=ORG_ID, sub="scv4cc1")
        path = write_file(self.folder, "secret-cc.json", json.dumps(secret))
        status, out, err = self.cli("token", "--secret-json", path, "--call-center", "HVCC")
        self.assertEqual(status, 0, err)                   # the one '...-scrt-jwt-auth-private-key' is found
        self.assertToken(out, sub="HVCC")

    def test_secret_json_refusals(self):
        secret = self.secret()
        del secret["scv4cc1-scrt-jwt-auth-private-key"]
        cases = [json.dumps(secret), "not json", "[1, 2]", '"text"', json.dumps({"SecretString": "{"}),
                 json.dumps(dict(self.secret(), SALESFORCE_ORG_ID="00D5e000001AbCdXXX"))]
        for content in cases:
            path = write_file(self.folder, "bad-secret.json", content)
            status, out, err = self.cli("token", "--secret-json", path)
            self.assertEqual((status, out), (2, ""), content[:40])
            self.assertNotIn("BEGIN", err)
        status, out, err = self.cli("token", "--secret-json", "-", input=b"\xff\xfe{}")
        self.assertEqual((status, out), (2, ""))
        status, out, err = self.cli("token", "--key", "-", "--secret-json", "-", input=SAMPLE_KEY.to_pem().encode())
        self.assertEqual((status, out), (2, ""))
        self.assertIn("standard input", err)

    def test_token_refusals(self):
        cases = [
            (self.token_arguments()[:3] + ("--call-center", CALL_CENTER), "org ID", {}),
            (("token", "--key", self.key_file, "--org-id", "00D5e000001AbCdEAA", "--call-center", CALL_CENTER),
             "checksum", {}),
            (("token", "--key", self.key_file, "--org-id", "0015e000001AbCd", "--call-center", CALL_CENTER),
             "org ID", {}),
            (("token", "--key", self.key_file, "--org-id", ORG_ID), "Call Center", {}),
            (("token", "--key", self.key_file, "--org-id", ORG_ID, "--call-center", "bad name"), "Call Center", {}),
            (("token", "--org-id", ORG_ID, "--call-center", CALL_CENTER), "no key", {}),
            (("token", "--key", os.path.join(self.folder, "missing.pem"), "--org-id", ORG_ID, "--call-center",
              CALL_CENTER), "missing.pem", {}),
            (("token", "--key", self.folder, "--org-id", ORG_ID, "--call-center", CALL_CENTER), "key file", {}),
            (self.token_arguments("--ttl", "0"), "ttl", {}),
            (self.token_arguments("--ttl", "86401"), "ttl", {}),
            (self.token_arguments("--ttl", "five"), "--ttl", {}),
            (self.token_arguments("--skew", "301"), "skew", {}),
            (self.token_arguments("--audience", ""), "audience", {}),
            (self.token_arguments("--backend", "nope"), "--backend", {}),
            (self.token_arguments("--password-env", "SCVJWT_TEST_UNSET"), "SCVJWT_TEST_UNSET", {}),
        ]
        for args, words, env in cases:
            status, out, err = self.cli(*args, env=env)
            self.assertEqual((status, out), (2, ""), args)
            self.assertIn(words, err, args)
        wrong_key = write_file(self.folder, "public.pem", PUBLIC_KEY.to_pem())
        status, out, err = self.cli("token", "--key", wrong_key, "--org-id", ORG_ID, "--call-center", CALL_CENTER)
        self.assertEqual((status, out), (2, ""))
        self.assertIn("public key", err)
        for backend in {"openssl", "cryptography"} - set(scvjwt.backends()):
            status, out, err = self.cli(*self.token_arguments("--backend", backend))
            self.assertEqual((status, out), (1, ""))                        # unavailable: a runtime failure
        status, out, err = self.cli(*self.token_arguments("--password-env", "SCVJWT_TEST_PASSWORD"),
                                    env={"SCVJWT_TEST_PASSWORD": "ignored for a plain key"})
        self.assertEqual((status, err), (0, ""))

    @needs_openssl
    def test_1024_bit_key_warning(self):
        path = write_file(temp_dir(), "small.pem", openssl_key_pem(1024))
        status, out, err = self.cli("token", "--key", path, "--org-id", ORG_ID, "--call-center", CALL_CENTER)
        self.assertEqual(status, 0, err)
        self.assertEqual(out.count("\n"), 1)
        scvjwt.verify(out.strip(), scvjwt.load_public_key(openssl_key_pem(1024)), ORG_ID, CALL_CENTER)
        self.assertTrue(err.startswith("scvjwt: warning: "), err)
        self.assertIn("1024", err)
        status, out, err = self.cli(*self.token_arguments())
        self.assertEqual(err, "")                                             # none for 2048 bits

    @needs_corpus
    def test_wrong_and_encrypted_keys(self):
        for name, words in (("ec_p256_pkcs8.pem", "EC"), ("ed25519_pkcs8.pem", "Ed25519"),
                            ("dsa2048_traditional.pem", "DSA"),
                            ("rsa2048_pkcs8_encrypted_aes256cbc_pbkdf2.pem", "password"),
                            ("rsa2048_pkcs1_legacy_encrypted_aes256.pem", "password")):
            status, out, err = self.cli("token", "--key", os.path.join(key_corpus(), name), "--org-id", ORG_ID,
                                        "--call-center", CALL_CENTER)
            self.assertEqual((status, out), (2, ""), name)
            self.assertIn(words, err, name)

    def test_decode(self):
        expected = {"header": {"alg": "RS256", "typ": "JWT"},
                    "claims": scvjwt.decode_unverified(scvjwt._SAMPLE_TOKEN)[1],
                    "iat_utc": "2026-01-01T00:00:00Z", "exp_utc": "2026-01-01T00:05:00Z"}
        runs = [((scvjwt._SAMPLE_TOKEN,), None), (("-",), scvjwt._SAMPLE_TOKEN.encode("ascii") + b"\n"),
                (("Authorization: Bearer " + scvjwt._SAMPLE_TOKEN,), None),
                (("-",), b"  Authorization: Bearer " + scvjwt._SAMPLE_TOKEN.encode("ascii") + b"\r\n"),
                (("bearer " + scvjwt._SAMPLE_TOKEN,), None)]
        for args, stdin in runs:
            status, out, err = self.cli("decode", *args, input=stdin)
            self.assertEqual((status, err), (0, ""), args)
            shown = json.loads(out)
            seconds_left = shown.pop("seconds_left")
            self.assertEqual(shown, expected)
            self.assertLess(seconds_left, 0)                                   # it expired in 2026
        for bad in ("garbage", "a.b.c", scvjwt._SAMPLE_TOKEN + "."):
            status, out, err = self.cli("decode", bad)
            self.assertEqual((status, out), (2, ""), bad)
            self.assertNotIn(scvjwt._SAMPLE_TOKEN.split(".")[1], err)
        status, out, err = self.cli("decode", "-", input=b"")
        self.assertEqual((status, out), (2, ""))

    def test_verify(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, audience="https://scrt.salesforce.com")
        for args, stdin in (((token,), None), (("-",), token.encode("ascii")),
                            (("Authorization: Bearer " + token,), None)):
            status, out, err = self.cli("verify", *(args + ("--cert", self.cert_file, "--org-id", ORG_ID,
                                                            "--call-center", CALL_CENTER, "--audience",
                                                            "https://scrt.salesforce.com")), input=stdin)
            self.assertEqual((status, err), (0, ""), args)
            shown = json.loads(out)
            self.assertIs(shown["valid"], True)
            self.assertEqual(shown["claims"], scvjwt.decode_unverified(token)[1])
            self.assertTrue(0 < shown["seconds_left"] <= 300)
        public_file = write_file(self.folder, "public.pem", PUBLIC_KEY.to_pem())
        status, out, err = self.cli("verify", token, "--cert", public_file)
        self.assertEqual((status, err), (0, ""))

    def test_verify_invalid(self):
        import time
        late = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=int(time.time()) - 400)   # expired 100 s ago
        cases = [((scvjwt._SAMPLE_TOKEN,), "expired"), ((late,), "expired"),
                 ((scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER), "--org-id", "00DAAAAAAAAAAAA"), "issuer"),
                 ((scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER), "--call-center", "HVCC"), "subject"),
                 ((scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER), "--audience", "https://scrt.salesforce.com"),
                  "audience"),
                 ((with_signature(scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER), b"\x01" * 256),), "signature"),
                 ((signed_token({"alg": "HS256"}, standard_claims()),), "algorithm"),
                 (("not.a.token",), "malformed")]
        for args, reason in cases:
            status, out, err = self.cli("verify", *(args + ("--cert", self.cert_file)))
            self.assertEqual((status, out), (1, ""), reason)
            self.assertIn("(%s)" % reason, err)
            if len(args[0]) > 100:
                self.assertNotIn(args[0].split(".")[-1], err)            # the token is not echoed
        status, out, err = self.cli("verify", late, "--cert", self.cert_file, "--leeway", "200")
        self.assertEqual((status, err), (0, ""))

    def test_verify_bad_certificate(self):
        garbage = write_file(self.folder, "garbage.pem", "not a certificate")
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER)
        for cert in (os.path.join(self.folder, "missing.crt"), garbage, self.folder):
            status, out, err = self.cli("verify", token, "--cert", cert)
            self.assertEqual((status, out), (2, ""), cert)
        status, out, err = self.cli("verify", token)
        self.assertEqual((status, out), (2, ""))
        status, out, err = self.cli("verify", "-", "--cert", "-", input=token.encode("ascii"))
        self.assertEqual((status, out), (2, ""))
        self.assertIn("standard input", err)

    def test_selftest(self):
        status, out, err = self.cli("selftest")
        self.assertEqual((status, err), (0, ""))
        lines = out.strip().splitlines()
        self.assertGreaterEqual(len(lines), 5)
        for line in lines[:-1]:
            self.assertTrue(line.startswith("ok "), line)
        self.assertIn("selftest:", lines[-1])
        self.assertNotIn("FAIL", out)

    def test_demo(self):
        status, out, err = self.cli("demo")
        self.assertEqual((status, err), (0, ""))
        steps = {}
        lines = out.splitlines()
        for index, line in enumerate(lines):
            found = re.match(r"\((\d)\) (.*)", line)
            if found:
                steps[int(found.group(1))] = (found.group(2), index)
        self.assertEqual(sorted(steps), [1, 2, 3, 4, 5, 6])
        self.assertIn('{"alg":"RS256","typ":"JWT"}', steps[1][0])
        header_b64 = steps[2][0].split()[-1]
        self.assertEqual(scvjwt.b64url_decode(header_b64), b'{"alg":"RS256","typ":"JWT"}')
        claims_json = steps[3][0][steps[3][0].index("{"):]
        claims_b64 = steps[4][0].split()[-1]
        self.assertEqual(scvjwt.b64url_decode(claims_b64).decode("utf-8"), claims_json)
        token = steps[6][0].split("Authorization: Bearer ")[1]
        self.assertIn(token, out[:out.index("(6)")])                          # step 5 shows it too
        self.assertEqual(token.split(".")[:2], [header_b64, claims_b64])
        claims = scvjwt.verify(token, PUBLIC_KEY, scvjwt._SAMPLE_ORG_ID, scvjwt._SAMPLE_CALL_CENTER)
        self.assertEqual(json.loads(claims_json), claims)

    def test_usage_errors(self):
        for args in (("frobnicate",), ("token", "--nope"), ("verify",), ("decode",)):
            status, out, err = self.cli(*args)
            self.assertEqual((status, out), (2, ""), args)
        status, out, err = run_cli()
        self.assertEqual((status, out), (2, ""))
        self.assertNotIn("Traceback", err)
        status, out, err = self.cli("--version")
        self.assertEqual((status, out.strip()), (0, "scvjwt " + scvjwt.__version__))

    def test_module_and_isolated_runs(self):
        completed = subprocess.run([sys.executable, "-m", "scvjwt", "decode", scvjwt._SAMPLE_TOKEN], cwd=HERE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(json.loads(completed.stdout.decode("utf-8"))["claims"]["iss"], ORG_ID)
        folder = temp_dir()
        shutil.copy(SCRIPT, folder)                          # copied alone, run with -I -S
        completed = subprocess.run([sys.executable, "-I", "-S", os.path.join(folder, "scvjwt.py"), "selftest"],
                                   cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual((completed.returncode, completed.stderr), (0, b""))

    def test_no_command_is_a_usage_error(self):
        status, out, err = run_cli()
        self.assertEqual((status, out), (2, ""))
        self.assertTrue(err.splitlines()[-1].startswith("scvjwt: error: choose a command"), err)

    def test_two_inputs_from_standard_input_are_named_as_on_the_command_line(self):
        status, out, err = run_cli("verify", "-", "--cert", "-", input=b"")
        self.assertEqual((status, out), (2, ""))
        self.assertIn("not both TOKEN and --cert", err)

    def test_output_closed_early_gives_no_traceback(self):
        process = subprocess.Popen([sys.executable, SCRIPT, "selftest"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read().decode("utf-8", "replace")
        process.stderr.close()
        self.assertNotEqual(process.wait(timeout=60), 0)
        self.assertNotIn("Traceback", err)

    def test_selftest_includes_the_aes_known_answer(self):
        status, out, err = run_cli("selftest")
        self.assertEqual(status, 0, err)
        self.assertIn("ok   AES-128 known answer (FIPS 197 appendix C.1", out)

    def test_secrets_given_where_a_name_goes_are_never_shown(self):
        """PEM text passed as --key or SCVJWT_KEY_FILE, a password passed as --password-file or
        --password-env: refused (exit 2) without a trace of the secret in the message."""
        pem = SAMPLE_KEY.to_pem()
        key = write_file(temp_dir(), "key.pem", pem)
        ids = ("--org-id", ORG_ID, "--call-center", CALL_CENTER)
        runs = [run_cli("token", "--key", pem, *ids), run_cli("token", *ids, env={"SCVJWT_KEY_FILE": pem}),
                run_cli("token", "--key", key, "--password-file", "hunter2-secret", *ids),
                run_cli("token", "--key", key, "--password-env", "hunter2 secret", *ids),
                run_cli("token", "--secret-json", '{"SALESFORCE_ORG_ID": "hunter2-secret"}')]
        for status, out, err in runs:
            self.assertEqual((status, out), (2, ""), err)
            self.assertTrue(err.startswith("scvjwt: error:"), err)
            self.assertNotIn("hunter2", err)
            self.assertNotIn(pem.splitlines()[1][:20], err)

    def test_bare_base64_key_given_as_a_file_name_is_never_shown(self):
        body = "".join(SAMPLE_KEY.to_pem().splitlines()[1:-1])
        status, out, err = run_cli("token", "--key", body, "--org-id", ORG_ID, "--call-center", CALL_CENTER)
        self.assertEqual((status, out), (2, ""))
        self.assertIn("looks like the secret itself", err)
        self.assertNotIn(body[:20], err)

    @unittest.skipUnless(os.name == "posix", "closing standard input from sh")
    def test_closed_standard_input(self):
        completed = subprocess.run(["sh", "-c", '"$0" "$1" decode - <&-', sys.executable, SCRIPT],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = completed.stderr.decode("utf-8", "replace")
        self.assertEqual(completed.returncode, 2, err)
        self.assertIn("standard input, which is closed", err)
        self.assertNotIn("Traceback", err)

# ------------------------------------------------------------------------------------------------
# Backends (issue 3): byte-identical signatures, absent or broken backends, fault checks
# ------------------------------------------------------------------------------------------------


def fake_openssl(folder, script, answers_version=True):
    """A folder holding an executable `openssl` that runs the given shell script; it answers
    `openssl version` as OpenSSL does unless told not to."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "openssl")
    version = 'if [ "$1" = version ]; then echo "OpenSSL 3.0.0 (stub)"; exit 0; fi\n' if answers_version else ""
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n" + version + script + "\n")
    os.chmod(path, 0o755)
    return folder


class PathWith(object):
    """Context manager: PATH set to the given folders only."""

    def __init__(self, *folders):
        self.value = os.pathsep.join(folders)

    def __enter__(self):
        self.saved = os.environ.get("PATH")
        os.environ["PATH"] = self.value
        scvjwt._PROBES.clear()

    def __exit__(self, *exc):
        os.environ["PATH"] = self.saved
        scvjwt._PROBES.clear()


@contextlib.contextmanager
def no_cryptography():
    """`import cryptography...` fails inside, as on a host without the package (every
    cryptography module already imported is hidden, not only the top one), and scvjwt probes
    for the package afresh on the way in and out."""
    hidden = {name: module for name, module in sys.modules.items()
              if name == "cryptography" or name.startswith("cryptography.")}
    sys.modules.update(dict.fromkeys(list(hidden) + ["cryptography"]))
    scvjwt._PROBES.clear()
    try:
        yield
    finally:
        for name in [name for name in sys.modules if name == "cryptography" or name.startswith("cryptography.")]:
            del sys.modules[name]
        sys.modules.update(hidden)
        scvjwt._PROBES.clear()


class BackendEquivalenceTest(unittest.TestCase):
    """Every backend gives the same bytes for the same key and message (PKCS#1 v1.5 is deterministic)."""

    def keys(self):
        if HAVE_CRYPTOGRAPHY:
            sizes = (1024, 2047, 2048, 3072, 3073)
            return [scvjwt.load_private_key(cryptography_pem(cryptography_key(bits, index=9))) for bits in sizes]
        if OPENSSL:
            return [scvjwt.load_private_key(openssl_key_pem(bits)) for bits in (1024, 2048, 3072)]
        self.skipTest("neither cryptography nor openssl is available to compare with")

    def test_every_backend_signs_the_same_bytes(self):
        available = scvjwt.backends()
        self.assertIn("pure", available)
        rng = random.Random(3)
        for key in self.keys():
            for length in (0, 1, 55, 300, 4096):
                message = bytes(rng.getrandbits(8) for _ in range(length))
                signatures = {name: scvjwt.sign_rs256(key, message, backend=name) for name in available}
                self.assertEqual(len(set(signatures.values())), 1, (key.bits, length, sorted(signatures)))
                self.assertTrue(scvjwt.verify_rs256(key.public_key(), message, signatures["pure"]))

    def test_every_backend_mints_the_known_answer_token(self):
        for name in scvjwt.backends():
            token = scvjwt.mint(SAMPLE_KEY, scvjwt._SAMPLE_ORG_ID, scvjwt._SAMPLE_CALL_CENTER, backend=name,
                                now=scvjwt._SAMPLE_NOW, jti=scvjwt._SAMPLE_JTI)
            self.assertEqual(token, scvjwt._SAMPLE_TOKEN, name)

    def test_unknown_backend_is_refused(self):
        for name in ("gmpy", "", "PURE", None, 3):
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend=name)
            self.assertIn("unknown backend", str(caught.exception))

    @needs_cryptography
    def test_minter_prefers_cryptography_for_long_running_work(self):
        minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER)
        self.assertEqual(minter._backends, ["cryptography", "pure"])
        scvjwt.verify(minter.token(), SAMPLE_KEY, ORG_ID, CALL_CENTER)

    @needs_cryptography
    def test_cryptography_key_object_is_made_once_per_key(self):
        key = scvjwt.load_private_key(SAMPLE_KEY.to_pem())
        first = scvjwt._cryptography_key(key)
        scvjwt.sign_rs256(key, b"m", backend="cryptography")
        self.assertIs(scvjwt._cryptography_key(key), first)
        self.assertEqual(first.private_numbers().d, key.d)

    @needs_cryptography
    def test_cryptography_releases_without_unsafe_skip_still_work(self):
        numbers_class = rsa.RSAPrivateNumbers
        original = numbers_class.private_key
        calls = []

        def old_style_private_key(self, backend=None, **kwargs):
            if kwargs:
                raise TypeError("private_key() got an unexpected keyword argument")
            calls.append(backend)
            return original(self)
        numbers_class.private_key = old_style_private_key
        try:
            key = scvjwt.load_private_key(SAMPLE_KEY.to_pem())
            self.assertEqual(scvjwt.sign_rs256(key, b"m", "cryptography"), scvjwt.sign_rs256(key, b"m", "pure"))
        finally:
            numbers_class.private_key = original
        self.assertEqual(calls, [None])

    @needs_cryptography
    def test_cryptography_releases_before_3_3_are_not_used(self):
        """Without recover_data_from_signature (added in 3.3) the check before release cannot be
        made: the package is then not a backend, and auto signs with pure."""
        method = rsa.RSAPublicKey.__dict__["recover_data_from_signature"]
        saved = scvjwt._PROBES.pop("cryptography", None)
        del rsa.RSAPublicKey.recover_data_from_signature
        try:
            self.assertNotIn("cryptography", scvjwt.backends())
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend="cryptography")
            self.assertIn("not available", str(caught.exception))
            self.assertEqual(scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER)._backends, ["pure"])
        finally:
            rsa.RSAPublicKey.recover_data_from_signature = method
            scvjwt._PROBES.pop("cryptography", None)
            if saved is not None:
                scvjwt._PROBES["cryptography"] = saved

    def test_a_huge_integer_as_backend_name_is_summarised(self):
        with self.assertRaises(scvjwt.BackendError) as caught:
            scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend=10 ** 5000)
        self.assertIn("an integer of 16610 bits", str(caught.exception))


class BackendAbsentOrBrokenTest(unittest.TestCase):
    """A missing or broken backend gives BackendError, or under auto a clean fall-back to pure."""

    def big_key(self):
        if HAVE_CRYPTOGRAPHY:
            return scvjwt.load_private_key(cryptography_pem(cryptography_key(3072, index=9)))
        if OPENSSL:
            return scvjwt.load_private_key(openssl_key_pem(3072))
        self.skipTest("no way to make a 3072-bit key quickly here")

    def test_path_without_openssl(self):
        with PathWith(temp_dir()):
            self.assertNotIn("openssl", scvjwt.backends())
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend="openssl")
            self.assertIn("no openssl tool on PATH", str(caught.exception))
            key = self.big_key()
            with no_cryptography():
                self.assertEqual(scvjwt._backend_candidates("auto", key.bits, False), ["pure"])
            self.assertTrue(scvjwt.verify_rs256(key, b"m", scvjwt.sign_rs256(key, b"m")))

    def test_openssl_that_fails_gives_its_own_message(self):
        folder = fake_openssl(temp_dir(), 'echo "unable to load key: stub says no" >&2; exit 3')
        with PathWith(folder):
            self.assertIn("openssl", scvjwt.backends())     # it answers `openssl version`
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend="openssl")
            self.assertIn("exit status 3", str(caught.exception))
            self.assertIn("stub says no", str(caught.exception))
            key = self.big_key()
            with no_cryptography():
                self.assertEqual(scvjwt._backend_candidates("auto", key.bits, False), ["openssl", "pure"])
                signature = scvjwt.sign_rs256(key, b"m")             # falls back to pure
            self.assertTrue(scvjwt.verify_rs256(key, b"m", signature))

    def test_a_tool_that_does_not_answer_as_openssl_never_sees_a_key(self):
        folder = temp_dir()
        log = os.path.join(folder, "log")
        fake_openssl(folder, 'echo "$@" >> %s; echo "not OpenSSL at all"' % log, answers_version=False)
        with PathWith(folder):
            self.assertNotIn("openssl", scvjwt.backends())
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend="openssl")
            self.assertIn("not available", str(caught.exception))
            with no_cryptography():
                self.assertEqual(scvjwt._backend_candidates("auto", 4096, False), ["pure"])
        with open(log) as handle:
            self.assertEqual(set(handle.read().split()), {"version"})   # asked, and given nothing

    def test_openssl_that_prints_garbage_is_never_released(self):
        for script in ('head -c 256 /dev/zero', 'echo garbage', 'head -c 256 /dev/urandom', ''):
            folder = fake_openssl(temp_dir(), 'cat >/dev/null; ' + script)
            with PathWith(folder, "/bin", "/usr/bin"):
                with self.assertRaises(scvjwt.BackendError) as caught:
                    scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend="openssl")
                self.assertIn("not released", str(caught.exception))

    @needs_openssl
    def test_openssl_gets_the_key_through_a_pipe_only(self):
        folder = temp_dir()
        log = os.path.join(folder, "log")
        real = OPENSSL
        fake_openssl(folder, 'echo "$@" >> %s; env >> %s; exec %s "$@"' % (log, log, real))
        with PathWith(folder, os.path.dirname(real)):
            signature = scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend="openssl")
        self.assertEqual(signature, scvjwt.sign_rs256(SAMPLE_KEY, b"message", backend="pure"))
        with open(log) as handle:
            logged = handle.read()
        self.assertRegex(logged, r"dgst -sha256 -sign /dev/fd/\d+")
        self.assertNotIn("PRIVATE KEY", logged)
        body = SAMPLE_KEY.to_pem().splitlines()[1]
        self.assertNotIn(body, logged)

    def test_cryptography_that_does_not_import(self):
        with no_cryptography():
            self.assertNotIn("cryptography", scvjwt.backends())
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend="cryptography")
            self.assertIn("cryptography", str(caught.exception))
            minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER)
            self.assertEqual(minter._backends, ["pure"])
            scvjwt.verify(minter.token(), SAMPLE_KEY, ORG_ID, CALL_CENTER)

    def test_a_failing_backend_falls_back_to_pure_under_auto_only(self):
        def broken(key, message, encoded_message):
            raise scvjwt.BackendError("simulated failure")
        with mock.patch.dict(scvjwt._SIGNERS, cryptography=broken):
            self.assertEqual(scvjwt._sign(SAMPLE_KEY, b"m", ["cryptography", "pure"]),
                             scvjwt.sign_rs256(SAMPLE_KEY, b"m", "pure"))
            with self.assertRaises(scvjwt.BackendError):
                scvjwt._sign(SAMPLE_KEY, b"m", ["cryptography"])


class AutoBackendTest(unittest.TestCase):
    """What backend="auto" imports and picks (README.md, "Backends and speed"). The import stays
    light, and a package is imported only where it pays back: seen from a new interpreter started
    with -S, where no site hook of the host has imported anything yet."""

    HEAVY = {"argparse", "subprocess", "uuid", "threading", "ssl", "http.client", "urllib.request", "base64",
             "random", "shutil", "statistics", "cryptography"}
    RSA_MODULE = "cryptography.hazmat.primitives.asymmetric.rsa"

    def modules_after(self, code):
        """The modules that `import scvjwt` and `code` load in a new interpreter without site
        hooks (-S; this interpreter's sys.path is handed over, so installed packages import)."""
        program = ("import sys; before = set(sys.modules); sys.path[:0] = %r; import scvjwt; %s; "
                   "print(' '.join(set(sys.modules) - before))" % ([HERE] + sys.path, code))
        environment = {name: value for name, value in os.environ.items() if not name.startswith("COVERAGE_")}
        completed = subprocess.run([sys.executable, "-S", "-c", program], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=environment, timeout=120, check=False)
        self.assertEqual((completed.returncode, completed.stderr), (0, b""))
        return set(completed.stdout.decode("ascii").split())

    def big_key_file(self):
        path = os.path.join(temp_dir(), "key.pem")
        with open(path, "wb") as handle:
            handle.write(cryptography_pem(cryptography_key(3072, index=9)))
        return path

    def test_import_loads_no_heavy_module(self):
        self.assertEqual(self.modules_after("pass") & self.HEAVY, set())

    def test_a_single_2048_bit_token_is_signed_without_importing_anything_heavy(self):
        loaded = self.modules_after("scvjwt.mint(scvjwt._sample_key(), %r, %r)" % (ORG_ID, CALL_CENTER))
        self.assertEqual(loaded & self.HEAVY, set())

    @needs_cryptography
    def test_a_single_signature_with_a_bigger_key_imports_a_recent_cryptography(self):
        import cryptography
        if not scvjwt._cryptography_starts_quickly():
            self.skipTest("cryptography %s is older than release 42" % cryptography.__version__)
        loaded = self.modules_after("scvjwt.sign_rs256(open(%r).read(), b'm')" % self.big_key_file())
        self.assertIn(self.RSA_MODULE, loaded)
        self.assertNotIn("subprocess", loaded, "subprocess imported: the openssl tool was started instead")

    @needs_cryptography
    def test_a_release_before_42_is_not_imported_for_a_single_signature(self):
        """Releases before 42 load their older OpenSSL bindings with the first key object (35-75
        ms): a single signature goes to the openssl tool, or pure, instead."""
        loaded = self.modules_after("scvjwt._import_quietly('cryptography').__version__ = '41.0.7'; "
                                    "scvjwt.sign_rs256(open(%r).read(), b'm')" % self.big_key_file())
        self.assertNotIn(self.RSA_MODULE, loaded)

    @needs_cryptography
    def test_candidates(self):
        import cryptography
        self.assertEqual(scvjwt._backend_candidates("auto", 3072, long_running=False), ["cryptography", "pure"])
        self.assertEqual(scvjwt._backend_candidates("auto", 2048, long_running=True), ["cryptography", "pure"])
        releases = (("41.0.7", False), ("42.0.0", True), ("48.0.0", True), ("unknown", False), (None, False))
        for version, quick in releases:
            scvjwt._PROBES.pop("cryptography release", None)
            with mock.patch.object(cryptography, "__version__", version):
                self.assertIs(scvjwt._cryptography_starts_quickly(), quick, version)
        scvjwt._PROBES.pop("cryptography release", None)

    def test_import_warnings_of_a_package_auto_picks_are_silenced(self):
        folder = temp_dir()
        with open(os.path.join(folder, "scvjwt_test_warns.py"), "w") as handle:
            handle.write("import warnings\nwarnings.warn('this Python is no longer supported', UserWarning)\n")
        sys.path.insert(0, folder)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                module = scvjwt._import_quietly("scvjwt_test_warns")
            self.assertEqual((module.__name__, caught), ("scvjwt_test_warns", []))
        finally:
            sys.path.remove(folder)
            sys.modules.pop("scvjwt_test_warns", None)


class FaultCheckTest(unittest.TestCase):
    """A faulty signature never leaves sign_rs256, whichever backend computed it."""

    def corrupted_key(self, name, delta):
        key = scvjwt.load_private_key(SAMPLE_KEY.to_pem())
        object.__setattr__(key, name, getattr(key, name) + delta)
        return key

    def test_corrupted_crt_values_never_yield_a_signature(self):
        for name in ("dp", "dq", "qi"):
            key = self.corrupted_key(name, 2)
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(key, b"message", backend="pure")
            self.assertIn("not released", str(caught.exception))

    def test_faulty_results_from_every_backend_are_refused(self):
        k, n, d = 256, SAMPLE_KEY.n, SAMPLE_KEY.d
        # A message whose signature s starts with a 00 byte, so that without it s is still the
        # right number (only the length check refuses it), and leaves room for s + n in k bytes:
        # the same value mod n.
        message, good = next((m, s) for m, s in ((b"m%d" % i, scvjwt.sign_rs256(SAMPLE_KEY, b"m%d" % i, "pure"))
                                                 for i in range(2000))
                             if s[0] == 0 and int.from_bytes(s, "big") + n < 2 ** (8 * k))
        em = scvjwt._emsa_pkcs1_v15_sha256(message, k)
        t = em[-scvjwt._DIGEST_INFO_LENGTH:]
        longer_t = b"\x00\x01" + b"\xff" * (k - 4 - len(t)) + b"\x00\x00" + t   # good padding, one byte more
        other_hash = em[:-1] + bytes([em[-1] ^ 1])

        def signed(encoded):
            return pow(int.from_bytes(encoded, "big"), d, n).to_bytes(k, "big")
        faulty = {"flipped bit": bytes([good[0] ^ 1]) + good[1:], "short": good[1:], "long": b"\x00" + good,
                  "empty": b"",
                  "modulus plus signature": (int.from_bytes(good, "big") + n).to_bytes(257, "big"),
                  "s + n in k bytes": (int.from_bytes(good, "big") + n).to_bytes(k, "big"),
                  "another message's signature": scvjwt.sign_rs256(SAMPLE_KEY, b"other", "pure"),
                  "a longer T behind good padding": signed(longer_t),
                  "one bit off in the hash": signed(other_hash)}
        if "cryptography" in scvjwt.backends():   # its own check vouches for a good signature: pow() is not needed
            self.assertEqual(scvjwt._cryptography_public_operation(SAMPLE_KEY, good), t)
        for backend in scvjwt.backends():
            for label, signature in faulty.items():
                def faulty_signer(key, message, em, signature=signature):
                    return signature
                with mock.patch.dict(scvjwt._SIGNERS, {backend: faulty_signer}):
                    with self.assertRaises(scvjwt.BackendError, msg=(backend, label)):
                        scvjwt.sign_rs256(SAMPLE_KEY, message, backend=backend)

    @needs_cryptography
    def test_keys_openssl_will_not_use_publicly_sign_on_the_cryptography_backend(self):
        """OpenSSL refuses the public-key operation when e has over 64 bits and n over 3072, so
        its check cannot vouch for such a signature: pow() decides, and a good one is released."""
        numbers = cryptography_key(4096).private_numbers()
        p, q = numbers.p, numbers.q
        e = next(e for e in range(2 ** 64 + 1, 2 ** 65, 2) if math.gcd(e, (p - 1) * (q - 1)) == 1)
        key = scvjwt.RSAPrivateKey(p * q, e, scvjwt._inverse_mod(e, (p - 1) * (q - 1)), p, q)
        if scvjwt._cryptography_public_operation(key, scvjwt.sign_rs256(key, b"m", "pure")) is not None:
            self.skipTest("this OpenSSL makes public-key operations with such keys: nothing falls back to pow()")
        self.assertEqual(scvjwt.sign_rs256(key, b"m", "cryptography"), scvjwt.sign_rs256(key, b"m", "pure"))
        good = scvjwt._sign_cryptography(key, b"m", None)
        with mock.patch.dict(scvjwt._SIGNERS, cryptography=lambda key, message, em: bytes([good[0] ^ 1]) + good[1:]):
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(key, b"m", "cryptography")
            self.assertIn("not released", str(caught.exception))


class BenchAndSelftestCommandTest(unittest.TestCase):
    """selftest covers every backend; bench prints a row per backend."""

    def test_selftest_runs_on_every_backend(self):
        status, out, err = run_cli("selftest")
        self.assertEqual(status, 0, err)
        for name in ("pure",) + (("openssl",) if OPENSSL else ()) + (("cryptography",) if HAVE_CRYPTOGRAPHY else ()):
            self.assertIn("ok   %s backend: known-answer RS256 token" % name, out)
        self.assertNotIn("FAIL", out)

    def test_bench_prints_each_backend(self):
        status, out, err = run_cli("bench", "--seconds", "0.5")
        self.assertEqual(status, 0, err)
        self.assertIn("RSA 2048 bits", out)
        self.assertRegex(out, r"pure: sign_rs256 +\d+\.\d+ +\d+\.\d +\d\.\d\dx reference")
        self.assertIn("reference: the two pow() calls of the CRT", out)
        self.assertRegex(out, r"pure: the check before release +\d+\.\d+ +\d+\.\d +0\.\d\dx pure: sign_rs256")
        self.assertNotIn("openssl: the check before release", out, "the same check as pure's")

    def test_bench_rounds_make_one_call_of_each_case_in_a_new_order(self):
        calls = []
        cases = [(label, lambda label=label: calls.append(label), None) for label in "abcd"]
        samples = scvjwt._bench_samples(cases, seconds=0.0)
        self.assertEqual(calls[:4], list("abcd"), "one warm-up call each, in order")
        rounds = [calls[i:i + 4] for i in range(4, len(calls), 4)]
        self.assertEqual(len(rounds), scvjwt._BENCH_ROUNDS)
        self.assertTrue(all(sorted(one) == list("abcd") for one in rounds))
        self.assertGreater(len(set(map(tuple, rounds))), 1, "the order changes between rounds")
        self.assertEqual({label: len(times) for label, times in samples.items()},
                         dict.fromkeys("abcd", scvjwt._BENCH_ROUNDS))

    def test_bench_rounds_go_on_until_the_time_is_spent(self):
        ticks = itertools.count()
        cases = [(label, lambda: None, None) for label in "ab"]
        samples = scvjwt._bench_samples(cases, seconds=100.0, clock=lambda: float(next(ticks)))
        # The clock moves one tick a reading; the deadline is tick 100. The first _BENCH_ROUNDS
        # rounds take 4 readings each (2 a case), ending at tick 4 * _BENCH_ROUNDS; each further
        # round starts after one reading of the deadline, at every fifth tick while it is below 100.
        rounds = scvjwt._BENCH_ROUNDS + len(range(4 * scvjwt._BENCH_ROUNDS + 1, 100, 5))
        self.assertEqual(rounds, 23, "15 rounds, then 8 more")
        self.assertEqual({label: len(times) for label, times in samples.items()}, {"a": rounds, "b": rounds})
        self.assertEqual(set(samples["a"]) | set(samples["b"]), {1.0})

    def test_bench_table_shows_medians_and_the_median_ratio_of_rounds(self):
        cases = [("base", None, None), ("case", None, "base"), ("zero", None, "base"), ("ratio of zero", None, "zero")]
        samples = {"base": [0.001, 0.002, 0.004], "case": [0.003, 0.004, 0.020], "zero": [0.0, 0.0, 0.0],
                   "ratio of zero": [0.001, 0.001, 0.001]}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            scvjwt._print_bench_table(cases, samples)
        rows = {line[:44].strip(): line[44:].split() for line in out.getvalue().splitlines()[1:]}
        self.assertEqual(rows["base"], ["2.000", "500.0"])
        self.assertEqual(rows["case"], ["4.000", "250.0", "3.00x", "base"], "ratios 3, 2 and 5 of the rounds")
        self.assertEqual(rows["zero"][2:], ["0.00x", "base"])
        self.assertEqual(rows["ratio of zero"][2], "1000000.00x", "a time of 0 counts as one nanosecond")

    def test_bench_refuses_bad_arguments(self):
        for args in (("--bits", "1000"), ("--seconds", "0"), ("--bits", "x")):
            status, out, err = run_cli("bench", *args)
            self.assertEqual(status, 2, args)
            self.assertIn("scvjwt: error:", err)
            self.assertEqual(out, "")

    def test_compare_cases_run_and_summarise(self):
        """The whole-command cases of `bench --compare` (each run once here, not timed) and the
        summary lines they feed."""
        folder = temp_dir()
        key_file = write_file(folder, "bench-key.pem", SAMPLE_KEY.to_pem())
        cases = scvjwt._bench_command_cases(key_file, folder)
        labels = [label for label, _, _ in cases]
        self.assertIn("python3 scvjwt.py token", labels)
        self.assertIn("python3 -m scvjwt token (cached)", labels)
        for _, function, _ in cases:
            function()                                       # raises if the command fails
        samples = {label: [0.05, 0.05] for label in labels}
        samples.update({"python3 -c pass": [0.02, 0.02], "the OpenSSL shell recipe": [0.03, 0.03],
                        "python3 -c 'import jwt' + RSA": [0.2, 0.2],
                        "python3 -c 'import scvjwt' (cached)": [0.025, 0.025]})
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            scvjwt._print_command_summary(samples)
        self.assertIn("python3 scvjwt.py token, above python3 start-up: 1.00x the OpenSSL shell recipe",
                      output.getvalue())
        self.assertIn("36.0x cheaper than import jwt", output.getvalue())


# ------------------------------------------------------------------------------------------------
# request(): the authorized call, against a loopback server that checks every token it receives
# ------------------------------------------------------------------------------------------------


def _scripted_server(script, tls_context=None):
    """A loopback HTTP server on a free port, in a thread. Each request's token is verified as
    Salesforce would (signature with the sample key's public half, iss, sub, jti replay); the
    request is recorded in `server.seen`, and the next action of `script` answers it (the last
    one repeats): (status, headers, body), "reset" (close without answering) or "slow" (answer
    only once `server.release` is set). Stop it with _stop_server."""
    import http.server
    import socketserver
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        disable_nagle_algorithm = True    # the header and body writes go out at once

        def handle_request(self):
            server = self.server
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            authorization = self.headers.get("Authorization", "")
            token = authorization[len("Bearer "):]
            seen = {"method": self.command, "path": self.path, "headers": self.headers, "body": body,
                    "token": token, "claims": None, "error": None}
            try:
                seen["claims"] = scvjwt.verify(token, server.public, ORG_ID, CALL_CENTER,
                                               replay_cache=server.replay_cache)
            except scvjwt.ScvJwtError as error:
                seen["error"] = str(error)
            with server.lock:
                server.seen.append(seen)
                action = server.script[min(len(server.seen), len(server.script)) - 1]
            if seen["error"]:
                action = (401, {}, b'[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]')
            if action == "reset":
                self.close_connection = True
                return
            if action == "slow":
                server.release.wait(10)
                action = (200, {}, b"{}")
            status, headers, answer = action
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_CONNECT = handle_request

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

        def server_bind(self):     # no reverse DNS look-up of the address
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = self.server_address[:2]

        def handle_error(self, request, client_address):
            pass                   # a client that gave up (the deadline tests) is expected

    server = Server(("127.0.0.1", 0), Handler)
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    server.script, server.seen, server.lock = list(script), [], threading.Lock()
    server.public, server.replay_cache = SAMPLE_KEY.public_key(), scvjwt.ReplayCache()
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    return server


def _stop_server(server):
    server.release.set()
    server.shutdown()
    server.server_close()


def _closed_port():
    """A loopback port with nothing listening on it: connections are refused."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SALESFORCE_401 = (401, {"Content-Type": "application/json"},
                  b'[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]')
CREATED = (201, {"Content-Type": "application/json"}, b'{"voiceCallId":"0LQ5e000000AbCdGAA"}')
CALL_JSON = '{"vendorCallKey":"c0ffee-1","to":"+15555550100","from":"+15555550199"}'


class RequestTest(unittest.TestCase):
    """scvjwt.request(): retries, tokens, headers and URLs, with injected sleep (no real waiting)."""

    def serve(self, *script):
        self.server = _scripted_server(script)
        self.addCleanup(_stop_server, self.server)
        self.base = "http://127.0.0.1:%d/telephony/v1" % self.server.server_port
        return self.server

    def call(self, method="POST", url="/voiceCalls", minter=None, **options):
        self.sleeps, self.log = [], []
        options.setdefault("endpoint_base", getattr(self, "base", None))
        options.setdefault("jitter", lambda: 1.0)
        return scvjwt.request(method, url, minter or scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER),
                              sleep=self.sleeps.append, log=self.log.append, **options)

    def assert_fresh_valid_tokens(self, server, count):
        self.assertEqual(len(server.seen), count)
        self.assertEqual([seen["error"] for seen in server.seen], [None] * count)
        jtis = [seen["claims"]["jti"] for seen in server.seen]
        self.assertEqual(len(set(jtis)), count, "a jti was sent twice")
        for seen in server.seen:
            self.assertEqual((seen["claims"]["iss"], seen["claims"]["sub"]), (ORG_ID, CALL_CENTER))
            self.assertFalse(any(seen["token"] in line for line in self.log), "the log holds a token")
        self.assertFalse(any("Bearer" in line for line in self.log))

    def test_created_after_429_with_retry_after_and_503(self):
        server = self.serve((429, {"Retry-After": "2"}, b'[{"message":"slow down","errorCode":"LIMIT"}]'),
                            (503, {}, b""), CREATED)
        response = self.call(data=CALL_JSON, provider="AcmeTelephony")
        self.assertEqual((response.status, response.reason, response.attempts), (201, "Created", 3))
        self.assertEqual(response.body, CREATED[2])
        self.assertEqual(response.headers.get("content-type"), "application/json")
        self.assertEqual(self.sleeps, [2.0, 1.0])    # Retry-After 2 beats 0.5; then 1.0 (jitter 1.0)
        self.assert_fresh_valid_tokens(server, 3)
        for seen in server.seen:
            self.assertEqual((seen["method"], seen["path"]), ("POST", "/telephony/v1/voiceCalls"))
            self.assertEqual(seen["body"], CALL_JSON.encode("ascii"))
            self.assertEqual(seen["headers"]["Content-Type"], "application/json")
            self.assertEqual(seen["headers"]["Content-Length"], str(len(CALL_JSON)))
            self.assertEqual(seen["headers"]["Telephony-Provider-Name"], "AcmeTelephony")
            self.assertIsNone(seen["headers"]["Transfer-Encoding"])
            self.assertEqual(seen["headers"].get_all("Authorization"), ["Bearer " + seen["token"]])
        for seen in server.seen:      # the log shows each attempt's claims instead of its token
            self.assertTrue(any(seen["claims"]["jti"] in line for line in self.log))

    def test_other_4xx_are_final(self):
        for method, script in (("POST", SALESFORCE_401), ("GET", (404, {}, b"")), ("PUT", (400, {}, b""))):
            server = self.serve(script, CREATED)
            response = self.call(method)
            self.assertEqual((response.status, response.attempts, self.sleeps), (script[0], 1, []))
            self.assertEqual(len(server.seen), 1)

    def test_persistent_500_is_bounded(self):
        server = self.serve((500, {}, b"oops"))
        response = self.call("GET", retries=3)
        self.assertEqual((response.status, response.attempts, response.body), (500, 4, b"oops"))
        self.assertEqual(self.sleeps, [0.5, 1.0, 2.0])     # exponential, at most `retries` waits
        self.assert_fresh_valid_tokens(server, 4)
        self.assertEqual(self.call("GET", retries=0).attempts, 1)

    def test_backoff_is_capped_and_jittered(self):
        self.serve((502, {}, b""))
        draws = iter([0.0, 0.25, 0.5, 0.75, 0.999, 0.5, 0.5, 0.5, 0.5, 0.5])
        response = self.call("DELETE", "/voiceCalls/x", retries=10, timeout=3600, jitter=lambda: next(draws))
        self.assertEqual(response.attempts, 11)
        self.assertEqual(self.sleeps[:5], [0.0, 0.25, 1.0, 3.0, 0.999 * 8])
        self.assertEqual(self.sleeps[-1], 0.5 * 30.0)    # min(30, 0.5 * 2**9) with jitter 0.5

    def test_non_idempotent_methods_retry_only_429_and_503(self):
        for method in ("POST", "PATCH"):
            for status, attempts in ((500, 1), (502, 1), (504, 1), (503, 2), (429, 2)):
                self.serve((status, {}, b""), CREATED)
                self.assertEqual(self.call(method, data="{}").attempts, attempts, (method, status))

    def test_connection_reset_is_retried_for_idempotent_methods_only(self):
        server = self.serve("reset", CREATED)
        response = self.call("GET", "/voiceCalls/0LQ")
        self.assertEqual((response.status, response.attempts), (201, 2))
        self.assert_fresh_valid_tokens(server, 2)
        server = self.serve("reset", CREATED)
        with self.assertRaises(scvjwt.BackendError) as caught:
            self.call("POST", data=CALL_JSON)
        self.assertIn("got no answer after 1 attempt", str(caught.exception))
        self.assertEqual((len(server.seen), self.sleeps), (1, []))   # the server may have acted on it

    def test_refused_connection_is_retried_even_for_post(self):
        url = "http://127.0.0.1:%d/telephony/v1/voiceCalls" % _closed_port()
        with self.assertRaises(scvjwt.BackendError) as caught:
            self.call("POST", url, data=CALL_JSON, retries=2)
        self.assertIn("POST %s got no answer after 3 attempts" % url, str(caught.exception))
        self.assertIn("refused", str(caught.exception).lower())
        self.assertEqual(self.sleeps, [0.5, 1.0])

    def test_slow_answer_past_the_deadline(self):
        server = self.serve("slow")
        with self.assertRaises(scvjwt.BackendError) as caught:
            self.call("GET", "/voiceCalls/0LQ", timeout=0.5)
        self.assertIn("no answer within the time left", str(caught.exception))
        self.assertFalse(server.release.is_set())   # the call ended before the server answered
        self.assertEqual(self.sleeps, [])            # no time was left for a retry

    def test_retry_after_past_the_deadline_ends_the_call(self):
        server = self.serve((429, {"Retry-After": "20"}, b""), CREATED)
        response = self.call(timeout=5)
        self.assertEqual((response.status, response.attempts, self.sleeps), (429, 1, []))
        self.assertEqual(len(server.seen), 1)
        self.assertTrue(any("would pass the 5 s timeout" in line for line in self.log))

    def test_retry_after_is_capped(self):
        self.serve((503, {"Retry-After": "86400"}, b""), CREATED)
        self.assertEqual(self.call(timeout=120).status, 201)
        self.assertEqual(self.sleeps, [60.0])

    def test_retry_after_http_date(self):
        import email.utils
        import time
        self.serve((429, {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)}, b""), CREATED)
        self.assertEqual(self.call(timeout=120).status, 201)
        self.assertEqual(len(self.sleeps), 1)
        self.assertTrue(25 <= self.sleeps[0] <= 30, self.sleeps)

    def test_retry_after_values(self):
        for value, seconds in ((None, 0), ("", 0), ("3", 3), (" 7 ", 7), ("-3", 0), ("1.5", 0),
                               ("soon", 0), ("\u00b2", 0), ("9" * 5000, 60), ("120", 60),
                               ("Wed, 21 Oct 2015 07:28:00 GMT", 0)):
            self.assertEqual(scvjwt._retry_after(value), seconds, value)

    def test_redirects_are_not_followed(self):
        server = self.serve((307, {"Location": "http://127.0.0.1:1/elsewhere"}, b""))
        response = self.call(data="{}")
        self.assertEqual((response.status, response.attempts, len(server.seen)), (307, 1, 1))

    def test_url_forms(self):
        server = self.serve(CREATED)
        self.call("GET", "http://127.0.0.1:%d/telephony/v1/voiceCalls/abc?x=1" % server.server_port,
                  endpoint_base=None)
        for base, path, sent in (("", "/voiceCalls/abc/messages", "/telephony/v1/voiceCalls/abc/messages"),
                                 ("/", "/voiceCalls", "/telephony/v1/voiceCalls"),
                                 ("", "//evil.example/x", "/telephony/v1//evil.example/x"),
                                 ("", "/@evil.example:80/x", "/telephony/v1/@evil.example:80/x")):
            self.call("GET", path, endpoint_base=self.base + base)
            self.assertEqual(server.seen[-1]["path"], sent)
            self.assertEqual(server.seen[-1]["headers"]["Host"], "127.0.0.1:%d" % server.server_port)
        self.assertEqual(server.seen[0]["path"], "/telephony/v1/voiceCalls/abc?x=1")
        self.assertEqual(server.seen[0]["method"], "GET")
        self.assertIsNone(server.seen[0]["headers"]["Content-Type"])     # no body, no Content-Type

    def test_bodies_and_extra_headers(self):
        server = self.serve(CREATED)
        self.call("PATCH", "/voiceCalls/0LQ", data={"callStatus": "ENDED", "note": "caf\u00e9"},
                  headers={"X-Trace": " abc\tdef ", "User-Agent": "mine/1"})
        seen = server.seen[-1]
        self.assertEqual(seen["body"], '{"callStatus":"ENDED","note":"caf\u00e9"}'.encode("utf-8"))
        self.assertEqual(seen["headers"]["Content-Length"], str(len(seen["body"])))
        self.assertEqual((seen["headers"]["X-Trace"], seen["headers"]["User-Agent"]), ("abc\tdef", "mine/1"))
        self.call("POST", data=b'["\xc3\xa9"]', headers=[("X-One", "1")])
        self.assertEqual((server.seen[-1]["body"], server.seen[-1]["headers"]["X-One"]), (b'["\xc3\xa9"]', "1"))
        self.assertTrue(server.seen[-1]["headers"]["User-Agent"].startswith("scvjwt/"))
        self.call("POST")      # a POST without body still says how long its (empty) body is
        self.assertEqual((server.seen[-1]["body"], server.seen[-1]["headers"]["Content-Length"]), (b"", "0"))

    def test_a_reusing_minter_sends_its_token_without_jti(self):
        server = self.serve((500, {}, b""), CREATED)
        minter = scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER, reuse=True)
        self.assertEqual(self.call("GET", minter=minter).attempts, 2)
        self.assertEqual([seen["error"] for seen in server.seen], [None, None])
        self.assertEqual(server.seen[0]["token"], server.seen[1]["token"])
        self.assertNotIn("jti", server.seen[0]["claims"])

    def test_bad_arguments_are_refused_before_any_request(self):
        server = self.serve(CREATED)
        huge = '["' + "x" * (1 << 20) + '"]'
        cases = [
            ({"data": '{"vendorCallKey": '}, "not UTF-8 JSON"),
            ({"data": b'"\xff"'}, "not UTF-8 JSON"),
            ({"data": "[" * 100000 + "]" * 100000}, "not UTF-8 JSON"),
            ({"data": huge}, "larger than 1 MiB"),
            ({"data": {1, 2}}, "must be JSON text"),
            ({"data": {"when": object()}}, "cannot be written as JSON"),
            ({"url": "http://192.0.2.10/telephony/v1/voiceCalls"}, "plain http to 192.0.2.10 is refused"),
            ({"url": "http://example.com/x"}, "plain http to example.com is refused"),
            ({"endpoint_base": "http://10.1.2.3/telephony/v1"}, "plain http to 10.1.2.3 is refused"),
            ({"url": "ftp://127.0.0.1/x"}, "not an https:// URL"),
            ({"url": "voiceCalls"}, "neither an https:// URL nor a path"),
            ({"url": "https://user:pw@127.0.0.1/x"}, "user name or password"),
            ({"url": "https://127.0.0.1:99999/x"}, "not a valid URL"),
            ({"url": "https://127.0.0.1/a b"}, "printable ASCII"),
            ({"url": "https://127.0.0.1/\u00e9"}, "printable ASCII"),
            ({"url": None}, "printable ASCII"),
            ({"endpoint_base": None}, "needs an endpoint base"),
            ({"endpoint_base": "https://127.0.0.1/v1?x=1"}, "query or a fragment"),
            ({"endpoint_base": "https://127.0.0.1/v1#"}, "query or a fragment"),
            ({"headers": {"Bad Name": "x"}}, "not an HTTP field name"),
            ({"headers": {"X-Evil": "a\r\nAuthorization: Bearer x"}}, "without CR, LF"),
            ({"headers": {"X-Evil": "caf\u00e9"}}, "printable ASCII"),
            ({"headers": {"authorization": "Bearer stolen"}}, "set by scvjwt itself"),
            ({"headers": {"Content-Length": "1"}}, "set by scvjwt itself"),
            ({"headers": {"Transfer-Encoding": "chunked"}}, "set by scvjwt itself"),
            ({"headers": [("X-A", "1"), ("x-a", "2")]}, "given twice"),
            ({"headers": ["XY"]}, "(name, value) pairs"),
            ({"headers": "X-A: 1"}, "(name, value) pairs"),
            ({"provider": "Acme\nX-Evil: 1"}, "without CR, LF"),
            ({"provider": " "}, "provider name is empty"),
            ({"retries": -1}, "retries must be"), ({"retries": 11}, "retries must be"),
            ({"retries": True}, "retries must be"), ({"timeout": 0}, "timeout must be"),
            ({"timeout": "5"}, "timeout must be"), ({"timeout": 1e9}, "timeout must be"),
            ({"method": "FETCH"}, "not one of GET"), ({"method": None}, "not one of GET"),
            ({"minter": "Bearer x"}, "must be a scvjwt.Minter"),
            ({"ca_file": os.path.join(temp_dir(), "absent.pem"), "url": "https://127.0.0.1/x"},
             "cannot load the CA file"),
        ]
        for options, message in cases:
            options = dict(options)
            method, url = options.pop("method", "POST"), options.pop("url", "/voiceCalls")
            minter = options.pop("minter", scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER))
            options.setdefault("endpoint_base", self.base)
            with self.assertRaises(scvjwt.RequestError) as caught:
                scvjwt.request(method, url, minter, sleep=self.fail, **options)
            self.assertIn(message, str(caught.exception), options)
            self.assertNotIsInstance(caught.exception, scvjwt.BackendError)
            self.assertNotIn("Bearer", str(caught.exception))
        self.assertEqual(server.seen, [])

    def test_https_to_other_hosts_uses_the_proxy_without_the_token(self):
        import unittest.mock
        server = self.serve(CREATED)
        proxy = "http://127.0.0.1:%d" % server.server_port
        environment = {"https_proxy": proxy, "HTTPS_PROXY": proxy, "no_proxy": "", "NO_PROXY": ""}
        with unittest.mock.patch.dict(os.environ, environment):
            with self.assertRaises(scvjwt.BackendError) as caught:   # this proxy refuses the tunnel
                self.call("GET", "https://telephony.invalid/telephony/v1/voiceCalls", retries=0)
        self.assertIn("Tunnel connection failed", str(caught.exception))
        self.assertEqual([(seen["method"], seen["path"]) for seen in server.seen],
                         [("CONNECT", "telephony.invalid:443")])
        self.assertIsNone(server.seen[0]["headers"]["Authorization"])

    def test_loopback_addresses(self):
        for host, loopback in (("127.0.0.1", True), ("127.200.0.9", True), ("::1", True), ("LocalHost", True),
                               ("128.0.0.1", False), ("10.0.0.1", False), ("::2", False),
                               ("localhost.example.com", False), ("0.0.0.0", False)):
            self.assertEqual(scvjwt._is_loopback(host), loopback, host)

    def test_response_repr(self):
        self.serve(CREATED)
        self.assertEqual(repr(self.call()), "<Response 201 Created, %d bytes, 1 attempts>" % len(CREATED[2]))


@needs_openssl
class RequestTlsTest(unittest.TestCase):
    """https to a loopback server with a self-signed certificate: refused, then trusted with ca_file."""

    @classmethod
    def setUpClass(cls):
        import ssl
        folder = temp_dir()
        cls.cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        made = subprocess.run(
            [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cls.cert,
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if made.returncode != 0:
            raise unittest.SkipTest("this openssl cannot make a certificate with -addext")
        cls.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cls.context.load_cert_chain(cls.cert, key)

    def setUp(self):
        self.server = _scripted_server([CREATED], self.context)
        self.addCleanup(_stop_server, self.server)
        self.url = "https://localhost:%d/telephony/v1/voiceCalls" % self.server.server_port

    def test_untrusted_certificate_fails_clearly_without_retries(self):
        sleeps = []
        with self.assertRaises(scvjwt.BackendError) as caught:
            scvjwt.request("POST", self.url, scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER), data="{}",
                           sleep=sleeps.append)
        self.assertIn("the TLS certificate of localhost is not trusted", str(caught.exception))
        self.assertIn("--ca-file", str(caught.exception))
        self.assertEqual((sleeps, self.server.seen), ([], []))

    def test_ca_file_makes_it_trusted(self):
        import unittest.mock
        proxy = "http://127.0.0.1:%d" % _closed_port()     # loopback hosts are reached directly
        with unittest.mock.patch.dict(os.environ, {"https_proxy": proxy, "HTTPS_PROXY": proxy}):
            response = scvjwt.request("POST", self.url, scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER),
                                      data=CALL_JSON, ca_file=self.cert)
        self.assertEqual((response.status, response.body), (201, CREATED[2]))
        self.assertEqual([seen["error"] for seen in self.server.seen], [None])
        self.assertEqual(self.server.seen[0]["body"], CALL_JSON.encode("ascii"))

    def test_host_name_must_match(self):
        other = self.url.replace("localhost", "127.0.0.1")   # the same server, not named in its certificate
        with self.assertRaises(scvjwt.BackendError) as caught:
            scvjwt.request("GET", other, scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER), ca_file=self.cert,
                           sleep=self.fail)
        self.assertIn("is not trusted", str(caught.exception))

    def test_command_line_ca_file(self):
        key_file = write_file(temp_dir(), "key.pem", SAMPLE_KEY.to_pem())
        options = ("--key", key_file, "--org-id", ORG_ID, "--call-center", CALL_CENTER, "--data", "{}")
        status, out, err = run_cli("request", "POST", self.url, *options)
        self.assertEqual(status, 1)
        self.assertIn("scvjwt: error: the TLS certificate of localhost is not trusted", err)
        status, out, err = run_cli("request", "POST", self.url, "--ca-file", self.cert, *options)
        self.assertEqual((status, out, err), (0, CREATED[2].decode("ascii"), ""))


class RequestCommandTest(unittest.TestCase):
    """`scvjwt request` as users run it; real (tiny) waits: Retry-After 0 and short backoffs."""

    def setUp(self):
        self.folder = temp_dir()
        self.key_file = write_file(self.folder, "key.pem", SAMPLE_KEY.to_pem())
        self.signing = ("--key", self.key_file, "--org-id", ORG_ID, "--call-center", CALL_CENTER)

    def serve(self, *script):
        server = _scripted_server(script)
        self.addCleanup(_stop_server, server)
        self.base = "http://127.0.0.1:%d/telephony/v1" % server.server_port
        return server

    def test_created_after_retries(self):
        server = self.serve((429, {"Retry-After": "0"}, b""), CREATED)
        status, out, err = run_cli("request", "POST", "/voiceCalls", "--data", CALL_JSON, "--provider", "Acme",
                                   "--endpoint-base", self.base, *self.signing)
        self.assertEqual((status, out, err), (0, CREATED[2].decode("ascii"), ""))
        self.assertEqual([seen["error"] for seen in server.seen], [None] * 2)
        self.assertEqual(len({seen["claims"]["jti"] for seen in server.seen}), 2)
        for seen in server.seen:
            self.assertEqual((seen["path"], seen["body"]), ("/telephony/v1/voiceCalls", CALL_JSON.encode("ascii")))
            self.assertEqual(seen["headers"]["Telephony-Provider-Name"], "Acme")

    def test_verbose_shows_claims_never_the_token(self):
        server = self.serve((503, {"Retry-After": "0"}, b""), CREATED)
        status, out, err = run_cli("request", "POST", "/voiceCalls", "--data", "{}", "--verbose", "--pretty",
                                   "--endpoint-base", self.base, *self.signing)
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out), json.loads(CREATED[2]))
        self.assertIn('\n  "voiceCallId"', out)
        self.assertIn("< HTTP 201 Created", err)
        self.assertIn("< Content-Type: application/json", err)
        self.assertIn("attempt 2: HTTP 201 Created", err)
        for seen in server.seen:
            self.assertIn(seen["claims"]["jti"], err)
            self.assertNotIn(seen["token"], out + err)
            self.assertNotIn(seen["token"].split(".")[2], out + err)
        self.assertNotIn("Bearer", out + err)

    def test_error_answer(self):
        server = self.serve(SALESFORCE_401)
        status, out, err = run_cli("request", "POST", "/voiceCalls", "--data", "{}", "--endpoint-base", self.base,
                                   *self.signing)
        self.assertEqual(status, 1)
        self.assertEqual(out, SALESFORCE_401[2].decode("ascii"))
        self.assertEqual(err, "scvjwt: error: HTTP 401 Unauthorized: Session expired or invalid "
                              "(INVALID_SESSION_ID)\n")
        self.assertEqual(len(server.seen), 1)

    def test_persistent_500_with_retries(self):
        server = self.serve((500, {"Retry-After": "0"}, b'{"message":"' + b"x" * 500 + b'"}'))
        status, _, err = run_cli("request", "GET", "/voiceCalls/0LQ", "--retries", "1", "--timeout", "10",
                                   "--endpoint-base", self.base, *self.signing)
        self.assertEqual(status, 1)
        self.assertEqual(len(server.seen), 2)
        self.assertTrue(err.startswith("scvjwt: error: HTTP 500 Internal Server Error: xxx"), err)
        self.assertTrue(err.endswith("...\n") and len(err) < 400, err)

    def test_error_summaries(self):
        for body, summary in ((b'[{"message":"a","errorCode":"E1"},{"message":"b"}]', "a (E1); b"),
                              (b'{"message":"bad\\ncall","errorCode":"E2"}', "bad call (E2)"),
                              (b'not json \x1b[31m', "not json ?[31m"), (b"", ""), (b"[1, null]", "[1, null]")):
            self.assertEqual(scvjwt._error_summary(body), summary)

    def test_no_answer_exits_1(self):
        url = "http://127.0.0.1:%d/voiceCalls" % _closed_port()
        status, out, err = run_cli("request", "GET", url, "--retries", "0", *self.signing)
        self.assertEqual((status, out), (1, ""))
        self.assertIn("scvjwt: error: GET %s got no answer after 1 attempt" % url, err)

    def test_endpoint_base_sources(self):
        server = self.serve(CREATED)
        secret = {"SALESFORCE_ORG_ID": ORG_ID, "CALL_CENTER_API_NAME": CALL_CENTER,
                  "SCRT_ENDPOINT_BASE": self.base + "/from-secret",
                  CALL_CENTER + "-scrt-jwt-auth-private-key": SAMPLE_KEY.to_pem()}
        secret_file = write_file(self.folder, "secret.json", json.dumps(secret))
        env = {"SCVJWT_ENDPOINT_BASE": self.base + "/from-env"}
        runs = ((("--secret-json", secret_file), {}, "/from-secret"),
                (("--secret-json", secret_file), env, "/from-env"),
                (("--secret-json", secret_file, "--endpoint-base", self.base + "/from-option"), env, "/from-option"))
        for options, environment, prefix in runs:
            status, _, err = run_cli("request", "GET", "/voiceCalls", *options, env=environment)
            self.assertEqual((status, err), (0, ""))
            self.assertEqual(server.seen[-1]["path"], "/telephony/v1%s/voiceCalls" % prefix)
        status, _, err = run_cli("request", "GET", "/voiceCalls", "--secret-json", "-",
                                   input=json.dumps(secret).encode("utf-8"))
        self.assertEqual((status, server.seen[-1]["path"]), (0, "/telephony/v1/from-secret/voiceCalls"))
        self.assertEqual([seen["error"] for seen in server.seen], [None] * 4)

    def test_data_from_file_and_standard_input(self):
        server = self.serve(CREATED)
        body_file = write_file(self.folder, "call.json", CALL_JSON)
        for data, stdin in (("@" + body_file, None), ("-", CALL_JSON.encode("ascii"))):
            status, _, err = run_cli("request", "POST", "/voiceCalls", "--data", data, "--endpoint-base",
                                       self.base, *self.signing, input=stdin)
            self.assertEqual((status, err), (0, ""))
            self.assertEqual(server.seen[-1]["body"], CALL_JSON.encode("ascii"))

    def test_usage_errors_send_nothing(self):
        server = self.serve(CREATED)
        base = ("--endpoint-base", self.base)
        cases = (
            (("--data", "-", "--key", "-", "--org-id", ORG_ID, "--call-center", CALL_CENTER), "only one input"),
            (("--data", "{oops}") + base + self.signing, "not UTF-8 JSON"),
            (("--data", "@" + os.path.join(self.folder, "absent.json")) + base + self.signing, "cannot read"),
            (("--endpoint-base", "http://192.0.2.10/telephony/v1") + self.signing, "plain http to 192.0.2.10"),
            (self.signing, "needs an endpoint base"),
            (("--header", "no colon") + base + self.signing, "--header takes 'Name: value'"),
            (("--header", "Authorization: Bearer x") + base + self.signing, "set by scvjwt itself"),
            (("--retries", "99") + base + self.signing, "retries must be"),
        )
        for options, message in cases:
            status, out, err = run_cli("request", "POST", "/voiceCalls", *options)
            self.assertEqual((status, out), (2, ""), options)
            self.assertIn(message, err)
            self.assertTrue(err.endswith("\n") and err.splitlines()[-1].startswith("scvjwt: error: "), err)
        self.assertEqual(server.seen, [])

    def test_extra_header_and_no_jti(self):
        server = self.serve((500, {"Retry-After": "0"}, b""), CREATED)
        status, _, err = run_cli("request", "GET", "/voiceCalls/0LQ", "--header", "X-Trace: 42", "--no-jti",
                                   "--ttl", "60", "--endpoint-base", self.base, *self.signing)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual([seen["headers"]["X-Trace"] for seen in server.seen], ["42", "42"])
        self.assertEqual(server.seen[0]["token"], server.seen[1]["token"])   # reused: it has no jti
        self.assertEqual([seen["error"] for seen in server.seen], [None, None])
# ------------------------------------------------------------------------------------------------
# Encrypted private keys: AES known answers, PBES2 PKCS#8, legacy OpenSSL PEM, DES-EDE3-CBC
# through the backends, hostile and damaged input, the password options of the command line
# ------------------------------------------------------------------------------------------------


PASSWORD = "correct horse \u2713"          # not ASCII: a str password is used as UTF-8
PRFS = ("hmacWithSHA1", "hmacWithSHA224", "hmacWithSHA256", "hmacWithSHA384", "hmacWithSHA512")
AES_CIPHERS = ("aes-128-cbc", "aes-192-cbc", "aes-256-cbc")
OID_PBES2, OID_PBKDF2 = "1.2.840.113549.1.5.13", "1.2.840.113549.1.5.12"
OID_HMAC_SHA1, OID_AES128_CBC = "1.2.840.113549.2.7", "2.16.840.1.101.3.4.1.2"
needs_openssl_backend = unittest.skipUnless(OPENSSL and os.name == "posix",
                                            "scvjwt decrypts through the openssl tool on POSIX hosts only")


@contextlib.contextmanager
def no_openssl_tool():
    """The openssl tool is not on PATH inside."""
    with mock.patch.dict(os.environ, {"PATH": temp_dir()}):
        yield


@contextlib.contextmanager
def no_third_party():
    with no_cryptography(), no_openssl_tool():
        yield


def openssl_pkcs8(pem, *options, password=PASSWORD):
    """The key encrypted by `openssl pkcs8 -topk8 OPTIONS`, as PEM bytes."""
    return run_openssl("pkcs8", "-topk8", "-passout", "pass:" + password, *options, input=pem)


def openssl_legacy(pem, cipher_option, password=PASSWORD):
    """The key as legacy encrypted PEM, as `openssl rsa -traditional -aes256` etc. write it."""
    return run_openssl("rsa", "-traditional", cipher_option, "-passout", "pass:" + password, input=pem)


def der_oid(dotted):
    arcs = [int(arc) for arc in dotted.split(".")]
    body = b""
    for arc in [40 * arcs[0] + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.insert(0, 0x80 | (arc & 0x7F))
        body += bytes(chunk)
    return scvjwt._der_encode(0x06, body)


def der_octets(data):
    return scvjwt._der_encode(0x04, data)


def der_seq(*elements):
    return scvjwt._der_encode_sequence(*elements)


def pbes2_pieces(der):
    """(salt, iterations, iv, ciphertext) of an EncryptedPrivateKeyInfo openssl wrote."""
    outer = scvjwt._der_sequence(der, 2, 2, "test")
    pbes2 = scvjwt._der_items(scvjwt._der_items(outer[0][1], 2, 2, "test")[1][1], 2, 2, "test")
    kdf_parameters = scvjwt._der_items(scvjwt._der_items(pbes2[0][1], 2, 2, "test")[1][1], 2, 4, "test")
    iv = scvjwt._der_items(pbes2[1][1], 2, 2, "test")[1][1]
    return kdf_parameters[0][1], int.from_bytes(kdf_parameters[1][1], "big"), iv, outer[1][1]


def pbes2_der(salt, iterations, iv, ciphertext, cipher=OID_AES128_CBC, prf=b"", key_length=None,
              salt_element=None, scheme=OID_PBES2, kdf=OID_PBKDF2):
    """An EncryptedPrivateKeyInfo with PBES2 built from its pieces (RFC 8018 A.2, A.4)."""
    kdf_parameters = [salt_element or der_octets(salt), scvjwt._der_encode_uint(iterations)]
    if key_length is not None:
        kdf_parameters.append(scvjwt._der_encode_uint(key_length))
    if prf:
        kdf_parameters.append(prf)
    parameters = der_seq(der_seq(der_oid(kdf), der_seq(*kdf_parameters)), der_seq(der_oid(cipher), der_octets(iv)))
    return der_seq(der_seq(der_oid(scheme), parameters), der_octets(ciphertext))


class AesKnownAnswersTest(unittest.TestCase):
    """AES decryption against FIPS 197 appendix C and NIST SP 800-38A appendix F.2."""

    def decrypt_block(self, key_hex, block_hex):
        schedule = scvjwt._aes_decryption_schedule(bytes.fromhex(key_hex))
        return scvjwt._aes_decrypt_block(schedule, bytes.fromhex(block_hex)).hex()

    def test_fips_197_appendix_c(self):
        cases = [   # C.1 AES-128, C.2 AES-192, C.3 AES-256: the inverse cipher's output
            ("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"),
            ("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"),
            ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
             "8ea2b7ca516745bfeafc49904b496089"),
        ]
        for key, ciphertext in cases:
            with self.subTest(key_bits=len(key) * 4):
                self.assertEqual(self.decrypt_block(key, ciphertext), "00112233445566778899aabbccddeeff")

    def test_sp_800_38a_cbc_decrypt(self):
        iv = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
        plaintext = bytes.fromhex(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
        cases = [   # F.2.2 CBC-AES128.Decrypt, F.2.4 CBC-AES192.Decrypt, F.2.6 CBC-AES256.Decrypt
            ("2b7e151628aed2a6abf7158809cf4f3c",
             "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
             "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"),
            ("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
             "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
             "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd"),
            ("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
             "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
             "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"),
        ]
        for key, ciphertext in cases:
            with self.subTest(key_bits=len(key) * 4):
                self.assertEqual(scvjwt._aes_cbc_decrypt(bytes.fromhex(key), iv, bytes.fromhex(ciphertext)),
                                 plaintext)

    def test_sbox_computed_from_its_definition(self):
        sbox, inv_sbox = scvjwt._aes_tables()[:2]
        self.assertEqual((sbox[0x00], sbox[0x01], sbox[0x53], sbox[0xFF]), (0x63, 0x7C, 0xED, 0x16))
        self.assertEqual(sorted(sbox), list(range(256)))
        self.assertEqual([inv_sbox[sbox[x]] for x in range(256)], list(range(256)))

    def test_tables_are_built_at_first_use_not_at_import(self):
        completed = subprocess.run(
            [sys.executable, "-c", "import scvjwt; print(len(scvjwt._AES_TABLES)); "
             "scvjwt._aes_tables(); print(len(scvjwt._AES_TABLES))"],
            cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
        self.assertEqual(completed.stdout.split(), [b"0", b"1"])

    @needs_cryptography
    def test_cbc_matches_cryptography_on_random_inputs(self):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        rng = random.Random(197)
        for key_bytes in (16, 24, 32):
            for blocks in (1, 2, 7):
                key = bytes(rng.getrandbits(8) for _ in range(key_bytes))
                iv = bytes(rng.getrandbits(8) for _ in range(16))
                plaintext = bytes(rng.getrandbits(8) for _ in range(16 * blocks))
                encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
                ciphertext = encryptor.update(plaintext) + encryptor.finalize()
                self.assertEqual(scvjwt._aes_cbc_decrypt(key, iv, ciphertext), plaintext)

    def test_cbc_refuses_partial_blocks(self):
        for size in (0, 1, 15, 17, 47):
            with self.subTest(size=size), self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt._aes_cbc_decrypt(bytes(16), bytes(16), bytes(size))
            self.assertIn("16-byte AES blocks", str(caught.exception))

    def test_padding_removal_is_strict(self):
        self.assertEqual(scvjwt._remove_padding(b"A" * 15 + b"\x01"), b"A" * 15)
        self.assertEqual(scvjwt._remove_padding(b"A" * 16 + b"\x10" * 16), b"A" * 16)
        self.assertEqual(scvjwt._remove_padding(b"A" * 13 + b"\x03\x03\x03"), b"A" * 13)
        for padded in (b"", b"A" * 15 + b"\x00", b"A" * 15 + b"\x11", b"A" * 14 + b"\x01\x02",
                       b"A" * 13 + b"\x02\x03\x03", b"\x10" * 15 + b"\x11", b"\x20" * 32):
            with self.subTest(padded=padded), self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt._remove_padding(padded)
            self.assertIn("wrong password", str(caught.exception))


@needs_openssl
class EncryptedPkcs8Test(unittest.TestCase):
    """ENCRYPTED PRIVATE KEY (PBES2) as `openssl pkcs8 -topk8 -v2 ...` writes it, read in pure Python."""

    @classmethod
    def setUpClass(cls):
        cls.plain_pem = openssl_key_pem(1024)
        cls.expected = scvjwt.load_private_key(cls.plain_pem)

    def test_every_cipher_and_prf_in_pem_and_der_with_no_third_party_package(self):
        for cipher in AES_CIPHERS:
            for prf in PRFS:
                pem = openssl_pkcs8(self.plain_pem, "-v2", cipher, "-v2prf", prf)
                der = pem_body_der(pem)
                with self.subTest(cipher=cipher, prf=prf), no_third_party():
                    self.assertEqual(scvjwt.load_private_key(pem, PASSWORD), self.expected)
                    self.assertEqual(scvjwt.load_private_key(der, PASSWORD.encode("utf-8")), self.expected)
                    self.assertEqual(scvjwt.load_private_key(pem.decode("ascii"), PASSWORD), self.expected)
                if prf == "hmacWithSHA1":   # the default PRF: openssl leaves it out
                    self.assertNotIn(der_oid(OID_HMAC_SHA1), der)

    def test_der_written_by_openssl(self):
        der = openssl_pkcs8(self.plain_pem, "-v2", "aes-256-cbc", "-outform", "DER")
        with no_third_party():
            self.assertEqual(scvjwt.load_private_key(der, PASSWORD), self.expected)

    def test_password_as_str_bytes_bytearray_memoryview(self):
        pem = openssl_pkcs8(self.plain_pem, "-v2", "aes-128-cbc")
        encoded = PASSWORD.encode("utf-8")
        for password in (PASSWORD, encoded, bytearray(encoded), memoryview(encoded)):
            with self.subTest(type=type(password).__name__):
                self.assertEqual(scvjwt.load_private_key(pem, password), self.expected)
        with self.assertRaises(scvjwt.KeyFormatError) as caught:
            scvjwt.load_private_key(pem, 1234)
        self.assertIn("str or bytes", str(caught.exception))

    def test_explicit_default_prf_and_matching_key_length_are_read(self):
        der = pem_body_der(openssl_pkcs8(self.plain_pem, "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"))
        salt, iterations, iv, ciphertext = pbes2_pieces(der)
        self.assertEqual(pbes2_der(salt, iterations, iv, ciphertext), der)   # the builder is faithful
        sha1 = der_seq(der_oid(OID_HMAC_SHA1), b"\x05\x00")
        for variant in (dict(prf=sha1), dict(key_length=16), dict(key_length=16, prf=sha1),
                        dict(prf=der_seq(der_oid(OID_HMAC_SHA1)))):
            with self.subTest(**{k: v.hex() if isinstance(v, bytes) else v for k, v in variant.items()}):
                self.assertEqual(scvjwt.load_private_key(pbes2_der(salt, iterations, iv, ciphertext, **variant),
                                                         PASSWORD), self.expected)

    def test_key_of_another_type_is_named_after_decryption(self):
        ec_pem = run_openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
        encrypted = openssl_pkcs8(ec_pem, "-v2", "aes-128-cbc")
        with self.assertRaises(scvjwt.KeyFormatError) as caught:
            scvjwt.load_private_key(encrypted, PASSWORD)
        self.assertIn("EC key", str(caught.exception))


@needs_openssl
class LegacyEncryptedPemTest(unittest.TestCase):
    """'Proc-Type: 4,ENCRYPTED' PEM as `openssl rsa -aes128|-aes192|-aes256` writes it."""

    @classmethod
    def setUpClass(cls):
        cls.plain_pem = openssl_key_pem(1024)
        cls.expected = scvjwt.load_private_key(cls.plain_pem)
        cls.aes256 = openssl_legacy(cls.plain_pem, "-aes256")

    def test_aes_128_192_256_with_no_third_party_package(self):
        for option, cipher in (("-aes128", "AES-128-CBC"), ("-aes192", "AES-192-CBC"), ("-aes256", "AES-256-CBC")):
            pem = openssl_legacy(self.plain_pem, option)
            self.assertIn(b"DEK-Info: " + cipher.encode("ascii") + b",", pem)
            with self.subTest(cipher=cipher), no_third_party():
                self.assertEqual(scvjwt.load_private_key(pem, PASSWORD), self.expected)

    def test_pem_damaged_in_transport(self):
        text = self.aes256.decode("ascii")
        for damaged in (text.replace("\n", "\\n"), text.replace("\n", "\r\n"), text.replace("\n", " "),
                        '"' + text.replace("\n", "\\n") + '"'):
            with self.subTest(damaged=damaged[:60]):
                self.assertEqual(scvjwt.load_private_key(damaged, PASSWORD), self.expected)

    def test_md5_is_asked_for_outside_security_use(self):
        if sys.version_info < (3, 9):
            self.skipTest("usedforsecurity arrived in Python 3.9")
        real_md5 = scvjwt.hashlib.md5
        calls = []

        def md5(*args, **kwargs):
            calls.append(kwargs)
            return real_md5(*args, **kwargs)
        with mock.patch.object(scvjwt.hashlib, "md5", md5):
            self.assertEqual(scvjwt.load_private_key(self.aes256, PASSWORD), self.expected)
        self.assertTrue(calls)
        self.assertTrue(all(kwargs == {"usedforsecurity": False} for kwargs in calls))

    def test_host_refusing_md5_gives_a_clear_error(self):
        refusal = ValueError("[digital envelope routines] unsupported")
        with mock.patch.object(scvjwt.hashlib, "md5", side_effect=refusal):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_private_key(self.aes256, PASSWORD)
        self.assertIn("refuses MD5", str(caught.exception))

    def test_bad_headers(self):
        text = self.aes256.decode("ascii")
        dek_info = next(line for line in text.splitlines() if line.startswith("DEK-Info:"))
        iv_hex = dek_info.split(",")[1]
        cases = {
            "Proc-Type 4,MIC-CLEAR": text.replace("4,ENCRYPTED", "4,MIC-CLEAR"),
            "no DEK-Info": text.replace(dek_info + "\n", ""),
            "IV not hex": text.replace(iv_hex, "ZZ" + iv_hex[2:]),
            "IV of 8 bytes": text.replace(iv_hex, iv_hex[:16]),
            "no IV": text.replace("," + iv_hex, ""),
            "cipher name not a name": text.replace("AES-256-CBC", "AES/256;CBC"),
        }
        for name, damaged in cases.items():
            with self.subTest(name), self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.load_private_key(damaged, PASSWORD)


@needs_cryptography
class EncryptedByCryptographyTest(unittest.TestCase):
    """Keys the cryptography package encrypts with BestAvailableEncryption, read without it."""

    def test_best_available_encryption(self):
        key = cryptography_key(1024)
        expected = scvjwt.load_private_key(cryptography_pem(key))
        encryption = serialization.BestAvailableEncryption(PASSWORD.encode("utf-8"))
        forms = {
            "PKCS#8 PEM": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption),
            "PKCS#8 DER": key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, encryption),
            "traditional PEM": key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.TraditionalOpenSSL, encryption),
        }
        for name, data in forms.items():
            with self.subTest(name), no_third_party():
                self.assertEqual(scvjwt.load_private_key(data, PASSWORD), expected)


@needs_corpus
class EncryptedKeyCorpusTest(unittest.TestCase):
    """The encrypted files of ../shared/tools/make-test-keys.sh (passphrase test-passphrase)."""

    PASSPHRASE = "test-passphrase"

    def test_aes_files_in_pure_python(self):
        for bits in (1024, 2048, 3072, 4096):
            expected = scvjwt.load_private_key(corpus_file("rsa%d_pkcs8.pem" % bits))
            names = ["rsa%d_pkcs1_legacy_encrypted_aes256.pem" % bits,
                     "rsa%d_pkcs8_encrypted_aes256cbc_pbkdf2.pem" % bits]
            if bits == 2048:
                names.append("rsa2048_pkcs8_encrypted_aes256cbc_pbkdf2.der")
            for name in names:
                with self.subTest(name), no_third_party():
                    self.assertEqual(scvjwt.load_private_key(corpus_file(name), self.PASSPHRASE), expected)
                    with self.assertRaises(scvjwt.KeyFormatError) as caught:
                        scvjwt.load_private_key(corpus_file(name), "not-the-passphrase")
                    self.assertIn("wrong password", str(caught.exception))

    def test_public_key_from_a_file_with_an_encrypted_key_and_its_certificate(self):
        certificate = corpus_file("rsa2048_selfsigned_cert.pem")
        expected = scvjwt.load_public_key(corpus_file("rsa2048_public_spki.pem"))
        for name in ("rsa2048_pkcs8_encrypted_aes256cbc_pbkdf2.pem", "rsa2048_pkcs1_legacy_encrypted_aes256.pem"):
            encrypted = corpus_file(name)
            with self.subTest(name):
                self.assertEqual(scvjwt.load_public_key(encrypted + certificate), expected)
                self.assertEqual(scvjwt.load_public_key(certificate + encrypted), expected)
                self.assertEqual(scvjwt.load_private_key(certificate + encrypted, self.PASSPHRASE).public_key(),
                                 expected)

    @needs_openssl_backend
    def test_des3_file_through_a_backend_or_a_clear_error(self):
        data = corpus_file("rsa2048_pkcs1_legacy_encrypted_des3.pem")
        expected = scvjwt.load_private_key(corpus_file("rsa2048_pkcs8.pem"))
        self.assertEqual(scvjwt.load_private_key(data, self.PASSPHRASE), expected)   # openssl is here
        with no_third_party(), self.assertRaises(scvjwt.KeyFormatError) as caught:
            scvjwt.load_private_key(data, self.PASSPHRASE)
        message = str(caught.exception)
        for word in ("DES-EDE3-CBC", "cryptography", "openssl"):
            self.assertIn(word, message)


@needs_openssl
class Des3ThroughBackendsTest(unittest.TestCase):
    """DES-EDE3-CBC (legacy PEM from `openssl rsa -des3`, and PBES2 with des3) through the
    cryptography package or the openssl tool, each alone, and neither."""

    @classmethod
    def setUpClass(cls):
        cls.plain_pem = openssl_key_pem(1024)
        cls.expected = scvjwt.load_private_key(cls.plain_pem)
        cls.keys = {"legacy PEM": openssl_legacy(cls.plain_pem, "-des3"),
                    "PBES2 des3": openssl_pkcs8(cls.plain_pem, "-v2", "des3")}

    @needs_openssl_backend
    def test_openssl_tool_alone(self):
        for name, data in self.keys.items():
            with self.subTest(name), no_cryptography():
                self.assertEqual(scvjwt.load_private_key(data, PASSWORD), self.expected)
                for wrong in ("Tr0ub4dor&3", ""):
                    with self.assertRaises(scvjwt.KeyFormatError) as caught:
                        scvjwt.load_private_key(data, wrong)
                    # The tool says "bad decrypt" when the CBC padding is wrong, but about one
                    # wrong password in 256 leaves valid padding and the tool then fails on the DER.
                    self.assertIn("wrong password, corrupted key", str(caught.exception))
                    self.assertIn("the openssl tool failed", str(caught.exception))
                    self.assertNotIn("Tr0ub4dor", str(caught.exception))

    @needs_openssl_backend
    def test_openssl_tool_gets_no_secret_on_its_command_line_or_in_its_environment(self):
        real_popen = subprocess.Popen
        calls = []

        def popen(args, **kwargs):
            calls.append((args, kwargs))
            return real_popen(args, **kwargs)
        with no_cryptography(), mock.patch.object(subprocess, "Popen", popen):
            self.assertEqual(scvjwt.load_private_key(self.keys["legacy PEM"], PASSWORD), self.expected)
        calls = [(args, kwargs) for args, kwargs in calls if "pkey" in args]
        self.assertEqual(len(calls), 1)
        args, kwargs = calls[0]
        command_line = " ".join(args)
        self.assertNotIn(PASSWORD, command_line)
        self.assertNotIn("BEGIN", command_line)
        self.assertLessEqual(set(kwargs["env"]), {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR"} |
                             {name for name in kwargs["env"] if name.startswith("OPENSSL_")})
        self.assertNotIn(PASSWORD, " ".join(kwargs["env"].values()))
        self.assertRegex(command_line, r"-passin fd:\d+$")
        self.assertEqual(len(kwargs["pass_fds"]), 1)

    @needs_openssl_backend
    def test_openssl_tool_cannot_take_a_password_with_a_newline(self):
        with no_cryptography(), self.assertRaises(scvjwt.KeyFormatError) as caught:
            scvjwt.load_private_key(self.keys["legacy PEM"], "two\nlines")
        self.assertIn("one line", str(caught.exception))
        self.assertNotIn("two", str(caught.exception))

    @needs_cryptography
    def test_cryptography_alone(self):
        for name, data in self.keys.items():
            with self.subTest(name), no_openssl_tool():
                self.assertEqual(scvjwt.load_private_key(data, PASSWORD), self.expected)
                for wrong in ("Tr0ub4dor&3", ""):   # cryptography takes b"" for no password
                    with self.assertRaises(scvjwt.KeyFormatError) as caught:
                        scvjwt.load_private_key(data, wrong)
                    self.assertIn("wrong password or corrupted key", str(caught.exception))

    def test_neither_backend_names_the_cipher_and_the_backends(self):
        for name, data in self.keys.items():
            with self.subTest(name), no_third_party(), self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_private_key(data, PASSWORD)
            message = str(caught.exception)
            for word in ("DES-EDE3-CBC", "cryptography", "openssl"):
                self.assertIn(word, message)

    def test_iteration_bound_is_checked_before_any_backend_runs(self):
        salt, _, iv, ciphertext = pbes2_pieces(pem_body_der(self.keys["PBES2 des3"]))
        crafted = pbes2_der(salt, 10000001, iv, ciphertext, cipher="1.2.840.113549.3.7")
        with mock.patch.object(subprocess, "Popen", side_effect=AssertionError("openssl ran")), \
                mock.patch.object(scvjwt, "_decrypt_with_cryptography", side_effect=AssertionError("ran")):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_private_key(crafted, PASSWORD)
        self.assertIn("10,000,000", str(caught.exception))


@needs_openssl
class EncryptedKeyErrorsTest(unittest.TestCase):
    """Wrong and missing passwords, truncated, tampered and crafted encrypted keys: always a
    KeyFormatError with a clear message, never noise taken for a key, never another exception."""

    @classmethod
    def setUpClass(cls):
        cls.plain_pem = openssl_key_pem(1024)
        cls.expected = scvjwt.load_private_key(cls.plain_pem)
        cls.pkcs8_pem = openssl_pkcs8(cls.plain_pem, "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256")
        cls.pkcs8_der = pem_body_der(cls.pkcs8_pem)
        cls.legacy_pem = openssl_legacy(cls.plain_pem, "-aes128")
        cls.pieces = pbes2_pieces(cls.pkcs8_der)

    def assert_refused(self, data, password=PASSWORD, words=()):
        try:
            key = scvjwt.load_private_key(data, password)
        except scvjwt.KeyFormatError as error:
            for word in words:
                self.assertIn(word, str(error))
            if password:
                self.assertNotIn(str(password), str(error))
            return str(error)
        self.fail("accepted a damaged key: %r" % key)

    def test_wrong_password(self):
        for name, data in (("PBES2", self.pkcs8_pem), ("PBES2 DER", self.pkcs8_der), ("legacy", self.legacy_pem)):
            for password in ("Tr0ub4dor&3", "", PASSWORD + " ", PASSWORD.upper()):
                with self.subTest(name, password=password):
                    self.assert_refused(data, password, ["wrong password or corrupted key"])

    def test_missing_password_asks_for_one(self):
        for data in (self.pkcs8_pem, self.pkcs8_der, self.legacy_pem):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_private_key(data)
            self.assertIn("encrypted: give its password", str(caught.exception))
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.mint(data, ORG_ID, CALL_CENTER)
            self.assertIn("encrypted: give its password", str(caught.exception))

    def test_public_key_from_encrypted_private_key_data(self):
        for data in (self.pkcs8_pem, self.pkcs8_der, self.legacy_pem):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_public_key(data)
            self.assertIn("give the certificate or public key instead, or load the private key with "
                          "its password", str(caught.exception))

    def test_truncated(self):
        salt, iterations, iv, ciphertext = self.pieces
        for size in range(0, len(self.pkcs8_der), 23):
            with self.subTest(der_bytes=size):
                self.assert_refused(self.pkcs8_der[:size])
        for cut in (1, 15, 16, 32, len(ciphertext) - 16):
            with self.subTest(ciphertext_cut=cut):
                self.assert_refused(pbes2_der(salt, iterations, iv, ciphertext[:-cut], cipher="2.16.840.1.101.3.4.1.42",
                                              prf=der_seq(der_oid("1.2.840.113549.2.9"), b"\x05\x00")))
        lines = self.legacy_pem.decode("ascii").splitlines()
        for keep in (len(lines) - 2, len(lines) - 3, 5):
            with self.subTest(legacy_lines=keep):
                self.assert_refused("\n".join(lines[:keep] + lines[-1:]))

    def test_tampered_ciphertext_and_iv(self):
        der = self.pkcs8_der
        offset = len(der) - len(self.pieces[3])
        for position in range(offset + 7, len(der), 16):    # one byte in every block
            with self.subTest(block=(position - offset) // 16):
                self.assert_refused(der[:position] + bytes((der[position] ^ 0x01,)) + der[position + 1:])
        iv_at = der.index(self.pieces[2])
        self.assert_refused(der[:iv_at] + bytes((der[iv_at] ^ 0x80,)) + der[iv_at + 1:])
        text = self.legacy_pem.decode("ascii")
        iv_hex = text.split("DEK-Info: AES-128-CBC,")[1][:32]
        self.assert_refused(text.replace(iv_hex, ("0" if iv_hex[0] != "0" else "1") + iv_hex[1:]))

    def test_iteration_count_bound_refused_before_any_computation(self):
        salt, _, iv, ciphertext = self.pieces
        for iterations in (10000001, 0, 2 ** 64, 2 ** 8000):
            crafted = pbes2_der(salt, iterations, iv, ciphertext)
            with self.subTest(iterations_bits=iterations.bit_length()), \
                    mock.patch.object(scvjwt.hashlib, "pbkdf2_hmac", side_effect=AssertionError("PBKDF2 ran")):
                self.assert_refused(crafted, words=["iteration count outside 1 to 10,000,000"])

    def test_absurd_or_unsupported_salts(self):
        _, iterations, iv, ciphertext = self.pieces
        self.assert_refused(pbes2_der(b"", iterations, iv, ciphertext), words=["salt has 0 bytes"])
        self.assert_refused(pbes2_der(b"s" * 1025, iterations, iv, ciphertext), words=["salt has 1025 bytes"])
        other_source = der_seq(der_oid("1.2.3.4"))
        self.assert_refused(pbes2_der(b"", iterations, iv, ciphertext, salt_element=other_source),
                            words=["otherSource"])

    def test_wrong_password_with_padding_that_looks_right(self):
        # One wrong password in 256 decrypts to a last byte of 01, valid padding: the structure
        # check must still call it a wrong password. Found by decrypting the last block only.
        text = self.legacy_pem.decode("ascii")
        iv = bytes.fromhex(text.split("DEK-Info: AES-128-CBC,")[1][:32])
        ciphertext = scvjwt._key_blocks(text, "test")[0][0][2]
        for attempt in range(4000):
            password = "attempt-%d" % attempt
            key = scvjwt._openssl_legacy_key(password.encode("ascii"), iv[:8], 16)
            if scvjwt._aes_cbc_decrypt(key, ciphertext[-32:-16], ciphertext[-16:])[-1] == 1:
                break
        else:
            self.fail("no password with valid-looking padding in 4000 attempts (chance about 1e-7)")
        self.assert_refused(self.legacy_pem, password, ["wrong password or corrupted key"])

    def test_prf_parameters_other_than_null(self):
        salt, iterations, iv, ciphertext = self.pieces
        prf = der_seq(der_oid("1.2.840.113549.2.9"), scvjwt._der_encode_uint(0))
        self.assert_refused(pbes2_der(salt, iterations, iv, ciphertext, prf=prf), words=["NULL or absent"])

    def test_key_length_that_does_not_match_the_cipher(self):
        salt, iterations, iv, ciphertext = self.pieces
        self.assert_refused(pbes2_der(salt, iterations, iv, ciphertext, key_length=32), words=["key length"])

    def test_iv_of_the_wrong_length(self):
        salt, iterations, iv, ciphertext = self.pieces
        for size in (0, 8, 15, 17):
            with self.subTest(iv_bytes=size):
                self.assert_refused(pbes2_der(salt, iterations, iv[:1] * size, ciphertext), words=["IV"])

    def test_schemes_and_ciphers_not_read_are_named(self):
        salt, iterations, iv, ciphertext = self.pieces
        pbes1 = der_seq(der_seq(der_oid("1.2.840.113549.1.5.3"), der_seq(der_octets(salt[:8]),
                                scvjwt._der_encode_uint(2048))), der_octets(ciphertext))
        cases = {
            "PBES1 pbeWithMD5AndDES-CBC": pbes1,
            "AES-128-GCM": pbes2_der(salt, iterations, iv[:12], ciphertext, cipher="2.16.840.1.101.3.4.1.6"),
            "hmacWithSHA512-256": pbes2_der(salt, iterations, iv, ciphertext,
                                            prf=der_seq(der_oid("1.2.840.113549.2.13"), b"\x05\x00")),
            "scrypt": openssl_pkcs8(self.plain_pem, "-scrypt"),
            "PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC": openssl_pkcs8(self.plain_pem, "-v1", "PBE-SHA1-3DES"),
            "OID 1.2.3.4": pbes2_der(salt, iterations, iv, ciphertext, cipher="1.2.3.4"),
        }
        for name, data in cases.items():
            with self.subTest(name):
                self.assert_refused(data, words=[name, "openssl pkcs8 -topk8 -v2 aes-256-cbc"])

    def test_oversized_encrypted_key_refused_before_decryption(self):
        salt, iterations, iv, _ = self.pieces
        crafted = pbes2_der(salt, iterations, iv, bytes(70000))
        with mock.patch.object(scvjwt.hashlib, "pbkdf2_hmac", side_effect=AssertionError("PBKDF2 ran")):
            self.assert_refused(crafted, words=["64 KiB"])


@needs_openssl
class PasswordOptionsTest(unittest.TestCase):
    """token --password-env VAR, --password-file PATH, and the prompt on a terminal."""

    @classmethod
    def setUpClass(cls):
        cls.folder = temp_dir()
        plain = openssl_key_pem(1024)
        cls.public = scvjwt.load_private_key(plain).public_key()
        cls.pkcs8 = write_file(cls.folder, "pkcs8.pem", openssl_pkcs8(plain, "-v2", "aes-256-cbc"))
        cls.legacy = write_file(cls.folder, "legacy.pem", openssl_legacy(plain, "-aes256"))
        cls.des3 = write_file(cls.folder, "des3.pem", openssl_legacy(plain, "-des3"))
        cls.plain = write_file(cls.folder, "plain.pem", plain)

    def token_args(self, key, *extra):
        return ["token", "--key", key, "--org-id", ORG_ID, "--call-center", CALL_CENTER] + list(extra)

    def assert_token(self, status, out, err):
        self.assertEqual(status, 0, err)
        scvjwt.verify(out.strip(), self.public, ORG_ID, CALL_CENTER)

    def test_password_env(self):
        for key in (self.pkcs8, self.legacy):
            self.assert_token(*run_cli(*self.token_args(key, "--password-env", "KEY_PASSWORD"),
                                       env={"KEY_PASSWORD": PASSWORD}))

    def test_password_file_first_line_without_its_line_end(self):
        for ending in ("\n", "\r\n", "", "\nsecond line\n"):
            path = write_file(temp_dir(), "password", (PASSWORD + ending).encode("utf-8"))
            with self.subTest(ending=ending):
                self.assert_token(*run_cli(*self.token_args(self.pkcs8, "--password-file", path)))

    def test_password_file_from_standard_input(self):
        self.assert_token(*run_cli(*self.token_args(self.legacy, "--password-file", "-"),
                                   input=(PASSWORD + "\n").encode("utf-8")))

    def test_password_env_and_file_together_are_a_usage_error(self):
        path = write_file(temp_dir(), "password", PASSWORD.encode("utf-8"))
        status, out, err = run_cli(*self.token_args(self.pkcs8, "--password-env", "KEY_PASSWORD",
                                                    "--password-file", path), env={"KEY_PASSWORD": PASSWORD})
        self.assertEqual((status, out), (2, ""))
        self.assertIn("not allowed with", err.splitlines()[-1])

    def test_no_password_and_standard_input_not_a_terminal(self):
        for key in (self.pkcs8, self.legacy):
            status, out, err = run_cli(*self.token_args(key), input=b"")
            self.assertEqual((status, out), (2, ""))
            self.assertEqual(len(err.splitlines()), 1)
            self.assertIn("scvjwt: error: the private key is encrypted", err)
            self.assertIn("--password-env", err)
            self.assertIn("--password-file", err)

    def test_wrong_password_unset_variable_and_missing_file(self):
        status, out, err = run_cli(*self.token_args(self.pkcs8, "--password-env", "KEY_PASSWORD"),
                                   env={"KEY_PASSWORD": "hunter2"})
        self.assertEqual((status, out), (2, ""))
        self.assertIn("wrong password or corrupted key", err)
        self.assertNotIn("hunter2", err)
        unset = "SCVJWT_TEST_UNSET_VARIABLE"
        self.assertNotIn(unset, os.environ)
        status, out, err = run_cli(*self.token_args(self.pkcs8, "--password-env", unset))
        self.assertEqual(status, 2)
        self.assertIn(unset + " (--password-env) is not set", err)
        status, out, err = run_cli(*self.token_args(self.pkcs8, "--password-file",
                                                    os.path.join(temp_dir(), "absent")))
        self.assertEqual(status, 2)
        self.assertIn("cannot read the password file", err)

    def test_pure_python_without_site_packages_or_openssl(self):
        env = dict(os.environ, PATH=temp_dir(), KEY_PASSWORD=PASSWORD)
        for key in (self.pkcs8, self.legacy):
            completed = subprocess.run([sys.executable, "-I", "-S", SCRIPT] +
                                       self.token_args(key, "--password-env", "KEY_PASSWORD"),
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
            self.assert_token(completed.returncode, completed.stdout.decode(), completed.stderr.decode())
        completed = subprocess.run([sys.executable, "-I", "-S", SCRIPT] +
                                   self.token_args(self.des3, "--password-env", "KEY_PASSWORD"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
        self.assertEqual(completed.returncode, 2)
        self.assertIn(b"DES-EDE3-CBC", completed.stderr)

    def main_on_a_terminal(self, key, getpass_result):
        """scvjwt.main() for `token --key KEY` with standard input a terminal and getpass mocked."""
        terminal = mock.Mock()
        terminal.isatty.return_value = True
        output = io.StringIO()
        with mock.patch.object(sys, "stdin", terminal), \
                mock.patch("getpass.getpass", **getpass_result) as getpass, \
                contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
            status = scvjwt.main(self.token_args(key))
        return status, output.getvalue(), getpass

    def test_prompt_when_standard_input_is_a_terminal(self):
        status, out, getpass = self.main_on_a_terminal(self.legacy, {"return_value": PASSWORD})
        self.assert_token(status, out, "")
        getpass.assert_called_once()
        status, out, getpass = self.main_on_a_terminal(self.plain, {"side_effect": AssertionError("asked")})
        self.assert_token(status, out, "")                 # an unencrypted key: no question
        status, out, getpass = self.main_on_a_terminal(self.legacy, {"side_effect": EOFError})
        self.assertEqual((status, out), (2, ""))

    @unittest.skipUnless(sys.platform.startswith("linux"), "needs a Linux pseudo-terminal")
    def test_prompt_through_a_real_terminal_does_not_echo(self):
        import pty
        import select
        pid, terminal = pty.fork()
        if pid == 0:   # pragma: no cover - the child becomes scvjwt
            try:
                os.execv(sys.executable, [sys.executable, SCRIPT] + self.token_args(self.pkcs8))
            finally:
                os._exit(127)
        seen, answered = b"", False
        try:
            while True:
                ready = select.select([terminal], [], [], 30)[0]
                if not ready:
                    break
                try:
                    chunk = os.read(terminal, 4096)
                except OSError:   # Linux: EIO once the child has gone
                    break
                if not chunk:
                    break
                seen += chunk
                if not answered and b"Password for the private key: " in seen:
                    os.write(terminal, PASSWORD.encode("utf-8") + b"\n")
                    answered = True
        finally:
            os.close(terminal)
            _, status = os.waitpid(pid, 0)
        self.assertTrue(answered, seen)
        self.assertEqual(os.WEXITSTATUS(status), 0, seen)
        self.assertNotIn(PASSWORD.encode("utf-8"), seen)
        tokens = [line for line in seen.split(b"\n") if line.startswith(b"eyJ")]   # stderr shares the terminal
        self.assertEqual(len(tokens), 1, seen)
        scvjwt.verify(tokens[0].strip().decode("ascii"), self.public, ORG_ID, CALL_CENTER)


# ------------------------------------------------------------------------------------------------
# Keys without OpenSSL: key generation, to_pem, self-signed certificates, keygen and check
# ------------------------------------------------------------------------------------------------

_GENERATED = {}


def generated_key(bits=2048):
    """A key made by scvjwt.generate_private_key, once per run: pure-Python generation is slow."""
    if bits not in _GENERATED:
        _GENERATED[bits] = scvjwt.generate_private_key(bits)
    return _GENERATED[bits]


def independent_miller_rabin(n, rounds=12, bases=None):
    """Miller-Rabin written apart from scvjwt's: random bases from random.SystemRandom, or the
    given bases (the first twelve primes decide every n below 3.3 * 10**24 exactly)."""
    if n < 2:
        return False
    for small in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % small == 0:
            return n == small
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    rng = random.SystemRandom()
    for a in bases or [rng.randrange(2, n - 1) for _ in range(rounds)]:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


DETERMINISTIC_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def utc_epoch(*fields):
    import calendar
    return calendar.timegm(tuple(fields) + (0,) * (6 - len(fields)) + (0, 0, 0))


def rebuild_certificate(der, tbs_index, element):
    """The certificate `der` with element `tbs_index` of its TBSCertificate (the [0] version
    counts as 0) replaced by the DER `element`; the signature no longer matches, which the
    readers under test do not look at."""
    certificate = scvjwt._der_sequence(der, 3, 3, "certificate")
    fields = scvjwt._der_items(certificate[0][1], 6, 10, "tbs")
    encoded = [scvjwt._der_encode(tag, contents) for tag, contents in fields]
    encoded[tbs_index] = element
    rest = [scvjwt._der_encode(tag, contents) for tag, contents in certificate[1:]]
    return scvjwt._der_encode_sequence(scvjwt._der_encode_sequence(*encoded), *rest)


def crypto_not_valid(cert):
    """(not_valid_before, not_valid_after) as naive UTC datetimes, for old and new cryptography."""
    if hasattr(cert, "not_valid_before_utc"):
        return (cert.not_valid_before_utc.replace(tzinfo=None), cert.not_valid_after_utc.replace(tzinfo=None))
    return cert.not_valid_before, cert.not_valid_after


def openssl_result(*args, **kwargs):
    """Run the openssl tool: (exit status, stdout, stderr) as text."""
    completed = subprocess.run([OPENSSL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               **kwargs)
    return (completed.returncode, completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"))


class GeneratePrivateKeyTest(unittest.TestCase):
    """generate_private_key: FIPS 186-5 A.1.1 criteria, checked independently."""

    def assert_fips_criteria(self, key, bits):
        half = bits // 2
        self.assertEqual(key.bits, bits)
        self.assertEqual(key.n.bit_length(), bits)
        self.assertEqual(key.e, 65537)
        for prime in (key.p, key.q):
            self.assertEqual(prime.bit_length(), half)
            self.assertEqual(prime >> (half - 2), 3, "the top two bits of p and q are set")
            self.assertEqual(math.gcd(key.e, prime - 1), 1)
            self.assertTrue(independent_miller_rabin(prime), "an independent test calls a generated prime composite")
        self.assertEqual(key.p * key.q, key.n)
        self.assertGreater(abs(key.p - key.q), 2 ** (half - 100))
        lcm = (key.p - 1) * (key.q - 1) // math.gcd(key.p - 1, key.q - 1)
        self.assertEqual(key.e * key.d % lcm, 1)
        self.assertTrue(2 ** half < key.d < lcm)
        self.assertEqual(key.dp, key.d % (key.p - 1))
        self.assertEqual(key.dq, key.d % (key.q - 1))
        self.assertEqual(key.qi * key.q % key.p, 1)

    def test_2048_bit_key_meets_the_fips_criteria(self):
        self.assert_fips_criteria(generated_key(2048), 2048)

    def test_1024_bit_keys_meet_the_criteria_and_differ(self):
        first, second = scvjwt.generate_private_key(1024), scvjwt.generate_private_key(1024)
        self.assert_fips_criteria(first, 1024)
        self.assert_fips_criteria(second, 1024)
        self.assertNotEqual(first.n, second.n)

    def test_larger_odd_exponent(self):
        key = scvjwt.generate_private_key(1024, e=2 ** 255 + 1)
        self.assertEqual(key.e, 2 ** 255 + 1)
        self.assertEqual(key.e * key.d % ((key.p - 1) * (key.q - 1) // math.gcd(key.p - 1, key.q - 1)), 1)

    def test_q_too_close_to_p_is_drawn_again(self):
        from unittest import mock
        p, q = generated_key(2048).p, generated_key(2048).q
        close = p + 2
        while not independent_miller_rabin(close, bases=DETERMINISTIC_BASES[:6]):
            close += 2
        self.assertLessEqual(close - p, 2 ** (1024 - 100))
        with mock.patch.object(scvjwt, "_random_prime", side_effect=[p, close, q]) as draw:
            key = scvjwt.generate_private_key(2048)
        self.assertEqual(draw.call_count, 3)
        self.assertEqual((key.p, key.q), (p, q))

    def test_miller_rabin_rounds_are_those_of_fips_186_5_table_b1(self):
        self.assertEqual(scvjwt._MILLER_RABIN_ROUNDS, {1024: 7, 2048: 5, 3072: 4, 4096: 4})

    @needs_cryptography
    def test_cryptography_checks_and_reads_the_generated_key(self):
        key = generated_key(2048)
        for fmt in ("pkcs8", "pkcs1"):
            # cryptography runs OpenSSL's RSA key check (primality of p and q included) on load
            loaded = serialization.load_pem_private_key(key.to_pem(fmt).encode("ascii"), None)
            numbers = loaded.private_numbers()
            self.assertEqual((numbers.public_numbers.n, numbers.public_numbers.e), (key.n, key.e))
            self.assertEqual({numbers.p, numbers.q}, {key.p, key.q})
            self.assertEqual((numbers.d, numbers.dmp1, numbers.dmq1, numbers.iqmp),
                             (key.d, key.dp, key.dq, key.qi))

    @needs_openssl
    def test_openssl_checks_the_generated_key(self):
        key = generated_key(2048)
        for fmt in ("pkcs8", "pkcs1"):
            status, out, err = openssl_result("rsa", "-check", "-noout", input=key.to_pem(fmt).encode("ascii"))
            self.assertEqual(status, 0, err)
            self.assertIn("RSA key ok", out)

    def test_prime_search_on_small_sizes_finds_only_primes(self):
        product = scvjwt._odd_primes_product(scvjwt._TRIAL_DIVISION_BOUND)
        for _ in range(150):
            prime = scvjwt._random_prime(64, 65537, 7, product)
            self.assertEqual(prime >> 62, 3)
            self.assertTrue(independent_miller_rabin(prime, bases=DETERMINISTIC_BASES), prime)
            self.assertNotEqual((prime - 1) % 65537, 0)
        for _ in range(10):
            prime = scvjwt._random_prime(256, 3, 7, product)
            self.assertEqual(prime.bit_length(), 256)
            self.assertNotEqual((prime - 1) % 3, 0, "gcd(p - 1, 3) = 1")
            self.assertTrue(independent_miller_rabin(prime, rounds=20))

    def test_odd_primes_product(self):
        self.assertEqual(scvjwt._odd_primes_product(30), 3 * 5 * 7 * 11 * 13 * 17 * 19 * 23 * 29)
        self.assertEqual(scvjwt._odd_primes_product(3), 1)

    def test_miller_rabin_separates_primes_from_composites(self):
        for n in range(5, 5000, 2):
            is_prime = all(n % f for f in range(3, int(n ** 0.5) + 1, 2))
            self.assertEqual(scvjwt._miller_rabin(n, 40), is_prime, n)
        # Carmichael numbers and strong pseudoprimes to several small bases are still composite
        for n in (561, 41041, 825265, 3215031751, 3825123056546413051, 318665857834031151167461):
            self.assertFalse(scvjwt._miller_rabin(n, 40), n)
        mersenne = [2 ** 127 - 1, 2 ** 521 - 1, 2 ** 607 - 1]
        for prime in mersenne:
            self.assertTrue(scvjwt._miller_rabin(prime, 5))
        self.assertFalse(scvjwt._miller_rabin(mersenne[0] * mersenne[1], 5))
        self.assertFalse(scvjwt._miller_rabin(2 ** 521 + 1, 5))

    def test_bad_arguments_are_key_format_errors(self):
        for bits in (512, 1000, 2047, 2049, 8192, 16384, 0, -2048, 2048.0, "2048", True, None):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.generate_private_key(bits)
            self.assertIn("2048, 3072 or 4096", str(caught.exception))
        for e in (3, 17, 65535, 65536, 65538, 2 ** 256 + 1, 2 ** 256, -65537, 65537.0, "65537", True, None):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.generate_private_key(2048, e)
            self.assertIn("exponent", str(caught.exception))


class KeyToPemTest(unittest.TestCase):
    """to_pem writes exactly what the readers read, byte for byte what openssl and cryptography write."""

    def test_round_trip_through_the_readers(self):
        for key in (SAMPLE_KEY, generated_key(2048)):
            for fmt, label in (("pkcs8", "PRIVATE KEY"), ("pkcs1", "RSA PRIVATE KEY")):
                pem = key.to_pem(fmt)
                self.assertTrue(pem.startswith("-----BEGIN %s-----\n" % label))
                self.assertEqual(scvjwt.load_private_key(pem), key)
                self.assertEqual(scvjwt.load_private_key(pem).to_pem(fmt), pem)
            public_pem = key.public_key().to_pem()
            self.assertTrue(public_pem.startswith("-----BEGIN PUBLIC KEY-----\n"))
            self.assertEqual(scvjwt.load_public_key(public_pem), key.public_key())
            self.assertEqual(scvjwt.load_public_key(public_pem).to_pem(), public_pem)

    @needs_openssl
    def test_identical_to_openssl(self):
        pem = openssl_key_pem(2048)
        key = scvjwt.load_private_key(pem)
        self.assertEqual(key.to_pem().encode("ascii"), pem)
        _, pkcs1, _ = openssl_result("rsa", "-traditional", input=pem)
        self.assertEqual(key.to_pem("pkcs1"), pkcs1)
        _, public, _ = openssl_result("pkey", "-pubout", input=pem)
        self.assertEqual(key.public_key().to_pem(), public)

    @needs_openssl
    def test_openssl_reads_what_scvjwt_writes(self):
        key = generated_key(2048)
        folder = temp_dir()
        for fmt in ("pkcs8", "pkcs1"):
            path = write_file(folder, fmt + ".pem", key.to_pem(fmt))
            status, out, err = openssl_result("pkey", "-in", path, "-pubout")
            self.assertEqual(status, 0, err)
            self.assertEqual(out, key.public_key().to_pem())
        path = write_file(folder, "public.pem", key.public_key().to_pem())
        status, out, err = openssl_result("pkey", "-pubin", "-in", path, "-pubout")
        self.assertEqual((status, out), (0, key.public_key().to_pem()), err)

    @needs_cryptography
    def test_identical_to_cryptography(self):
        private = cryptography_key(2048)
        key = scvjwt.load_private_key(cryptography_pem(private))
        self.assertEqual(key.to_pem("pkcs8").encode("ascii"), cryptography_pem(private, "pkcs8"))
        self.assertEqual(key.to_pem("pkcs1").encode("ascii"), cryptography_pem(private, "pkcs1"))
        public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        self.assertEqual(key.public_key().to_pem().encode("ascii"), public)

    def test_unknown_format_is_refused(self):
        for fmt in ("der", "PKCS8", "pkcs#1", "", None, 8):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                SAMPLE_KEY.to_pem(fmt)
            self.assertIn("'pkcs8' or 'pkcs1'", str(caught.exception))


class SelfSignedCertificateTest(unittest.TestCase):
    """self_signed_certificate, and the certificate reader `check` uses."""

    @classmethod
    def setUpClass(cls):
        cls.pem = scvjwt.self_signed_certificate(SAMPLE_KEY, CALL_CENTER, days=365, now=NOW)
        cls.der = pem_body_der(cls.pem)

    def test_contents_read_back(self):
        self.assertTrue(self.pem.startswith("-----BEGIN CERTIFICATE-----\n"))
        self.assertTrue(self.pem.endswith("-----END CERTIFICATE-----\n"))
        self.assertEqual(scvjwt.load_public_key(self.pem), SAMPLE_KEY.public_key())
        self.assertEqual(scvjwt._certificate_subject(self.der), "CN=" + CALL_CENTER)
        self.assertEqual(scvjwt._certificate_validity(self.der), (NOW, NOW + 365 * 86400))
        fields = scvjwt._certificate_fields(self.der)
        self.assertEqual(fields[2], fields[4], "issuer = subject")
        serial = fields[0][1]
        self.assertEqual(len(serial), 16)
        self.assertEqual(serial[0] & 0xC0, 0x40, "positive, and no leading zero byte needed")
        tbs, algorithm, signature = scvjwt._der_sequence(self.der, 3, 3, "certificate")
        self.assertEqual(scvjwt._der_oid_text(scvjwt._der_items(algorithm[1], 2, 2, "alg")[0], "alg"),
                         "1.2.840.113549.1.1.11")
        self.assertTrue(scvjwt.verify_rs256(SAMPLE_KEY.public_key(), scvjwt._der_encode(*tbs),
                                            scvjwt._der_bit_string_bytes(signature, "signature")))

    def test_serial_numbers_are_random(self):
        serials = {scvjwt._certificate_fields(pem_body_der(
            scvjwt.self_signed_certificate(SAMPLE_KEY, "a", now=NOW)))[0][1] for _ in range(5)}
        self.assertEqual(len(serials), 5)

    def test_a_token_signed_by_the_key_verifies_against_the_certificate(self):
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW + 60)
        claims = scvjwt.verify(token, self.pem, ORG_ID, CALL_CENTER, now=NOW + 60)
        self.assertEqual(claims["iss"], ORG_ID)
        other = scvjwt.self_signed_certificate(generated_key(2048), CALL_CENTER, now=NOW)
        with self.assertRaises(scvjwt.TokenError) as caught:
            scvjwt.verify(token, other, now=NOW + 60)
        self.assertEqual(caught.exception.reason, "signature")

    @needs_openssl
    def test_openssl_verifies_and_shows_it(self):
        folder = temp_dir()
        for name, key in (("sample", SAMPLE_KEY), ("generated", generated_key(2048))):
            path = write_file(folder, name + ".pem", scvjwt.self_signed_certificate(key, CALL_CENTER, now=NOW))
            status, out, err = openssl_result("verify", "-attime", str(NOW + 3600), "-CAfile", path, path)
            self.assertEqual(status, 0, out + err)
            self.assertIn(": OK", out)
            status, out, err = openssl_result("verify", "-x509_strict", "-attime", str(NOW + 3600),
                                                 "-CAfile", path, path)
            self.assertEqual(status, 0, out + err)
        path = write_file(folder, "cert.pem", self.pem)
        status, text, err = openssl_result("x509", "-in", path, "-noout", "-text")
        self.assertEqual(status, 0, err)
        for expected in ("Version: 3 (0x2)", "Signature Algorithm: sha256WithRSAEncryption",
                         "Issuer: CN = " + CALL_CENTER, "Subject: CN = " + CALL_CENTER,
                         "Not Before: Jan  1 00:00:00 2026 GMT", "Not After : Jan  1 00:00:00 2027 GMT",
                         "X509v3 Basic Constraints: critical", "CA:FALSE", "X509v3 Subject Key Identifier"):
            self.assertIn(expected, text)
        status, _, err = openssl_result("verify", "-attime", str(NOW + 400 * 86400), "-CAfile", path, path)
        self.assertNotEqual(status, 0, "openssl must refuse the certificate after it expired")

    @needs_cryptography
    def test_cryptography_reads_it_and_checks_the_signature(self):
        import datetime
        from cryptography import x509
        from cryptography.x509.oid import NameOID, SignatureAlgorithmOID
        cert = x509.load_pem_x509_certificate(self.pem.encode("ascii"))
        self.assertEqual(cert.version, x509.Version.v3)
        self.assertTrue(2 ** 126 <= cert.serial_number < 2 ** 127)
        self.assertEqual(cert.subject.rfc4514_string(), "CN=" + CALL_CENTER)
        self.assertEqual(cert.issuer, cert.subject)
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]._type.name, "UTF8String")
        self.assertEqual(crypto_not_valid(cert), (datetime.datetime(2026, 1, 1), datetime.datetime(2027, 1, 1)))
        self.assertEqual(cert.signature_algorithm_oid, SignatureAlgorithmOID.RSA_WITH_SHA256)
        public = cert.public_key()
        self.assertEqual((public.public_numbers().n, public.public_numbers().e), (SAMPLE_KEY.n, SAMPLE_KEY.e))
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256())
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        self.assertTrue(constraints.critical)
        self.assertFalse(constraints.value.ca)
        identifier = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        self.assertEqual(identifier.value.digest, x509.SubjectKeyIdentifier.from_public_key(public).digest)
        # a token made by scvjwt verifies with the certificate's key in cryptography
        token = scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, now=NOW)
        signing_input, signature = token.rsplit(".", 1)
        public.verify(scvjwt.b64url_decode(signature), signing_input.encode("ascii"), padding.PKCS1v15(),
                      hashes.SHA256())

    @needs_cryptography
    def test_cryptography_reads_long_and_non_ascii_names(self):
        from cryptography import x509
        for name in ("x" * 64, "Zürich Büro", "Call Center, Inc. #1"):
            pem = scvjwt.self_signed_certificate(SAMPLE_KEY, name, now=NOW)
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            self.assertEqual(cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value, name)
        self.assertEqual(scvjwt._certificate_subject(pem_body_der(
            scvjwt.self_signed_certificate(SAMPLE_KEY, "Call Center, Inc. #1", now=NOW))),
            "CN=Call Center\\, Inc. #1")

    def test_utctime_until_2049_and_generalizedtime_from_2050(self):
        cases = [
            (utc_epoch(2049, 6, 1), 365, (0x17, b"490601000000Z"), (0x18, b"20500601000000Z")),
            (utc_epoch(2049, 12, 31, 23, 59, 59), 1, (0x17, b"491231235959Z"), (0x18, b"20500101235959Z")),
            (utc_epoch(2050, 1, 1), 1, (0x18, b"20500101000000Z"), (0x18, b"20500102000000Z")),
            (utc_epoch(2048, 1, 1), 30, (0x17, b"480101000000Z"), (0x17, b"480131000000Z")),
        ]
        for now, days, not_before, not_after in cases:
            der = pem_body_der(scvjwt.self_signed_certificate(SAMPLE_KEY, "t", days=days, now=now))
            validity = scvjwt._der_items(scvjwt._certificate_fields(der)[3][1], 2, 2, "validity")
            self.assertEqual(validity, [not_before, not_after])
            self.assertEqual(scvjwt._certificate_validity(der), (now, now + days * 86400))

    @needs_cryptography
    def test_cryptography_reads_generalizedtime(self):
        import datetime
        from cryptography import x509
        pem = scvjwt.self_signed_certificate(SAMPLE_KEY, "t", days=365, now=utc_epoch(2049, 6, 1))
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        self.assertEqual(crypto_not_valid(cert), (datetime.datetime(2049, 6, 1), datetime.datetime(2050, 6, 1)))

    @needs_openssl
    def test_openssl_reads_generalizedtime(self):
        path = write_file(temp_dir(), "c.pem", scvjwt.self_signed_certificate(
            SAMPLE_KEY, "t", days=365, now=utc_epoch(2049, 6, 1)))
        status, out, err = openssl_result("x509", "-in", path, "-noout", "-dates")
        self.assertEqual(status, 0, err)
        self.assertIn("notBefore=Jun  1 00:00:00 2049 GMT", out)
        self.assertIn("notAfter=Jun  1 00:00:00 2050 GMT", out)

    def test_bad_arguments(self):
        for name in ("", " ", "x" * 65, "a\nb", "tab\there", "\x00", "\x1b[31m", "\ud800", "\u2028", None, 42,
                     b"bytes"):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.self_signed_certificate(SAMPLE_KEY, name, now=NOW)
            self.assertIn("common name", str(caught.exception))
        for days in (0, -1, 36501, 1.5, "365", True, None):
            with self.assertRaises(scvjwt.ClaimsError) as caught:
                scvjwt.self_signed_certificate(SAMPLE_KEY, "a", days=days, now=NOW)
            self.assertIn("days", str(caught.exception))
        for now in (-1, "now", 10 ** 13, True, float("nan")):
            with self.assertRaises(scvjwt.ClaimsError):
                scvjwt.self_signed_certificate(SAMPLE_KEY, "a", now=now)
        with self.assertRaises(scvjwt.ClaimsError) as caught:
            scvjwt.self_signed_certificate(SAMPLE_KEY, "a", days=2, now=utc_epoch(9999, 12, 30))
        self.assertIn("9999", str(caught.exception))
        for key in (SAMPLE_KEY.public_key(), b"not a key", None, self.pem):
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.self_signed_certificate(key, "a", now=NOW)

    def test_the_key_may_be_pem_text(self):
        pem = scvjwt.self_signed_certificate(SAMPLE_KEY.to_pem(), "a", now=NOW)
        self.assertEqual(scvjwt.load_public_key(pem), SAMPLE_KEY.public_key())

    def test_strict_time_reading(self):
        accepted = [
            ((0x17, b"500101000000Z"), utc_epoch(1950, 1, 1)),
            ((0x17, b"491231235959Z"), utc_epoch(2049, 12, 31, 23, 59, 59)),
            ((0x18, b"19500101000000Z"), utc_epoch(1950, 1, 1)),
            ((0x18, b"99991231235959Z"), scvjwt._MAX_EPOCH),
            ((0x17, b"240229120000Z"), utc_epoch(2024, 2, 29, 12)),
        ]
        for item, expected in accepted:
            self.assertEqual(scvjwt._der_time(item, "t"), expected, item)
        refused = [
            (0x17, b"2601010000Z"), (0x17, b"260101000000+0000"), (0x17, b"260101000000z"),
            (0x17, b"260101000000"), (0x17, b"20260101000000Z"), (0x18, b"260101000000Z"),
            (0x18, b"20500101000000.5Z"), (0x18, b"205001010000Z"), (0x17, b"261301000000Z"),
            (0x17, b"260230000000Z"), (0x17, b"260101240000Z"), (0x17, b"260101006000Z"),
            (0x17, b"260101000060Z"), (0x17, b"26010100000aZ"), (0x17, b"2601010000\xb2\xb2Z"),
            (0x17, b" 60101000000Z"), (0x17, b"+60101000000Z"), (0x18, b"00000101000000Z"),
            (0x04, b"260101000000Z"), (0x17, b""), (0x17, b"Z"),
        ]
        for item in refused:
            with self.assertRaises(scvjwt.KeyFormatError, msg=repr(item)):
                scvjwt._der_time(item, "t")

    def test_time_errors_through_the_certificate_reader(self):
        bad = scvjwt._der_encode_sequence(scvjwt._der_encode(0x17, b"2601010000Z"),
                                          scvjwt._der_encode(0x17, b"270101000000Z"))
        with self.assertRaises(scvjwt.KeyFormatError) as caught:
            scvjwt._certificate_validity(rebuild_certificate(self.der, 4, bad))
        self.assertIn("notBefore", str(caught.exception))
        for validity in (scvjwt._der_encode(0x31, b""), scvjwt._der_encode_sequence(
                scvjwt._der_encode(0x17, b"260101000000Z"))):
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt._certificate_validity(rebuild_certificate(self.der, 4, validity))

    def subject_text(self, *rdns):
        """The subject text of a certificate whose subject has the given RDNs, each a list of
        (OID DER, string tag, value bytes)."""
        sets = [scvjwt._der_encode(0x31, b"".join(
            scvjwt._der_encode_sequence(oid, scvjwt._der_encode(tag, value)) for oid, tag, value in rdn))
            for rdn in rdns]
        return scvjwt._certificate_subject(rebuild_certificate(self.der, 5, scvjwt._der_encode_sequence(*sets)))

    def test_subject_text(self):
        cn, o, c = bytes.fromhex("0603550403"), bytes.fromhex("060355040a"), bytes.fromhex("0603550406")
        unknown = bytes.fromhex("06032a0304")          # 1.2.3.4
        self.assertEqual(self.subject_text([(c, 0x13, b"US")], [(o, 0x0C, b"Acme")], [(cn, 0x0C, b"x")]),
                         "CN=x, O=Acme, C=US")
        self.assertEqual(self.subject_text([(cn, 0x0C, b"a"), (o, 0x13, b"b")]), "CN=a+O=b")
        self.assertEqual(self.subject_text([(cn, 0x0C, b"#lead, \"q\" +;<>\\ ")]),
                         'CN=\\#lead\\, \\"q\\" \\+\\;\\<\\>\\\\\\ ')
        self.assertEqual(self.subject_text([(cn, 0x0C, b"\x1b[31mred\x00")]), "CN=\\1B[31mred\\00")
        self.assertEqual(self.subject_text([(cn, 0x1E, "Zürich".encode("utf-16-be"))]), "CN=Z\\C3\\BCrich")
        self.assertEqual(self.subject_text([(cn, 0x14, b"Z\xfcrich")]), "CN=Z\\C3\\BCrich")
        self.assertEqual(self.subject_text([(unknown, 0x04, b"\x01\x02")]), "1.2.3.4=#04020102")
        self.assertEqual(self.subject_text(), "")
        for value in ((cn, 0x0C, b"\xff\xfe"), (cn, 0x13, b"caf\xe9"), (cn, 0x1E, b"\x00")):
            with self.assertRaises(scvjwt.KeyFormatError):
                self.subject_text([value])

    @needs_openssl
    def test_subject_of_an_openssl_certificate(self):
        folder = temp_dir()
        key = write_file(folder, "k.pem", SAMPLE_KEY.to_pem())
        status, out, err = openssl_result("req", "-x509", "-key", key, "-days", "1", "-subj",
                                       "/C=US/ST=CA/O=Acme, Inc./OU=Voice/CN=scv.example.com/emailAddress=a@b.example")
        self.assertEqual(status, 0, err)
        self.assertEqual(scvjwt._certificate_subject(pem_body_der(out)),
                         "emailAddress=a@b.example, CN=scv.example.com, OU=Voice, O=Acme\\, Inc., ST=CA, C=US")

    def test_malformed_certificates_are_key_format_errors(self):
        broken = [self.der[:-10], b"\x30\x03abc", b"", self.der + b"\x00", b"\x30\x80" + self.der[4:],
                  scvjwt._der_encode_sequence(b"\x02\x01\x00", b"\x02\x01\x00", b"\x02\x01\x00"),
                  scvjwt._der_encode_sequence(scvjwt._der_encode_sequence(*[b"\x02\x01\x00"] * 4),
                                              b"\x02\x01\x00", b"\x02\x01\x00")]
        for der in broken:
            for reader in (scvjwt._certificate_subject, scvjwt._certificate_validity):
                with self.assertRaises(scvjwt.KeyFormatError, msg=(reader.__name__, der[:8])):
                    reader(der)
        bad_subjects = [scvjwt._der_encode(0x31, b""),                                  # not a SEQUENCE
                        scvjwt._der_encode_sequence(scvjwt._der_encode(0x30, b"")),     # RDN not a SET
                        scvjwt._der_encode_sequence(scvjwt._der_encode(0x31, b"")),     # empty RDN
                        scvjwt._der_encode_sequence(scvjwt._der_encode(0x31, scvjwt._der_encode_sequence(
                            bytes.fromhex("0603550403")))),                              # no value
                        scvjwt._der_encode_sequence(*[scvjwt._der_encode(0x31, b"")] * 65)]
        for subject in bad_subjects:
            with self.assertRaises(scvjwt.KeyFormatError, msg=subject[:8]):
                scvjwt._certificate_subject(rebuild_certificate(self.der, 5, subject))

    def test_mutated_certificates_raise_only_key_format_errors(self):
        rng = random.Random(4)
        readers = (scvjwt._certificate_subject, scvjwt._certificate_validity, scvjwt.load_public_key)
        for _ in range(1500):
            data = bytearray(self.der)
            for _ in range(rng.randint(1, 3)):
                position = rng.randrange(len(data))
                if rng.random() < 0.7:
                    data[position] = rng.randrange(256)
                else:
                    del data[position]
            for reader in readers:
                try:
                    reader(bytes(data))
                except scvjwt.KeyFormatError:
                    pass

    def test_huge_subject_values_are_shortened_for_display(self):
        """A crafted certificate with a megabyte common name: shown as its first 200 characters."""
        cn = bytes.fromhex("0603550403")
        text = self.subject_text([(cn, 0x0C, b"\x01" * 500000)])
        self.assertTrue(text.startswith("CN=\\01\\01"))
        self.assertTrue(text.endswith("..."))
        self.assertEqual(len(text), len("CN=") + 3 * 200 + 3)


def umask_zero():
    os.umask(0)


class KeygenCommandTest(unittest.TestCase):
    """`keygen`: files created atomically with mode 0600, never overwritten."""

    def paths(self):
        folder = temp_dir()
        return os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")

    @unittest.skipIf(os.name != "posix", "file modes are POSIX")
    def test_writes_a_0600_key_and_a_certificate(self):
        key_path, cert_path = self.paths()
        status, out, err = run_cli("keygen", "--key-out", key_path, "--cert-out", cert_path, "--cn", CALL_CENTER,
                                   preexec_fn=umask_zero)
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        self.assertEqual(os.stat(key_path).st_mode & 0o777, 0o600, "even with umask 0")
        self.assertEqual(os.stat(cert_path).st_mode & 0o777, 0o644)
        with open(key_path, "rb") as handle:
            key_pem = handle.read()
        key = scvjwt.load_private_key(key_pem)
        self.assertTrue(key_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 by default")
        with open(cert_path) as handle:
            cert = handle.read()
        self.assertEqual(key.bits, 2048)
        self.assertEqual(scvjwt.load_public_key(cert), key.public_key())
        self.assertIn(key_path, out)
        self.assertIn(cert_path, out)
        self.assertIn(key.public_key().fingerprint(), out)
        self.assertIn("CN=" + CALL_CENTER, out)
        before, after = scvjwt._certificate_validity(pem_body_der(cert))
        self.assertEqual(after - before, 365 * 86400)
        if OPENSSL:
            status, out, err = openssl_result("verify", "-CAfile", cert_path, cert_path)
            self.assertEqual(status, 0, out + err)
            status, out, err = openssl_result("rsa", "-check", "-noout", "-in", key_path)
            self.assertEqual((status, out.strip()), (0, "RSA key ok"), err)

    def test_1024_bits_needs_the_flag_and_warns(self):
        key_path, _ = self.paths()
        status, _, err = run_cli("keygen", "--key-out", key_path, "--bits", "1024")
        self.assertEqual(status, 2)
        self.assertIn("--allow-1024", err)
        self.assertFalse(os.path.exists(key_path))
        status, out, err = run_cli("keygen", "--key-out", key_path, "--bits", "1024", "--allow-1024",
                                   "--format", "pkcs1")
        self.assertEqual(status, 0, err)
        self.assertIn("scvjwt: warning: making a 1024-bit key", err)
        with open(key_path) as handle:
            pem = handle.read()
        self.assertTrue(pem.startswith("-----BEGIN RSA PRIVATE KEY-----"))
        self.assertEqual(scvjwt.load_private_key(pem).bits, 1024)
        self.assertIn("PKCS#1", out)

    def assert_refused(self, args, message, *untouched):
        contents = {}
        for path in untouched:
            with open(path, "rb") as handle:
                contents[path] = (handle.read(), os.stat(path).st_mode)
        status, out, err = run_cli("keygen", *args)
        self.assertEqual(status, 2, err)
        self.assertEqual(out, "")
        self.assertIn("scvjwt: error:", err)
        self.assertIn(message, err)
        for path, (data, mode) in contents.items():
            with open(path, "rb") as handle:
                self.assertEqual((handle.read(), os.stat(path).st_mode), (data, mode), path)

    def test_never_overwrites(self):
        key_path, cert_path = self.paths()
        write_file(os.path.dirname(key_path), "key.pem", "original key\n")
        os.chmod(key_path, 0o640)
        self.assert_refused(["--key-out", key_path, "--cert-out", cert_path, "--cn", "a"], "already exists",
                            key_path)
        self.assertFalse(os.path.exists(cert_path))
        key_path, cert_path = self.paths()
        write_file(os.path.dirname(cert_path), "cert.pem", "original certificate\n")
        self.assert_refused(["--key-out", key_path, "--cert-out", cert_path, "--cn", "a"], "already exists",
                            cert_path)
        self.assertFalse(os.path.exists(key_path))

    @unittest.skipIf(os.name != "posix", "symbolic links")
    def test_never_follows_a_symbolic_link(self):
        key_path, _ = self.paths()
        target = os.path.join(os.path.dirname(key_path), "target")
        os.symlink(target, key_path)
        self.assert_refused(["--key-out", key_path, "--bits", "1024", "--allow-1024"], "already exists")
        self.assertFalse(os.path.exists(target))

    def test_write_helper_refuses_an_existing_file_atomically(self):
        folder = temp_dir()
        path = write_file(folder, "exists", "keep me")
        with self.assertRaises(scvjwt._InputError) as caught:
            scvjwt._write_new_file(path, b"new", 0o600, "private key")
        self.assertIn("already exists", str(caught.exception))
        with open(path) as handle:
            self.assertEqual(handle.read(), "keep me")
        with self.assertRaises(scvjwt._InputError) as caught:
            scvjwt._write_new_file(os.path.join(folder, "missing", "file"), b"new", 0o600, "private key")
        self.assertIn("cannot create the private key file", str(caught.exception))

    def test_write_helper_removes_a_half_written_file(self):
        from unittest import mock
        real_fdopen = os.fdopen

        class FullDisk(object):
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc_info):
                self.handle.close()

            def write(self, data):
                raise OSError(28, "No space left on device")

        path = os.path.join(temp_dir(), "key.pem")
        with mock.patch.object(os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode))):
            with self.assertRaises(scvjwt._InputError) as caught:
                scvjwt._write_new_file(path, b"secret", 0o600, "private key")
        self.assertIn("cannot write the private key file", str(caught.exception))
        self.assertIn("No space left on device", str(caught.exception))
        self.assertFalse(os.path.exists(path))

    def test_certificate_options_go_together(self):
        key_path, cert_path = self.paths()
        self.assert_refused(["--key-out", key_path, "--cert-out", cert_path], "--cn")
        self.assert_refused(["--key-out", key_path, "--cn", "a"], "--cert-out")
        self.assert_refused(["--key-out", key_path, "--days", "30"], "--cert-out")
        self.assert_refused(["--key-out", key_path, "--cert-out", cert_path, "--cn", "x" * 65], "common name")
        self.assert_refused(["--key-out", key_path, "--cert-out", cert_path, "--cn", "a", "--days", "0"], "days")
        self.assert_refused(["--key-out", key_path, "--cert-out", key_path, "--cn", "a"], "same file")
        self.assert_refused(["--key-out", "-"], "standard output")
        self.assertFalse(os.path.exists(key_path) or os.path.exists(cert_path))

    def test_bad_bits_and_format_are_usage_errors(self):
        key_path, _ = self.paths()
        for args in (["--bits", "512"], ["--bits", "2k"], ["--format", "der"], []):
            status, _, err = run_cli("keygen", *args + (["--key-out", key_path] if args else []))
            self.assertEqual(status, 2, args)
            self.assertIn("scvjwt: error:", err)
        self.assertFalse(os.path.exists(key_path))

    def test_says_so_when_the_certificate_cannot_be_written_after_the_key(self):
        key_path, _ = self.paths()
        cert_path = os.path.join(os.path.dirname(key_path), "missing-folder", "cert.pem")
        status, out, err = run_cli("keygen", "--key-out", key_path, "--bits", "1024", "--allow-1024",
                                   "--cert-out", cert_path, "--cn", "a")
        self.assertEqual(status, 2)
        self.assertIn("the private key was written to %s, but the certificate was not" % key_path, err)
        self.assertIn(key_path, out)
        self.assertTrue(os.path.exists(key_path))


class CheckCommandTest(unittest.TestCase):
    """`check --key --cert`: exit 0 when they belong together, 1 when not, warnings about dates."""

    @classmethod
    def setUpClass(cls):
        cls.folder = temp_dir()
        cls.key = write_file(cls.folder, "key.pem", SAMPLE_KEY.to_pem())

    def cert(self, name, now, days=365, key=SAMPLE_KEY):
        return write_file(self.folder, name, scvjwt.self_signed_certificate(key, CALL_CENTER, days=days, now=now))

    def test_matching_pair(self):
        cert = self.cert("valid.pem", time.time() - 86400)
        status, out, err = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        fingerprint = SAMPLE_KEY.public_key().fingerprint()
        self.assertIn("key:          %s (RSA 2048 bits)" % fingerprint, out)
        self.assertIn("certificate:  %s (RSA 2048 bits)" % fingerprint, out)
        self.assertIn("subject:      CN=" + CALL_CENTER, out)
        self.assertRegex(out, r"not before:   \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        self.assertRegex(out, r"not after:    \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        self.assertIn("match:        yes", out)

    def test_fixed_dates_are_shown(self):
        cert = self.cert("fixed.pem", NOW)
        _, out, _ = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertIn("not before:   2026-01-01T00:00:00Z", out)
        self.assertIn("not after:    2027-01-01T00:00:00Z", out)

    def test_mismatched_pair(self):
        cert = self.cert("other.pem", time.time(), key=generated_key(2048))
        status, out, err = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertEqual(status, 1)
        self.assertIn("match:        no", out)
        self.assertIn(generated_key(2048).public_key().fingerprint(), out)
        self.assertIn("scvjwt: error: the key does not belong to this certificate", err)

    def test_public_write_file(self):
        public = write_file(self.folder, "public.pem", SAMPLE_KEY.public_key().to_pem())
        status, out, err = run_cli("check", "--key", self.key, "--cert", public)
        self.assertEqual(status, 0, err)
        self.assertIn("public key:   " + SAMPLE_KEY.public_key().fingerprint(), out)
        self.assertNotIn("subject:", out)
        other = write_file(self.folder, "other-public.pem", generated_key(2048).public_key().to_pem())
        status, out, err = run_cli("check", "--key", self.key, "--cert", other)
        self.assertEqual(status, 1)
        self.assertIn("does not belong to this public key", err)

    def test_expired_certificate_warns(self):
        cert = self.cert("expired.pem", time.time() - 400 * 86400)
        status, out, err = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertEqual(status, 0)
        self.assertIn("match:        yes", out)
        self.assertIn("scvjwt: warning: the certificate expired on", err)
        self.assertIn("35 days ago", err)

    def test_certificate_expiring_within_30_days_warns(self):
        cert = self.cert("expiring.pem", time.time() - 350 * 86400 - 3600)
        status, _, err = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertEqual(status, 0)
        self.assertIn("scvjwt: warning: the certificate expires on", err)
        self.assertIn("in 14 days", err)
        cert = self.cert("not-yet.pem", time.time() + 2 * 86400)
        status, _, err = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertEqual(status, 0)
        self.assertIn("scvjwt: warning: the certificate is not valid yet", err)
        cert = self.cert("month.pem", time.time() - 330 * 86400)
        status, _, err = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertEqual((status, err), (0, ""), "35 days left: no warning")

    def test_inputs(self):
        cert = self.cert("stdin.pem", time.time())
        status, _, err = run_cli("check", "--key", "-", "--cert", cert, input=SAMPLE_KEY.to_pem().encode("ascii"))
        self.assertEqual(status, 0, err)
        with open(cert, "rb") as handle:
            status, _, err = run_cli("check", "--key", self.key, "--cert", "-", input=handle.read())
        self.assertEqual(status, 0, err)
        status, _, err = run_cli("check", "--key", "-", "--cert", "-")
        self.assertEqual(status, 2)
        self.assertIn("only one input", err)
        garbage = write_file(self.folder, "garbage.pem",
                             "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n")
        status, _, err = run_cli("check", "--key", self.key, "--cert", garbage)
        self.assertEqual(status, 2)
        self.assertTrue(err.startswith("scvjwt: error:"), err)
        status, _, err = run_cli("check", "--key", cert, "--cert", cert)
        self.assertEqual(status, 2)
        self.assertIn("not an RSA private key", err)
        status, _, err = run_cli("check", "--key", self.key, "--cert", os.path.join(self.folder, "missing.pem"))
        self.assertEqual(status, 2)
        self.assertIn("cannot read the certificate", err)

    def test_password_env(self):
        cert = self.cert("password.pem", time.time())
        status, _, err = run_cli("check", "--key", self.key, "--cert", cert, "--password-env", "SCVJWT_TEST_UNSET")
        self.assertEqual(status, 2)
        self.assertIn("SCVJWT_TEST_UNSET", err)
        status, _, err = run_cli("check", "--key", self.key, "--cert", cert, "--password-env", "SCVJWT_TEST_PW",
                                 env={"SCVJWT_TEST_PW": "secret"})
        self.assertEqual(status, 0, err)


@unittest.skipIf(os.name != "posix", "permission bits are POSIX")
class KeyFilePermissionWarningTest(unittest.TestCase):
    """The CLI warns, as ssh does, when a private key file is open to group or others."""

    def token(self, path, **kwargs):
        return run_cli("token", "--key", path, "--org-id", ORG_ID, "--call-center", CALL_CENTER, **kwargs)

    def test_token_and_check(self):
        folder = temp_dir()
        cert = write_file(folder, "cert.pem", scvjwt.self_signed_certificate(SAMPLE_KEY, "a"))
        for mode in (0o644, 0o620):
            path = write_file(folder, "open-%o.pem" % mode, SAMPLE_KEY.to_pem(), mode)
            for status, _, err in (self.token(path), run_cli("check", "--key", path, "--cert", cert)):
                self.assertEqual(status, 0, err)
                self.assertIn("scvjwt: warning: the private key file %s can be read or changed by group or "
                              "others (permissions 0%o)" % (path, mode), err)
                self.assertIn("chmod 600", err)
        for mode in (0o600,):
            path = write_file(folder, "closed-%o.pem" % mode, SAMPLE_KEY.to_pem(), mode)
            for status, _, err in (self.token(path), run_cli("check", "--key", path, "--cert", cert)):
                self.assertEqual((status, err), (0, ""))

    def test_environment_key_file_and_stdin(self):
        folder = temp_dir()
        path = write_file(folder, "key.pem", SAMPLE_KEY.to_pem(), 0o644)
        status, _, err = run_cli("token", "--org-id", ORG_ID, "--call-center", CALL_CENTER,
                                 env={"SCVJWT_KEY_FILE": path})
        self.assertEqual(status, 0, err)
        self.assertIn("can be read or changed by group or others", err)
        status, _, err = self.token("-", input=SAMPLE_KEY.to_pem().encode("ascii"))
        self.assertEqual((status, err), (0, ""))

    def test_secret_json_and_password_files_open_to_others_warn(self):
        folder = temp_dir()
        secret = write_file(folder, "secret.json", json.dumps({
            "SALESFORCE_ORG_ID": ORG_ID, "CALL_CENTER_API_NAME": CALL_CENTER,
            CALL_CENTER + "-scrt-jwt-auth-private-key": SAMPLE_KEY.to_pem()}), 0o640)
        status, _, err = run_cli("token", "--secret-json", secret)
        self.assertEqual(status, 0, err)
        self.assertIn("the secret JSON file %s can be read or changed by group or others" % secret, err)
        key = write_file(folder, "key.pem", SAMPLE_KEY.to_pem())
        password = write_file(folder, "password", "unused\n", 0o604)
        status, _, err = run_cli("token", "--key", key, "--org-id", ORG_ID, "--call-center", CALL_CENTER,
                                 "--password-file", password)
        self.assertEqual(status, 0, err)
        self.assertIn("the password file %s can be read" % password, err)


# ------------------------------------------------------------------------------------------------
# Published vulnerabilities of comparable JWT and RSA libraries: one regression test for each
# class (issue 7), with the helpers that build the attacks
# ------------------------------------------------------------------------------------------------

SHA256_OID_CONTENTS = bytes.fromhex("608648016503040201")       # 2.16.840.1.101.3.4.2.1, id-sha256
AUDIENCE = "https://example.my.salesforce-scrt.com"
LEADING_ZERO_JTI = "leading-zero-335"   # its token's signature under SAMPLE_KEY starts with 0x00 (searched once)


def signing_input(header, claims):
    """BASE64URL(header) '.' BASE64URL(claims), from dicts or raw JSON bytes (RFC 7515 section 5.1)."""
    return ".".join(scvjwt.b64url_encode(part if isinstance(part, bytes) else compact_json(part))
                    for part in (header, claims))


def signed_text(text, key=SAMPLE_KEY):
    """`text` (the first two parts of a token, exactly as written, canonical or not) and its RS256
    signature: a token whose only fault is whatever `text` holds."""
    return text + "." + scvjwt.b64url_encode(scvjwt.sign_rs256(key, text.encode("ascii")))


def token_fragments(token):
    """Distinctive pieces of each part of a token (its first, middle and last 12 characters),
    none of which an error message may repeat."""
    pieces = []
    for part in token.split("."):
        if len(part) >= 12:
            middle = len(part) // 2
            pieces += [part[:12], part[middle - 6:middle + 6], part[-12:]]
    return pieces


def pem_fragments(pem):
    """16-character pieces of a PEM body, after its first 48 characters (the DER header that
    every key of a size shares, which a message may quote): none may appear in any message."""
    body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
    return [body[i:i + 16] for i in range(48, len(body) - 16, 16)]


def token_of_length(length, key=SAMPLE_KEY):
    """A token of exactly `length` characters, signed by `key`: the claims carry a padding member,
    and the header a kid of 0 to 3 characters where base64url lengths need it (no canonical part
    has a length of 1 mod 4)."""
    signature_length = len(scvjwt.b64url_encode(bytes(scvjwt._modulus_bytes(key))))
    for kid in ("", "k", "kk", "kkk"):
        header = dict(RS256_HEADER, kid=kid) if kid else RS256_HEADER
        claims_length = length - len(scvjwt.b64url_encode(compact_json(header))) - signature_length - 2
        claims_bytes = 3 * claims_length // 4
        if len(scvjwt.b64url_encode(bytes(claims_bytes))) == claims_length:
            pad = claims_bytes - len(compact_json(standard_claims(pad="")))
            token = signed_token(header, standard_claims(pad="x" * pad), key)
            assert len(token) == length
            return token
    raise AssertionError("no token of %d characters" % length)


def rsa_public_der(n, e):
    """(RSAPublicKey DER (RFC 8017 A.1.1), SubjectPublicKeyInfo DER (RFC 5280)) for any numbers,
    checked or not: the files an attacker can write."""
    pkcs1 = scvjwt._der_encode_sequence(scvjwt._der_encode_uint(n), scvjwt._der_encode_uint(e))
    spki = scvjwt._der_encode_sequence(scvjwt._RSA_ALGORITHM_DER, scvjwt._der_encode(0x03, b"\x00" + pkcs1))
    return pkcs1, spki


def rsa_private_pem(*numbers):
    """'RSA PRIVATE KEY' PEM (RFC 8017 A.1.2) of the numbers n, e, d, p, q, dp, dq, qi as given."""
    der = scvjwt._der_encode_sequence(*(scvjwt._der_encode_uint(x) for x in (0,) + tuple(numbers)))
    return scvjwt._pem_wrap("RSA PRIVATE KEY", der)


def rsasp1(key, encoded):
    """RSASP1 (RFC 8017 section 5.2.1, with the CRT of step 2.b) of any k-byte encoded message:
    a genuine signature over encodings that sign_rs256 would never make."""
    m = int.from_bytes(encoded, "big")
    s1, s2 = pow(m, key.dp, key.p), pow(m, key.dq, key.q)
    return (s2 + key.q * ((s1 - s2) * key.qi % key.p)).to_bytes(scvjwt._modulus_bytes(key), "big")


def emsa_pkcs1_v15(t, k, block_type=1):
    """00 || BT || PS || 00 || T with T as given (RFC 8017 section 9.2 steps 4-5). Block type 2,
    the encryption padding of section 7.2.1, has non-zero PS bytes (fixed ones here)."""
    if block_type == 1:
        ps = b"\xff" * (k - len(t) - 3)
    else:
        ps = bytes((i % 255) + 1 for i in range(k - len(t) - 3))
    return b"\x00" + bytes((block_type,)) + ps + b"\x00" + t


def parsing_pkcs1_verify(public, message, signature):
    """RSASSA-PKCS1-v1_5 verification done as the libraries of the advisories did it: RSAVP1,
    then PARSE the result instead of comparing it with the expected encoding: 00 01, any
    non-zero padding bytes (python-rsa, CVE-2016-1494), 00, then a DigestInfo read by its own DER
    lengths with the bytes after it ignored (OpenSSL, CVE-2006-4339; node-forge, CVE-2022-24772)
    and its AlgorithmIdentifier parameters skipped (node-forge, CVE-2022-24771). It accepts every
    genuine signature, and every forgery the tests build: the proof that they are forgeries."""
    k = (public.n.bit_length() + 7) // 8
    em = pow(int.from_bytes(signature, "big"), public.e, public.n).to_bytes(k, "big")
    separator = em.find(b"\x00", 2)
    if em[:2] != b"\x00\x01" or separator < 3:
        return False

    def element(data, pos):
        tag, length, pos = data[pos], data[pos + 1], pos + 2
        if length & 0x80:
            count = length & 0x7F
            length, pos = int.from_bytes(data[pos:pos + count], "big"), pos + count
        return tag, data[pos:pos + length], pos + length

    try:
        info_tag, digest_info, _ = element(em, separator + 1)
        _, algorithm, after_algorithm = element(digest_info, 0)
        _, oid, _ = element(algorithm, 0)
        digest_tag, digest, _ = element(digest_info, after_algorithm)
    except IndexError:
        return False
    return (info_tag == 0x30 and oid == SHA256_OID_CONTENTS and digest_tag == 0x04 and
            digest == hashlib.sha256(message).digest())


def integer_cube_root(value):
    """The largest r with r**3 <= value (Newton's method on integers, from above)."""
    root = 1 << -(-value.bit_length() // 3)
    while True:
        better = (2 * root + value // (root * root)) // 3
        if better >= root:
            break
        root = better
    while root ** 3 > value:
        root -= 1
    return root


def cube_root_mod_power_of_two(value, bits):
    """r with r**3 = value mod 2**bits, for odd `value` (Hensel lifting: cubing permutes the odd
    residues, and setting bit i of r sets bit i of r**3 without touching the bits below it)."""
    root = 1
    for bit in range(1, bits):
        if (root ** 3 - value) >> bit & 1:
            root |= 1 << bit
    return root


def cube_with_ends(k, prefix, suffix):
    """A k-byte signature s whose cube begins with the bytes `prefix` (00 01 ...: so the cube is
    below any k-byte modulus and RSAVP1 with e = 3 never reduces it) and ends with the odd
    `suffix`: its low bits are a cube root of the suffix modulo a power of two, its high bits
    those of the integer cube root of a value that begins with the prefix (Bleichenbacher's 2006
    talk, as Hal Finney wrote it up)."""
    low_bits = 8 * len(suffix)
    low = cube_root_mod_power_of_two(int.from_bytes(suffix, "big"), low_bits)
    high = integer_cube_root(int.from_bytes(prefix + b"\x80" * (k - len(prefix)), "big"))
    return ((high >> low_bits << low_bits) | low).to_bytes(k, "big")


_E3_KEYS = []


def e3_private_key():
    """A 2048-bit RSA key with e = 3 (scvjwt generates only e >= 65537), made once by the
    cryptography package or the openssl tool; None when neither is here."""
    if not _E3_KEYS:
        if HAVE_CRYPTOGRAPHY:
            _E3_KEYS.append(scvjwt.load_private_key(cryptography_pem(cryptography_key(2048, e=3))))
        elif OPENSSL:
            _E3_KEYS.append(scvjwt.load_private_key(openssl_key_pem(2048, e=3)))
        else:
            _E3_KEYS.append(None)
    return _E3_KEYS[0]


def attacker_key():
    """Another 2048-bit key than SAMPLE_KEY, the fastest way this host can make one."""
    if HAVE_CRYPTOGRAPHY:
        return scvjwt.load_private_key(cryptography_pem(cryptography_key(2048)))
    if OPENSSL:
        return scvjwt.load_private_key(openssl_key_pem(2048))
    return generated_key(2048)


@contextlib.contextmanager
def counted_exponentiations(limit):
    """scvjwt's modular exponentiations (pow with a modulus) inside: yields a list of their
    modulus sizes. The call after `limit` fails the test at once, so that a runaway loop costs
    no time. (scvjwt's own global `pow` shadows the builtin for scvjwt's code only.)"""
    calls = []

    def counting_pow(base, exponent, modulus=None):
        if modulus is not None:
            calls.append(modulus.bit_length())
            if len(calls) > limit:
                raise AssertionError("more than %d modular exponentiations" % limit)
        return pow(base, exponent, modulus)

    with mock.patch.object(scvjwt, "pow", counting_pow, create=True):
        yield calls


@contextlib.contextmanager
def one_faulty_exponentiation(exponent, modulus):
    """A transient fault, as a voltage glitch or a flipped bit in the multiplier gives: scvjwt's
    pow() returns a wrong value once, at its first call with this exponent and modulus. Yields a
    list that holds the true value once the fault has happened."""
    faults = []

    def pow_with_fault(base, power, mod=None):
        result = pow(base, power, mod)
        if power == exponent and mod == modulus and not faults:
            faults.append(result)
            return (result + 1) % mod
        return result

    with mock.patch.object(scvjwt, "pow", pow_with_fault, create=True):
        yield faults


OID_AES256_CBC, OID_DES_EDE3_CBC = "2.16.840.1.101.3.4.1.42", "1.2.840.113549.3.7"
HMAC_SHA256_DER = der_seq(der_oid("1.2.840.113549.2.9"), b"\x05\x00")
PBKDF2_SALT = b"published-salt"


def pbes2_key(iterations, cipher=OID_AES256_CBC):
    """An EncryptedPrivateKeyInfo (PBES2, PBKDF2-HMAC-SHA256) asking for `iterations`, whose
    ciphertext no password opens."""
    iv = bytes(range(16 if cipher == OID_AES256_CBC else 8))
    return pbes2_der(PBKDF2_SALT, iterations, iv, bytes(range(7, 7 + 64)), cipher=cipher, prf=HMAC_SHA256_DER)


class PublishedVulnerabilityTest(unittest.TestCase):
    """One test for each class of vulnerability published against comparable JWT and RSA
    libraries (issue 7), named after it, with an advisory that shows it in the wild. Each builds
    the attack itself and fails if the protection that stops it were removed."""

    def assertNoEcho(self, text, token):
        for fragment in token_fragments(token):
            self.assertNotIn(fragment, text, "an error message repeats part of the token")

    def assertRefused(self, token, reason, key=PUBLIC_KEY, **kwargs):
        """verify() refuses `token` with `reason`, a TokenError whose message repeats no part of it."""
        kwargs.setdefault("now", NOW)
        with self.assertRaises(scvjwt.TokenError, msg=repr(token[:80])) as caught:
            scvjwt.verify(token, key, **kwargs)
        self.assertEqual(caught.exception.reason, reason, "%r: %s" % (token[:80], caught.exception))
        if isinstance(token, (str, bytes)):
            self.assertNoEcho(str(caught.exception), token if isinstance(token, str) else token.decode("latin-1"))
        return caught.exception

    def assertNoSecrets(self, text, key=SAMPLE_KEY, extra=()):
        """No private number of `key` (decimal or hex, whole or its first 16 digits; numbers a
        corruption made tiny are skipped) and no piece of its PEM, nor of `extra`, in `text`."""
        secrets = secret_texts(key) + pem_fragments(key.to_pem()) + pem_fragments(key.to_pem("pkcs1")) + list(extra)
        for secret in secrets:
            if len(secret) >= 8:
                self.assertNotIn(secret, text, "key material in %r" % text[:200])

    # 1. Algorithm confusion -------------------------------------------------------------------

    def test_algorithm_confusion_alg_none(self):
        """alg "none" and its case variants, with an empty signature, none at all, or a valid
        RS256 signature: refused for the algorithm. CVE-2015-9235 (jsonwebtoken before 4.2.2
        accepted alg none); case variants defeat filters that compare with "none" exactly."""
        claims = standard_claims()
        for alg in ("none", "None", "NONE", "nOnE", "none "):
            text = signing_input({"alg": alg, "typ": "JWT"}, claims)
            for token in (text + ".", signed_text(text), text + ".AAAA"):
                self.assertRefused(token, "algorithm")
                self.assertRefused(token, "algorithm", org_id=ORG_ID, call_center=CALL_CENTER)
            self.assertRefused(text, "malformed")                       # two parts: no signature at all
        # No key, or an empty one, is never "no check" (the PyJWT/jsonwebtoken verify(token, None) pitfall).
        genuine = signed_token(RS256_HEADER, claims)
        for nothing in (None, "", b"", "none"):
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.verify(genuine, nothing, now=NOW)

    def test_algorithm_confusion_hs256_keyed_with_the_public_key(self):
        """An HS256 token whose HMAC key is the verifier's public key (PEM, DER, PKCS#1 PEM, the
        certificate): refused for the algorithm, whatever form the verifier is given the key in.
        CVE-2016-10555 (jwt-simple), CVE-2015-9235 (jsonwebtoken), CVE-2022-29217 (PyJWT),
        CVE-2024-33663 (python-jose)."""
        pem = PUBLIC_KEY.to_pem()
        hmac_keys = [pem.encode("ascii"), pem.rstrip("\n").encode("ascii"), pem.replace("\n", "\r\n").encode("ascii"),
                     PUBLIC_KEY._spki_der(), PUBLIC_KEY._pkcs1_der(),
                     scvjwt._pem_wrap("RSA PUBLIC KEY", PUBLIC_KEY._pkcs1_der()).encode("ascii"),
                     SAMPLE_CERTIFICATE_PEM.encode("ascii"), SAMPLE_CERTIFICATE_DER]
        verifier_keys = [PUBLIC_KEY, pem, pem.encode("ascii"), PUBLIC_KEY._spki_der(), SAMPLE_CERTIFICATE_PEM]
        claims = standard_claims()
        for hmac_key in hmac_keys:
            for alg in ("HS256", "HS384", "HS512"):
                text = signing_input({"alg": alg, "typ": "JWT"}, claims)
                digest = getattr(hashlib, "sha" + alg[2:])
                tag = hmac.new(hmac_key, text.encode("ascii"), digest).digest()
                for verifier_key in verifier_keys:
                    self.assertRefused(text + "." + scvjwt.b64url_encode(tag), "algorithm", verifier_key)
            # The same tag under an RS256 header is no RS256 signature either.
            text = signing_input(RS256_HEADER, claims)
            tag = hmac.new(hmac_key, text.encode("ascii"), hashlib.sha256).digest()
            self.assertRefused(text + "." + scvjwt.b64url_encode(tag), "signature")
            self.assertFalse(scvjwt.verify_rs256(PUBLIC_KEY, text.encode("ascii"), tag))

    def test_algorithm_confusion_case_variants_and_other_algorithms(self):
        """Every alg but exactly "RS256" is refused, even over a VALID RS256 signature, so that
        no normalisation (case, blanks, NUL, look-alike letters) can let one through; a header
        naming alg twice is malformed (JSON parser differentials); a JWE-shaped token too.
        CVE-2015-9235 (jsonwebtoken: the token chose the algorithm), CVE-2022-29217 (PyJWT)."""
        claims = standard_claims()
        for alg in ("rs256", "Rs256", "rS256", "RS256 ", " RS256", "RS256\u0000", "RS256\n", "RS 256",
                    "R\u0405256", "\uff32\uff33256", "RS2560", "RS25", "RS512", "RS384", "PS256", "ES256",
                    "HS256", "EdDSA", "RSA-OAEP", "dir", "", ["RS256"], {"RS256": True}, None, 256, True):
            self.assertRefused(signed_token({"alg": alg, "typ": "JWT"}, claims), "algorithm")
        self.assertRefused(signed_token({"typ": "JWT"}, claims), "algorithm")
        for header in (b'{"alg":"none","alg":"RS256"}', b'{"alg":"RS256","alg":"none"}',
                       b'{"alg":"RS256","alg":"RS256"}'):
            self.assertRefused(signed_token(header, claims), "malformed")
        jwe_shaped = signing_input({"alg": "RSA-OAEP", "enc": "A256GCM"}, claims) + ".AAAA.AAAA.AAAA"
        self.assertRefused(jwe_shaped, "malformed")
        self.assertEqual(scvjwt.verify(signed_token(RS256_HEADER, claims), PUBLIC_KEY, now=NOW), claims)

    def test_algorithm_confusion_embedded_key_headers_never_choose_the_key(self):
        """jwk, jku, x5u, x5c and kid in the header never change which key verifies: a token an
        attacker signed with their own key, that key embedded or pointed to in the header, is
        refused for its signature, and nothing is fetched; the genuine key's token with the same
        headers is accepted. CVE-2018-0114 (node-jose, embedded jwk)."""
        attacker = attacker_key()
        attacker_cert = pem_body_der(scvjwt.self_signed_certificate(attacker, "attacker", now=NOW).encode("ascii"))
        jwk = {"kty": "RSA", "n": scvjwt.b64url_encode(attacker.n.to_bytes(256, "big")), "e": "AQAB"}
        pointers = [{"jwk": jwk}, {"jku": "https://attacker.example/jwks.json"},
                    {"x5u": "https://attacker.example/cert.pem"},
                    {"x5c": [base64.b64encode(attacker_cert).decode("ascii")]},
                    {"kid": "attacker"}, {"kid": "../../../../dev/null"}, {"kid": "' OR '1'='1"},
                    {"jwk": jwk, "jku": "https://attacker.example/jwks.json", "kid": "attacker",
                     "x5c": [base64.b64encode(attacker_cert).decode("ascii")]}]
        claims = standard_claims()
        network = AssertionError("verify() went to the network")
        with mock.patch("socket.getaddrinfo", side_effect=network), \
                mock.patch("socket.socket.connect", side_effect=network):
            for pointer in pointers:
                header = dict(RS256_HEADER, **pointer)
                forged = signed_token(header, claims, key=attacker)
                self.assertRefused(forged, "signature")
                self.assertRefused(forged, "signature", SAMPLE_CERTIFICATE_PEM, org_id=ORG_ID, call_center=CALL_CENTER)
                self.assertEqual(scvjwt.verify(signed_token(header, claims), PUBLIC_KEY, now=NOW), claims)
        # The attacker's token does verify with the attacker's key: the refusal above is the key's.
        forged = signed_token(dict(RS256_HEADER, jwk=jwk), claims, key=attacker)
        self.assertEqual(scvjwt.verify(forged, attacker.public_key(), now=NOW), claims)

    # 2. Padded or non-canonical base64url ----------------------------------------------------

    def test_non_canonical_base64url_refused(self):
        """Padding, the standard alphabet's + and /, blanks and line ends inside a part, set
        unused bits (a second text for the same signature bytes) and a length of 1 mod 4 are all
        malformed, even when the signature covers the text as written; the canonical token
        verifies. Lenient decoding makes tokens malleable: several texts for one token defeat
        denylists and one-time checks keyed on the text (RFC 4648 sections 3.5 and 12; RFC 7515
        section 2; authlib/joserfc pull request 51, "Prevent from Base64 Malleability")."""
        for index in range(200):    # the first token whose claims and signature hold '-' and '_'
            claims = standard_claims(jti="?" * (index % 3) + "~~~???>>>~%d" % index)
            token = signed_token(RS256_HEADER, claims)
            header_part, claims_part, signature_part = token.split(".")
            if len(claims_part) % 4 == 2 and all(c in part for c in "-_" for part in (claims_part, signature_part)):
                break
        else:
            raise AssertionError("no token with '-' and '_' in its claims and signature")
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW), claims)
        self.assertEqual(len(header_part) % 4, 0)
        self.assertEqual(len(signature_part) % 4, 2)
        signature = scvjwt.b64url_decode(signature_part)

        def alternative_last_characters(part):
            """The other characters a lenient decoder reads as the same bytes: the last one with
            its unused low bits set (4 of them when the length is 2 mod 4)."""
            index = B64URL_CHARACTERS.index(part[-1])
            self.assertEqual(index & 0x0F, 0)
            return [part[:-1] + B64URL_CHARACTERS[index | bits] for bits in range(1, 16)]

        middle = len(claims_part) // 2
        resigned_claims = [claims_part + "==", claims_part + "=", claims_part.replace("-", "+").replace("_", "/"),
                           claims_part[:middle] + "\n" + claims_part[middle:],
                           claims_part[:middle] + " " + claims_part[middle:], claims_part + "\r\n",
                           "\t" + claims_part] + alternative_last_characters(claims_part)[::7]
        resigned_headers = [header_part + "=", header_part + "====", header_part + "A",     # 1 mod 4
                            header_part[:18] + "\n" + header_part[18:], " " + header_part]
        for variant in resigned_claims:
            self.assertEqual(base64.b64decode(variant.replace("-", "+").replace("_", "/") + "=="),
                             compact_json(claims), "a lenient decoder reads %r as the same claims" % variant)
            self.assertRefused(signed_text(header_part + "." + variant), "malformed")
        for variant in resigned_headers:
            self.assertRefused(signed_text(variant + "." + claims_part), "malformed")
        # The signature part: other texts for the very same signature bytes.
        middle = len(signature_part) // 2
        same_signature = [signature_part + "==", signature_part.replace("-", "+").replace("_", "/"),
                          signature_part[:middle] + "\n" + signature_part[middle:],
                          signature_part[:middle] + "\r\n" + signature_part[middle:],
                          signature_part[:middle] + " " + signature_part[middle:],
                          signature_part[:middle] + "\t" + signature_part[middle:],
                          signature_part + "\n", signature_part + " "] + alternative_last_characters(signature_part)
        for variant in same_signature:
            self.assertEqual(base64.b64decode(variant.replace("-", "+").replace("_", "/") + "=="), signature)
            forged = header_part + "." + claims_part + "." + variant
            self.assertRefused(forged, "malformed")
            with self.assertRaises(scvjwt.TokenError):
                scvjwt.decode_unverified(forged)
        for variant in (signature_part[:-1], signature_part + "AAA"):               # 1 mod 4
            self.assertRefused(header_part + "." + claims_part + "." + variant, "malformed")

    # 3. "crit" ignored -------------------------------------------------------------------------

    def test_crit_header_refused(self):
        """A crit header (RFC 7515 section 4.1.11) is refused whatever it lists and whatever else
        the token holds, even under a valid signature and before the algorithm is looked at; b64
        false (RFC 7797) would change what the signature covers. CVE-2025-59420 (Authlib),
        CVE-2026-32597 (PyJWT, GHSA-752w-5fwx-jx9f)."""
        claims = standard_claims()
        headers = [dict(RS256_HEADER, crit=["x-unknown"], **{"x-unknown": True}),
                   {"alg": "RS256", "crit": ["b64"], "b64": False},
                   dict(RS256_HEADER, crit=["exp"], exp=NOW + 300), dict(RS256_HEADER, crit=[]),
                   dict(RS256_HEADER, crit="x-unknown"), dict(RS256_HEADER, crit=None),
                   dict(RS256_HEADER, crit=["alg"]), dict(RS256_HEADER, crit=["x", "x"], x=1),
                   {"alg": "none", "crit": ["x"], "x": 1}, {"alg": "HS256", "crit": ["x"], "x": 1}]
        for header in headers:
            token = signed_token(header, claims)
            self.assertIn("crit", str(self.assertRefused(token, "malformed")))
            self.assertRefused(token, "malformed", org_id=ORG_ID, call_center=CALL_CENTER,
                               replay_cache=scvjwt.ReplayCache())

    # 4. Array or prefix iss/sub accepted -----------------------------------------------------

    def test_array_or_prefix_iss_and_sub_refused(self):
        """iss and sub are compared whole and exactly: arrays are malformed (string claims), and
        prefixes, suffixes, blanks, other cases and the 18-character org ID (iss is always the
        15-character form; the verifier may be given either) are refused as issuer or subject. aud
        may be an array holding the audience (RFC 7519 section 4.1.3) but never a string that
        merely contains it. CVE-2024-53861 (PyJWT: partial iss match)."""
        def check(reason, changes, *verifications):
            """A token with the claims `changes`, refused for `reason` by verify() given each of
            the keyword argument dicts `verifications`."""
            token = signed_token(RS256_HEADER, standard_claims(**changes))
            for arguments in verifications:
                self.assertRefused(token, reason, **arguments)

        for iss in ([ORG_ID], [ORG_ID, "00D000000000001"], {"iss": ORG_ID}):
            check("malformed", {"iss": iss}, {"org_id": ORG_ID}, {})    # also when no org ID is asked for
        for iss in (ORG_ID + "X", "X" + ORG_ID, ORG_ID + " ", " " + ORG_ID, ORG_ID + "\u0000", ORG_ID[:-1],
                    ORG_ID.lower(), ORG_ID.upper(), ORG_ID_18, ORG_ID_18[:-1], "", ORG_ID + ORG_ID):
            check("issuer", {"iss": iss}, {"org_id": ORG_ID}, {"org_id": ORG_ID_18})
        claims = standard_claims()
        for org_id in (ORG_ID, ORG_ID_18):
            self.assertEqual(scvjwt.verify(signed_token(RS256_HEADER, claims), PUBLIC_KEY, org_id, CALL_CENTER,
                                           now=NOW), claims)
        for sub in ([CALL_CENTER], {"sub": CALL_CENTER}):
            check("malformed", {"sub": sub}, {"call_center": CALL_CENTER})
        for sub in (CALL_CENTER.lower(), CALL_CENTER.upper(), CALL_CENTER + "X", "X" + CALL_CENTER,
                    CALL_CENTER[:-1], CALL_CENTER + " ", CALL_CENTER + "_2", ""):
            check("subject", {"sub": sub}, {"call_center": CALL_CENTER})
        # aud: an array holding it is RFC 7519; a string holding it is not it.
        for aud in (AUDIENCE, [AUDIENCE], ["https://other.example", AUDIENCE]):
            claims = standard_claims(aud=aud)
            self.assertEqual(scvjwt.verify(signed_token(RS256_HEADER, claims), PUBLIC_KEY, now=NOW,
                                           audience=AUDIENCE), claims)
        for aud in (AUDIENCE + ".evil.example", AUDIENCE + "/", "x" + AUDIENCE, AUDIENCE.upper(),
                    "%s %s" % (AUDIENCE, AUDIENCE), [AUDIENCE + "x"], [[AUDIENCE]], {"aud": AUDIENCE}, [],
                    AUDIENCE[:-1], None):
            check("audience", {"aud": aud}, {"audience": AUDIENCE})

    # 5. PKCS#1 v1.5 verification by parsing instead of re-encoding ---------------------------

    def forged_token(self, build):
        """(signing input, signature) for the first jti whose signing input suits the forgery
        `build` (which returns None for a message that does not)."""
        for index in range(64):
            text = signing_input(RS256_HEADER, standard_claims(jti="forgery-%d" % index))
            signature = build(text.encode("ascii"))
            if signature is not None:
                return text, signature
        raise AssertionError("no message suited the forgery")

    def test_pkcs1_v15_bleichenbacher_e3_forgeries_refused(self):
        """Bleichenbacher's 2006 forgery for e = 3: a cube root, computed without the private key,
        whose cube a PARSING verifier reads as a PKCS#1 v1.5 signature of the message. Three
        layouts: garbage after the DigestInfo (OpenSSL, CVE-2006-4339; node-forge, CVE-2022-24772),
        garbage instead of the FF padding (python-rsa, CVE-2016-1494), garbage in the digest
        algorithm's parameters (node-forge, CVE-2022-24771). Each is accepted by
        parsing_pkcs1_verify and refused by verify_rs256, which re-encodes (RFC 8017 section 8.2.2)."""
        key = e3_private_key()
        if key is None:
            self.skipTest("neither the cryptography package nor the openssl tool is here to make an e = 3 key")
        public = key.public_key()
        self.assertEqual(public.e, 3)
        k = scvjwt._modulus_bytes(public)
        self.assertEqual(k, 256, "the layouts below are drawn for a 2048-bit modulus")
        oid_der = b"\x06\x09" + SHA256_OID_CONTENTS

        def trailing_garbage(message):
            fixed = b"\x00\x01\xff\x00" + scvjwt._SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(message).digest()
            return integer_cube_root(int.from_bytes(fixed + b"\xff" * (k - len(fixed)), "big")).to_bytes(k, "big")

        def padding_garbage(message):
            suffix = b"\x00" + scvjwt._SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(message).digest()
            if not suffix[-1] & 1:
                return None                                   # a cube root mod 2**n needs an odd value
            signature = cube_with_ends(k, b"\x00\x01", suffix)
            em = pow(int.from_bytes(signature, "big"), 3)
            return signature if b"\x00" not in em.to_bytes(k, "big")[2:-len(suffix)] else None

        def parameter_garbage(message):
            # 00 01 FF 00 | 30 81 F9 | 30 81 D4 | 06 09 id-sha256 | 05 81 C6 <198 bytes> | 04 20 H
            prefix = (b"\x00\x01\xff\x00" + b"\x30\x81\xf9" + b"\x30\x81\xd4" + oid_der + b"\x05\x81\xc6")
            suffix = b"\x04\x20" + hashlib.sha256(message).digest()
            if not suffix[-1] & 1:
                return None
            return cube_with_ends(k, prefix, suffix)

        genuine_text = signing_input(RS256_HEADER, standard_claims())
        genuine = scvjwt.sign_rs256(key, genuine_text.encode("ascii"))
        self.assertTrue(parsing_pkcs1_verify(public, genuine_text.encode("ascii"), genuine))
        self.assertEqual(scvjwt.verify(genuine_text + "." + scvjwt.b64url_encode(genuine), public, now=NOW),
                         standard_claims())
        for build in (trailing_garbage, padding_garbage, parameter_garbage):
            text, forged = self.forged_token(build)
            em = pow(int.from_bytes(forged, "big"), 3, public.n).to_bytes(k, "big")
            self.assertEqual(em[:2], b"\x00\x01", build.__name__)
            self.assertNotEqual(em, scvjwt._emsa_pkcs1_v15_sha256(text.encode("ascii"), k))
            self.assertTrue(parsing_pkcs1_verify(public, text.encode("ascii"), forged),
                            "%s is not a working forgery against a parsing verifier" % build.__name__)
            self.assertFalse(scvjwt.verify_rs256(public, text.encode("ascii"), forged), build.__name__)
            self.assertRefused(text + "." + scvjwt.b64url_encode(forged), "signature", public)
            self.assertRefused(text + "." + scvjwt.b64url_encode(forged), "signature", key)

    def test_pkcs1_v15_digest_info_variants_refused(self):
        """Correctly padded, genuinely signed encodings that are not EMSA-PKCS1-v1_5 with SHA-256
        of this message: the DigestInfo without its NULL parameters (Wycheproof's MissingNull),
        SHA-1, SHA-224, SHA-384 and SHA-512 DigestInfos over the same message, SHA-256 with a
        truncated or extended digest, the bare digest, and block type 2 padding. All refused
        (RFC 8017 section 8.2.2 step 4 compares the whole encoding); node-forge CVE-2022-24773."""
        k = scvjwt._modulus_bytes(SAMPLE_KEY)
        text = signing_input(RS256_HEADER, standard_claims())
        message = text.encode("ascii")
        sha256 = hashlib.sha256(message).digest()
        self.assertEqual(rsasp1(SAMPLE_KEY, scvjwt._emsa_pkcs1_v15_sha256(message, k)),
                         scvjwt.sign_rs256(SAMPLE_KEY, message))          # the helper signs what it is given

        def digest_info(oid_hex, digest, null=True):
            algorithm = scvjwt._der_encode_sequence(bytes.fromhex(oid_hex), b"\x05\x00" if null else b"")
            return scvjwt._der_encode_sequence(algorithm, scvjwt._der_encode(0x04, digest))

        sha256_oid = "0609608648016503040201"
        self.assertEqual(digest_info(sha256_oid, sha256), scvjwt._SHA256_DIGEST_INFO_PREFIX + sha256)
        encodings = {
            "missing NULL": emsa_pkcs1_v15(digest_info(sha256_oid, sha256, null=False), k),
            "SHA-1": emsa_pkcs1_v15(digest_info("06052b0e03021a", hashlib.sha1(message).digest()), k),
            "SHA-224": emsa_pkcs1_v15(digest_info("0609608648016503040204", hashlib.sha224(message).digest()), k),
            "SHA-384": emsa_pkcs1_v15(digest_info("0609608648016503040202", hashlib.sha384(message).digest()), k),
            "SHA-512": emsa_pkcs1_v15(digest_info("0609608648016503040203", hashlib.sha512(message).digest()), k),
            "SHA-256 OID, 20-byte digest": emsa_pkcs1_v15(digest_info(sha256_oid, sha256[:20]), k),
            "SHA-256 OID, 33-byte digest": emsa_pkcs1_v15(digest_info(sha256_oid, sha256 + b"\x00"), k),
            "SHA-256 OID, SHA-512 digest": emsa_pkcs1_v15(digest_info(sha256_oid, hashlib.sha512(message).digest()), k),
            "bare digest": emsa_pkcs1_v15(sha256, k),
            "block type 2": emsa_pkcs1_v15(scvjwt._SHA256_DIGEST_INFO_PREFIX + sha256, k, block_type=2),
            "block type 0": b"\x00\x00" + bytes(k - 54) + b"\x00" + scvjwt._SHA256_DIGEST_INFO_PREFIX + sha256,
        }
        for name, encoded in encodings.items():
            self.assertEqual(len(encoded), k, name)
            signature = rsasp1(SAMPLE_KEY, encoded)
            self.assertFalse(scvjwt.verify_rs256(PUBLIC_KEY, message, signature), name)
            self.assertRefused(text + "." + scvjwt.b64url_encode(signature), "signature")
        self.assertTrue(parsing_pkcs1_verify(PUBLIC_KEY, message, rsasp1(SAMPLE_KEY, encodings["missing NULL"])))

    # 6. Leading zero bytes in signatures -----------------------------------------------------

    def test_leading_zero_bytes_and_out_of_range_signatures_refused(self):
        """A valid signature with a leading zero byte added (k+1 bytes) or, when it has one,
        removed (k-1 bytes); s + n (the same value mod n) in k bytes and in k+1; s = 0, 1, n-1,
        n and 2**(8k)-1: all refused (RFC 8017 section 8.2.2 step 1 and RSAVP1 step 1).
        CVE-2020-13757 (python-rsa: leading zeros), CVE-2020-14968 (jsrsasign: prepended zeros),
        CVE-2022-21449 (Java: the all-zero signature)."""
        token = signed_token(RS256_HEADER, standard_claims(jti=LEADING_ZERO_JTI))
        text, signature = token.rsplit(".", 1)[0], token_parts(token)[2]
        message = text.encode("ascii")
        n, k = PUBLIC_KEY.n, scvjwt._modulus_bytes(PUBLIC_KEY)
        self.assertEqual((len(signature), signature[0]), (k, 0), "the fixture's signature starts with 0x00")
        self.assertEqual(scvjwt.verify(token, PUBLIC_KEY, now=NOW), standard_claims(jti=LEADING_ZERO_JTI))
        s = int.from_bytes(signature, "big")
        other = token_parts(signed_token(RS256_HEADER, standard_claims()))[2]
        variants = {
            "a leading zero added": b"\x00" + signature,
            "two leading zeros added": b"\x00\x00" + signature,
            "its leading zero removed": signature[1:],
            "s + n in k bytes": (s + n).to_bytes(k, "big"),
            "s + n in k + 1 bytes": (s + n).to_bytes(k + 1, "big"),
            "s + 2n": (s + 2 * n).to_bytes(k + 1, "big"),
            "0": bytes(k), "1": (1).to_bytes(k, "big"), "n - 1": (n - 1).to_bytes(k, "big"),
            "n": n.to_bytes(k, "big"), "2**(8k) - 1": b"\xff" * k, "empty": b"",
        }
        for name, variant in variants.items():
            self.assertFalse(scvjwt.verify_rs256(PUBLIC_KEY, message, variant), name)
            self.assertRefused(text + "." + scvjwt.b64url_encode(variant), "signature")
        # The other signature (no leading zero): s + n needs k + 1 bytes, and is refused too.
        other_text = signing_input(RS256_HEADER, standard_claims())
        for variant in (b"\x00" + other, (int.from_bytes(other, "big") + n).to_bytes(k + 1, "big")):
            self.assertRefused(other_text + "." + scvjwt.b64url_encode(variant), "signature")

    # 7. Oversized tokens and error messages that echo them -----------------------------------

    def test_oversized_tokens_refused_without_echo(self):
        """A token of 16 KiB is read; 16 KiB + 1 and several MiB, validly signed, are malformed, and
        no message repeats any part of them (nor of any token this class refuses: see
        assertRefused). CVE-2024-33664 (python-jose: unbounded token size), CWE-209 and CWE-532
        (tokens in error messages and logs)."""
        at_limit = token_of_length(16 * 1024)
        self.assertEqual(scvjwt.verify(at_limit, PUBLIC_KEY, now=NOW)["iss"], ORG_ID)
        over = token_of_length(16 * 1024 + 1)
        self.assertRefused(over, "malformed")
        self.assertRefused(over.encode("ascii"), "malformed")
        huge = signed_token(RS256_HEADER, standard_claims(pad="A" * (3 << 20)))
        for token in (huge, huge.encode("ascii"), "e" * (5 << 20), ".".join(["e" * (2 << 20)] * 3)):
            self.assertRefused(token, "malformed")
            with self.assertRaises(scvjwt.TokenError) as caught:
                scvjwt.decode_unverified(token)
            self.assertEqual(caught.exception.reason, "malformed")
            self.assertNoEcho(str(caught.exception), token if isinstance(token, str) else token.decode("ascii"))

    def test_oversized_tokens_refused_without_echo_on_the_command_line(self):
        """`decode` and `verify` refuse a token of 16 KiB + 1 (argument) and of 3 MiB (standard
        input) with one error line that repeats no part of it, and print nothing on stdout."""
        cert = write_file(temp_dir(), "cert.pem", SAMPLE_CERTIFICATE_PEM)
        over = token_of_length(16 * 1024 + 1)
        huge = signed_token(RS256_HEADER, standard_claims(pad="A" * (3 << 20)))
        for args, stdin, token, expected in ((("decode", over), None, over, 2),
                                             (("verify", over, "--cert", cert), None, over, 1),
                                             (("decode", "-"), huge, huge, 2),
                                             (("verify", "-", "--cert", cert), huge, huge, 2)):
            status, out, err = run_cli(*args, input=None if stdin is None else stdin.encode("ascii"))
            self.assertEqual((status, out), (expected, ""), err)
            self.assertTrue(err.startswith("scvjwt: error:") and err.count("\n") == 1, err)
            self.assertNoEcho(err, token)

    def test_oversized_json_numbers_refused(self):
        """Huge JSON numbers (10**5000, -10**5000, 1e400, floats) in exp, iat or the header are
        malformed: neither OverflowError nor ValueError escapes verify, decode_unverified or the
        command line. CVE-2020-10735 (CPython: quadratic int parsing) is why 3.11+ refuse the
        digits; older versions must refuse the value."""
        big = b"1" + b"0" * 5000
        claims_texts = [b'{"iat":1767225600,"exp":' + big + b',"iss":"00D5e000001AbCd"}',
                        b'{"iat":' + big + b',"exp":1767225900}',
                        b'{"iat":1767225600,"exp":-' + big + b'}',
                        b'{"iat":-' + big + b',"exp":1767225900}',
                        b'{"iat":1767225600,"exp":1e400}', b'{"iat":1767225600,"exp":1e308}',
                        b'{"iat":1767225600,"exp":1767225900.0}', b'{"iat":1767225600,"exp":1.7e9}',
                        b'{"iat":1767225600,"exp":17672259' + b"0" * 4000 + b'e-4000}']
        tokens = [signed_token(RS256_HEADER, raw) for raw in claims_texts]
        for token in tokens:
            self.assertRefused(token, "malformed")
        # In a header member nobody reads, a huge number may be read (Python < 3.11) or refused.
        tolerated = [signed_token(b'{"alg":"RS256","x":' + big + b'}', standard_claims()),
                     signed_token(b'{"alg":"RS256","x":-1e99999}', standard_claims())]
        for token in tokens + tolerated:
            try:
                scvjwt.decode_unverified(token)
                scvjwt.verify(token, PUBLIC_KEY, now=NOW)
            except scvjwt.TokenError as error:
                self.assertEqual(error.reason, "malformed")
        status, out, err = run_cli("decode", tokens[0])      # read (Python < 3.11) or refused, never a traceback
        self.assertNotIn("Traceback", err)
        if status == 0:
            self.assertEqual(json.loads(out)["claims"]["exp"], 10 ** 5000)
        else:
            self.assertEqual((status, out), (2, ""), err)
            self.assertTrue(err.startswith("scvjwt: error:"), err)

    # 8. Huge moduli or exponents as a denial of service --------------------------------------

    def test_huge_moduli_and_exponents_refused_before_any_exponentiation(self):
        """Public keys with a 32768-bit (or 16385-bit) modulus, an exponent of 2**1024 + 1 or
        2**256 + 1, e = 0, 1, 2, an even e, e = n or e > n, an even n or one under 1024 bits are
        KeyFormatErrors at load, as RSAPublicKey(n, e) and as PKCS#1 and SubjectPublicKeyInfo
        DER and PEM, before any modular exponentiation; verify and verify_rs256 raise it too.
        CVE-2023-6237 (OpenSSL: slow checks of huge RSA keys), CVE-2023-29409 (Go: RSA keys over
        8192 bits in TLS)."""
        n = PUBLIC_KEY.n
        huge_n = n ** 16 | 1
        self.assertGreater(huge_n.bit_length(), 32760)
        hostile = [(huge_n, 65537), ((1 << 16384) + 1, 65537), (n, (1 << 1024) + 1), (n, (1 << 256) + 1),
                   (n, 0), (n, 1), (n, 2), (n, 65536), (n, n), (n, n + 2), (n + 1, 65537),
                   ((1 << 1022) + 1, 3), (n, (1 << 4096) + 1)]
        token = signed_token(RS256_HEADER, standard_claims())
        text, signature = token.rsplit(".", 1)[0].encode("ascii"), token_parts(token)[2]
        for numbers in hostile:
            pkcs1, spki = rsa_public_der(*numbers)
            inputs = [pkcs1, spki, scvjwt._pem_wrap("PUBLIC KEY", spki), scvjwt._pem_wrap("RSA PUBLIC KEY", pkcs1)]
            with counted_exponentiations(limit=0):
                with self.assertRaises(scvjwt.KeyFormatError):
                    scvjwt.RSAPublicKey(*numbers)
                for data in inputs:
                    with self.assertRaises(scvjwt.KeyFormatError):
                        scvjwt.load_public_key(data)
                    with self.assertRaises(scvjwt.KeyFormatError):
                        scvjwt.verify_rs256(data, text, signature)
                    with self.assertRaises(scvjwt.KeyFormatError):
                        scvjwt.verify(token, data, now=NOW)
        # The bounds themselves are usable: 16384 bits, a 256-bit exponent, e = 3.
        for numbers in (((1 << 16383) + 1, 65537), (n, (1 << 256) - 1), (n, 3)):
            self.assertEqual(scvjwt.load_public_key(rsa_public_der(*numbers)[1]), scvjwt.RSAPublicKey(*numbers))

    def test_huge_moduli_private_key_with_huge_d_refused_before_any_exponentiation(self):
        """An RSAPrivateKey whose d is larger than n (a 40000-bit d, d = n + 2), or whose modulus
        has 32768 bits, given as numbers or as PKCS#1 DER, is a KeyFormatError before any
        modular exponentiation."""
        n, e, d, p, q, dp, dq, qi = key_numbers(SAMPLE_KEY)
        huge_d = (1 << 40000) + 1
        with counted_exponentiations(limit=0):
            for numbers in ((n, e, huge_d), (n, e, huge_d, p, q), (n, e, n + 2), (n, e, n),
                            (n ** 16 | 1, e, d), (n, e, d, p, q, huge_d), (n, e, d, p, q, dp, dq, huge_d)):
                with self.assertRaises(scvjwt.KeyFormatError):
                    scvjwt.RSAPrivateKey(*numbers)
            for numbers in ((n, e, huge_d, p, q, dp, dq, qi), (n ** 16 | 1, e, d, p, q, dp, dq, qi)):
                with self.assertRaises(scvjwt.KeyFormatError):
                    scvjwt.load_private_key(rsa_private_pem(*numbers))

    def test_huge_moduli_private_key_recovery_from_hostile_n_e_d_is_bounded(self):
        """RSAPrivateKey(n, e, d) with a prime n (2**1279 - 1) or a prime power (211**134) and a d
        that fits them is refused after at most 32 exponentiations (the bound is 24 bases), and moduli over 4096
        bits need p and q. CVE-2023-6237
        (OpenSSL: checking an RSA key whose modulus is a large prime took very long)."""
        e = 65537
        for n, carmichael_lambda in (((1 << 1279) - 1, (1 << 1279) - 2), (211 ** 134, 210 * 211 ** 133)):
            d = scvjwt._inverse_mod(e, carmichael_lambda)
            with counted_exponentiations(limit=32):
                with self.assertRaises(scvjwt.KeyFormatError):
                    scvjwt.RSAPrivateKey(n, e, d)

    def test_huge_moduli_der_lengths_claiming_gigabytes_refused(self):
        """DER whose lengths claim gigabytes (4 GiB - 1, 2 GiB, 8-byte and 15-byte length fields),
        at the top and nested in a key, a SubjectPublicKeyInfo, a PKCS#8 key and an encrypted key,
        as DER and PEM: KeyFormatError, no MemoryError, no exponentiation. CVE-2016-2109 (OpenSSL:
        a short DER encoding whose length claims made it allocate without bound)."""
        algorithm = scvjwt._RSA_ALGORITHM_DER
        claims = [b"\x30\x84\xff\xff\xff\xff\x02\x01\x00", b"\x30\x84\x7f\xff\xff\xff\x02\x01\x00",
                  b"\x30\x88\x7f\xff\xff\xff\xff\xff\xff\xff\x02\x01\x00", b"\x30\x8f" + b"\xff" * 15,
                  b"\x30\x06\x02\x84\x7f\xff\xff\xff",
                  b"\x30\x16" + algorithm + b"\x03\x84\x7f\xff\xff\xff\x00",
                  b"\x30\x18\x02\x01\x00" + algorithm + b"\x04\x84\x7f\xff\xff\xff",
                  b"\x30\x0c\x30\x84\x7f\xff\xff\xff\x04\x84\x7f\xff\xff\xff"]
        with counted_exponentiations(limit=0):
            for der in claims:
                for label in ("PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY", "CERTIFICATE", "ENCRYPTED PRIVATE KEY"):
                    for data in (der, scvjwt._pem_wrap(label, der)):
                        with self.assertRaises(scvjwt.KeyFormatError):
                            scvjwt.load_private_key(data, password="x")
                        with self.assertRaises(scvjwt.KeyFormatError):
                            scvjwt.load_public_key(data)

    # 9. Unbounded PBKDF2 iterations ----------------------------------------------------------

    def test_unbounded_pbkdf2_iterations_refused_before_derivation(self):
        """An EncryptedPrivateKeyInfo (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC or DES-EDE3-CBC)
        asking for more than 10,000,000 iterations (10**9, 2**31, 2**64, 10**100) or for 0 is
        refused before PBKDF2 runs and before any other backend is asked. CVE-2022-36083 (jose),
        CVE-2023-50967 (latchset jose), CVE-2023-6681 (jwcrypto): unbounded PBES2 p2c."""
        for iterations in (10 ** 7 + 1, 10 ** 9, 2 ** 31, 2 ** 32 + 1, 2 ** 64, 2 ** 64 + 1, 10 ** 100, 0):
            for cipher in (OID_AES256_CBC, OID_DES_EDE3_CBC):
                der = pbes2_key(iterations, cipher)
                for data in (der, scvjwt._pem_wrap("ENCRYPTED PRIVATE KEY", der)):
                    with mock.patch("hashlib.pbkdf2_hmac") as derive, \
                            mock.patch.object(scvjwt, "_decrypt_elsewhere") as elsewhere, \
                            mock.patch.object(scvjwt, "_run_openssl") as tool:
                        with self.assertRaises(scvjwt.KeyFormatError) as caught:
                            scvjwt.load_private_key(data, password="password")
                    self.assertIn("iteration count", str(caught.exception))
                    for called in (derive, elsewhere, tool):
                        called.assert_not_called()

    def test_unbounded_pbkdf2_iterations_the_bound_itself_is_allowed(self):
        """10,000,000 iterations reach PBKDF2 (here a mock that returns a wrong key at once) and
        end in the wrong-password error, not the bound's; DES-EDE3-CBC goes on to the backends."""
        der = pbes2_key(10 ** 7)
        with mock.patch("hashlib.pbkdf2_hmac", return_value=bytes(32)) as derive:
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_private_key(der, password="password")
        derive.assert_called_once_with("sha256", b"password", PBKDF2_SALT, 10 ** 7, 32)
        self.assertEqual(str(caught.exception), scvjwt._WRONG_PASSWORD)
        with mock.patch.object(scvjwt, "_decrypt_elsewhere", side_effect=scvjwt.KeyFormatError("stub")) as elsewhere:
            with self.assertRaises(scvjwt.KeyFormatError):
                scvjwt.load_private_key(pbes2_key(10 ** 7, OID_DES_EDE3_CBC), password="password")
        self.assertEqual(elsewhere.call_count, 1)

    # 10. Fault attacks on CRT signing --------------------------------------------------------

    def test_crt_fault_corrupted_key_values_never_release_a_bad_signature(self):
        """dp, dq, qi, p or q altered in the key object (keys are immutable; object.__setattr__
        stands for a memory fault): no backend releases a signature that fails verification. The
        pure backend always raises BackendError; openssl and cryptography may refuse the key or
        sign correctly with d. Boneh, DeMillo and Lipton 1997 ("Bellcore"), Lenstra 1996; Weimer
        2015, "Factoring RSA Keys With TLS Perfect Forward Secrecy" (devices that released
        miscomputed RSA-CRT signatures)."""
        message = b"header.claims"
        changes = {"plus two": lambda value: value + 2, "low bit flipped": lambda value: value ^ 1,
                   "high bit flipped": lambda value: value ^ (1 << (value.bit_length() - 2))}
        for backend in scvjwt.backends():
            for name in ("dp", "dq", "qi", "p", "q"):
                for change, alter in changes.items():
                    key = scvjwt.load_private_key(SAMPLE_KEY.to_pem())     # a fresh object: no cached forms
                    object.__setattr__(key, name, alter(getattr(key, name)))
                    label = "%s, %s %s" % (backend, name, change)
                    try:
                        signature = scvjwt.sign_rs256(key, message, backend=backend)
                    except scvjwt.BackendError as error:
                        self.assertNoSecrets(str(error))
                        self.assertNoSecrets(str(error), key)
                        continue
                    self.assertNotEqual(backend, "pure", "%s: the pure backend released a signature" % label)
                    self.assertTrue(scvjwt.verify_rs256(PUBLIC_KEY, message, signature),
                                    "%s: a corrupted key released a bad signature" % label)

    def test_crt_fault_transient_fault_is_withheld(self):
        """A transient fault in one CRT half (s1 = c**dP mod p, or s2) or in the blinding makes
        sign_rs256 raise BackendError. The same fault with the check skipped (_sign_pure alone)
        gives the signature of Bellcore's attack, gcd(s**e - m, n) = q (or p): sign_rs256 releases
        nothing for it to work with."""
        import math
        key, message = SAMPLE_KEY, b"header.claims"
        k = scvjwt._modulus_bytes(key)
        em = scvjwt._emsa_pkcs1_v15_sha256(message, k)
        m = int.from_bytes(em, "big")
        for exponent, modulus, factor in ((key.dp, key.p, key.q), (key.dq, key.q, key.p)):
            with one_faulty_exponentiation(exponent, modulus) as faults:
                with self.assertRaises(scvjwt.BackendError) as caught:
                    scvjwt.sign_rs256(key, message, backend="pure")
            self.assertEqual(len(faults), 1, "the fault was injected once")
            self.assertIn("not released", str(caught.exception))
            self.assertNoSecrets(str(caught.exception))
            with one_faulty_exponentiation(exponent, modulus):
                faulty = int.from_bytes(scvjwt._sign_pure(key, message, em), "big")
            self.assertEqual(math.gcd(pow(faulty, key.e, key.n) - m, key.n), factor,
                             "the injected fault is the one that factors n")
        key._backend_cache.pop("blinding", None)                              # a fresh pair is drawn next
        with one_faulty_exponentiation(key.e, key.n) as faults:                # pow(r, e, n) of the blinding
            with self.assertRaises(scvjwt.BackendError):
                scvjwt.sign_rs256(key, message, backend="pure")
        self.assertEqual(len(faults), 1)
        self.assertEqual(scvjwt.sign_rs256(key, message, backend="pure"), rsasp1(key, em))   # no fault: signed

    def test_crt_fault_zeroed_prime_is_a_backend_error(self):
        """p or q zeroed in the key object (a wiped value, as a fault can leave it): sign_rs256
        raises BackendError like the other backends, never a bare ArithmeticError."""
        for name in ("p", "q"):
            key = scvjwt.load_private_key(SAMPLE_KEY.to_pem())
            object.__setattr__(key, name, 0)
            with self.assertRaises(scvjwt.BackendError):
                scvjwt.sign_rs256(key, b"header.claims", backend="pure")

    # 11. Secrets in messages -----------------------------------------------------------------

    def test_secrets_never_in_repr_str_or_error_messages(self):
        """No private number (decimal or hex) and no PEM text of the key in the repr or str of
        key objects and Minters, in KeyFormatError, ClaimsError and BackendError messages about
        the key (inconsistent numbers, damaged PEM and DER, the key given where an org ID, a Call
        Center or a backend name goes), nor in the output of `token` and `check`. CWE-209
        (information exposure through an error message), as SPEC.md requires."""
        n, e, d, p, q, dp, dq, qi = key_numbers(SAMPLE_KEY)
        pem8, pem1 = SAMPLE_KEY.to_pem(), SAMPLE_KEY.to_pem("pkcs1")
        body = "".join(pem8.splitlines()[1:-1])
        damaged_pem = rsa_private_pem(n, e, d, p, q, dp, dq, qi + 1)
        changed = pem8[:400] + ("A" if pem8[400] != "A" else "B") + pem8[401:]
        texts = [repr(SAMPLE_KEY), str(SAMPLE_KEY), repr(PUBLIC_KEY), str(PUBLIC_KEY),
                 repr(scvjwt.load_private_key(pem1)), repr(scvjwt.Minter(SAMPLE_KEY, ORG_ID, CALL_CENTER))]
        attempts = [lambda: scvjwt.RSAPrivateKey(n, e, d + 2, p, q), lambda: scvjwt.RSAPrivateKey(n, e, d, p + 2, q),
                    lambda: scvjwt.RSAPrivateKey(n, e, d, p, q, dp + 1),
                    lambda: scvjwt.RSAPrivateKey(n, e, d, p, q, dp, dq + 1),
                    lambda: scvjwt.RSAPrivateKey(n, e, d, p, q, dp, dq, qi + 1),
                    lambda: scvjwt.RSAPrivateKey(n, e, d + 2), lambda: scvjwt.RSAPrivateKey(n + 2, e, d, p, q),
                    lambda: scvjwt.RSAPrivateKey(n, e, -d), lambda: scvjwt.RSAPrivateKey(n, e, str(d)),
                    lambda: scvjwt.load_private_key(damaged_pem), lambda: scvjwt.load_private_key(changed),
                    lambda: scvjwt.load_private_key(pem8[:len(pem8) // 2]),
                    lambda: scvjwt.load_private_key(pem8.replace("-----END", "-----END X")),
                    lambda: scvjwt.load_private_key(SAMPLE_KEY._pkcs8_der()[:-1]),
                    lambda: scvjwt.load_private_key(SAMPLE_KEY._pkcs8_der() + b"\x00"),
                    lambda: scvjwt.load_private_key(body[:-8]),
                    lambda: scvjwt.load_private_key(pem8.replace("PRIVATE KEY", "EC PRIVATE KEY")),
                    lambda: scvjwt.load_private_key(PUBLIC_KEY.to_pem()),
                    lambda: scvjwt.load_public_key(pem8.replace("PRIVATE KEY", "DSA PRIVATE KEY")),
                    lambda: scvjwt.self_signed_certificate(SAMPLE_KEY, "x" * 65),
                    lambda: SAMPLE_KEY.to_pem("pem"),
                    lambda: scvjwt.mint(SAMPLE_KEY, pem8, CALL_CENTER),
                    lambda: scvjwt.mint(SAMPLE_KEY, pem1, CALL_CENTER),
                    lambda: scvjwt.mint(SAMPLE_KEY, ORG_ID, pem1), lambda: scvjwt.mint(SAMPLE_KEY, body, CALL_CENTER),
                    lambda: scvjwt.mint(SAMPLE_KEY, ORG_ID, CALL_CENTER, backend=pem8),
                    lambda: scvjwt.sign_rs256(SAMPLE_KEY, pem8), lambda: scvjwt.verify(pem8, PUBLIC_KEY)]
        for attempt in attempts:
            with self.assertRaises(scvjwt.ScvJwtError) as caught:
                attempt()
            texts.append(str(caught.exception))
        for text in texts:
            self.assertNoSecrets(text)
            self.assertNoSecrets(text, extra=pem_fragments(damaged_pem))
        folder = temp_dir()
        key_file = write_file(folder, "key.pem", pem8)
        cert_file = write_file(folder, "cert.pem", SAMPLE_CERTIFICATE_PEM)
        damaged_file = write_file(folder, "damaged.pem", damaged_pem)
        status, out, err = run_cli("check", "--key", key_file, "--cert", cert_file)
        self.assertEqual(status, 0, err)
        self.assertNoSecrets(out + err)
        status, out, err = run_cli("token", "--key", damaged_file, "--org-id", ORG_ID, "--call-center", CALL_CENTER)
        self.assertEqual((status, out), (2, ""), err)
        self.assertNoSecrets(err, extra=pem_fragments(damaged_pem))

    def test_secrets_wrong_password_never_in_error_messages(self):
        """A wrong password is never repeated: not by load_private_key (PBES2 AES in this file,
        legacy PEM, DES-EDE3-CBC through the openssl tool or cryptography) nor on the command line."""
        password = "Wr0ng-hunter2-\u00e9t\u00e9"
        synthetic = scvjwt._pem_wrap("ENCRYPTED PRIVATE KEY", pbes2_key(2048))
        keys = [synthetic]
        if OPENSSL:
            pem = SAMPLE_KEY.to_pem().encode("ascii")
            keys += [openssl_pkcs8(pem, "-v2", "aes-256-cbc"), openssl_legacy(pem, "-aes256"),
                     openssl_legacy(pem, "-des3")]
        for data in keys:
            for given in (password, password.encode("utf-8")):
                with self.assertRaises(scvjwt.KeyFormatError) as caught:
                    scvjwt.load_private_key(data, password=given)
                for shown in (password, password.encode("utf-8").decode("latin-1"), repr(password)[1:-1]):
                    self.assertNotIn(shown, str(caught.exception))
        key_file = write_file(temp_dir(), "encrypted.pem", keys[-1])
        status, out, err = run_cli("token", "--key", key_file, "--org-id", ORG_ID, "--call-center", CALL_CENTER,
                                   "--password-env", "SCVJWT_TEST_PASSWORD", env={"SCVJWT_TEST_PASSWORD": password})
        self.assertEqual((status, out), (2, ""), err)
        self.assertIn("password", err)
        self.assertNotIn(password, err)
        self.assertNotIn("hunter2", err)


# ------------------------------------------------------------------------------------------------
# The audit guide in README.md
# ------------------------------------------------------------------------------------------------

class AuditGuideTest(unittest.TestCase):
    """The audit guide names functions with the lines they sit at in scvjwt.py, and the tests
    that prove them: both must stay right as the file changes."""

    def guide_rows(self):
        readme = os.path.join(HERE, "README.md")
        if not os.path.exists(readme):
            self.skipTest("README.md is not beside the tests")
        with open(readme, encoding="utf-8") as handle:
            table = handle.read().split("<!-- audit-table -->")[1].split("<!-- /audit-table -->")[0]
        rows = re.findall(r"\| `([\w.]+)` \| (\d+)-(\d+) \| [^|]+ \| `(\w+)\.(\w+)` \|", table)
        self.assertGreaterEqual(len(rows), 15)
        return rows

    def test_functions_sit_at_the_lines_the_guide_gives(self):
        import inspect
        for name, start, end, _, _ in self.guide_rows():
            function = scvjwt
            for part in name.split("."):
                function = getattr(function, part)
            source, first = inspect.getsourcelines(function)
            self.assertEqual((int(start), int(end)), (first, first + len(source) - 1), name)

    def test_the_tests_the_guide_names_exist(self):
        for _, _, _, test_class, test_method in self.guide_rows():
            self.assertTrue(callable(getattr(globals().get(test_class), test_method, None)),
                            "%s.%s" % (test_class, test_method))


if __name__ == "__main__":
    unittest.main()
