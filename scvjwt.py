#!/usr/bin/env python3
# scvjwt: RS256 bearer tokens for Salesforce Service Cloud Voice's Telephony Integration REST API.
# Copyright (c) 2026 the scvjwt authors. SPDX-License-Identifier: MIT (the full text is in LICENSE).
"""Mint and check the RS256 JWT that authorizes calls to the Telephony Integration REST API.

One file, Python standard library only, CPython 3.6 to 3.13. The six documented steps, and the
functions that do them (mint() runs 1 to 5; the README's audit guide gives line numbers):

  1. the header JSON {"alg":"RS256","typ":"JWT"}       _header_json()
  2. the header in base64url                            b64url_encode(), in _signing_input()
  3. the claims JSON: iat, exp, iss, sub [aud] [jti]    build_claims(), _json_bytes()
  4. the claims in base64url                            b64url_encode(), in _signing_input()
  5. the RS256 signature over "header.claims"           _sign_claims() -> _sign():
                                                        _emsa_pkcs1_v15_sha256(), _sign_pure()
  6. the header "Authorization: Bearer <token>"         Minter.authorization(), request()

Try it: python3 scvjwt.py demo. The command line: python3 scvjwt.py --help.
"""

import _thread
import binascii
import hashlib
import hmac
import json
import math
import os
import sys
import time

__version__ = "1.0.0"
__all__ = [
    "ScvJwtError", "KeyFormatError", "ClaimsError", "BackendError", "TokenError", "RequestError",
    "b64url_encode", "b64url_decode",
    "RSAPublicKey", "RSAPrivateKey", "load_private_key", "load_public_key",
    "generate_private_key", "self_signed_certificate",
    "backends", "sign_rs256", "verify_rs256",
    "DEFAULT_TTL", "MAX_TTL", "build_claims", "mint", "Minter",
    "decode_unverified", "ReplayCache", "verify", "request", "Response", "main",
]

# Annotations name typing constructs in quotes, so that importing this module does not import
# typing (a measurable share of a one-shot command's start-up); type checkers read them all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union
    from typing_extensions import TypeGuard
    BytesLike = Union[bytes, bytearray, memoryview]
    PemBlock = Tuple[Optional[str], Dict[str, str], bytes]
    AesTables = Tuple[List[int], List[int], List[int], List[int], List[int], List[int]]
    AesRoundKeys = List[Tuple[int, int, int, int]]


# ------------------------------------------------------------------------------------------------
# Errors, and small helpers for numbers, times, messages and optional imports used throughout
# ------------------------------------------------------------------------------------------------

class ScvJwtError(Exception):
    """The base of every error scvjwt raises on purpose. Messages never hold key material."""


class KeyFormatError(ScvJwtError, ValueError):
    """Key or certificate data that cannot be used: malformed, of another key type, encrypted
    without the right password, inconsistent numbers, or sizes and exponents out of range."""


class ClaimsError(ScvJwtError, ValueError):
    """A bad org ID, Call Center API name, lifetime or time."""


class BackendError(ScvJwtError):
    """An unknown or unavailable signing backend, or a backend that failed."""


class RequestError(ScvJwtError, ValueError):
    """A request that cannot be sent as asked: a bad method, URL, JSON body or header, or bad
    retry or timeout settings (raised before anything is sent)."""


class TokenError(ScvJwtError, ValueError):
    """A token that fails decoding or verification. `reason` names the check that failed."""

    REASONS = ("malformed", "algorithm", "signature", "expired", "future", "lifetime",
               "issuer", "subject", "audience", "replay")

    def __init__(self, reason: str, message: "Optional[str]" = None) -> None:
        if reason not in self.REASONS:
            raise ValueError("unknown TokenError reason %r" % (reason,))
        super().__init__(message or "the token is invalid (%s)" % reason)
        self.reason = reason

    def __reduce__(self) -> "Tuple[Any, ...]":
        return (type(self), (self.reason, str(self)))


# Errors that stay inside scvjwt, each turned into one of the above before it leaves.

class _PasswordNeeded(KeyFormatError):
    """An encrypted key was given no password (the command line then asks for one on a terminal)."""


class _NoAnswer(Exception):
    """An attempt that got no HTTP answer. `sent` is True when the server may have received the
    request (the failure came after it went out), so that only idempotent methods are retried."""

    def __init__(self, message: str, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class _InputError(ScvJwtError):
    """Bad command-line input: a missing option or an unreadable file (exit status 2)."""


# Small helpers that the checks and their messages share.

def _type_name(value: object) -> str:
    return type(value).__name__


def _is_int(value: object) -> "TypeGuard[int]":
    """True for int values; bool is an int to Python but never a number here."""
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: object) -> str:
    """A short, safe rendering of a rejected identifier for an error message (a whole number by
    its size: repr() of one with thousands of digits is slow, and refused on Python 3.11+)."""
    if _is_int(value) and value.bit_length() > 64:
        return "an integer of %d bits" % value.bit_length()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _whole_number(value: object, what: str, low: int, high: int, unit: str = "seconds") -> int:
    """`value` when it is a whole number from `low` to `high`; else ClaimsError."""
    if not _is_int(value) or not low <= value <= high:
        raise ClaimsError("%s must be a whole number of %s from %d to %d" % (what, unit, low, high))
    return value


_MAX_EPOCH = 253402300799   # 9999-12-31T23:59:59Z: later times are not times


def _epoch(now: object) -> float:
    """A time in seconds since the epoch: the clock when `now` is None."""
    if now is None:
        return time.time()
    if not isinstance(now, (int, float)) or isinstance(now, bool) or not 0 <= now <= _MAX_EPOCH:
        raise ClaimsError("the time must be seconds since 1970 (a number from 0 to %d)" % _MAX_EPOCH)
    return now


def _utc_iso(seconds: int) -> str:
    """A time in seconds since 1970 as ISO 8601 UTC text, e.g. 2026-01-01T00:00:00Z; any year
    from 1 to 9999, also before 1970."""
    import datetime
    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)).isoformat() + "Z"


def _import_quietly(name: str) -> "Any":
    """The module `name`, imported with its import-time warnings silenced: cryptography warns
    there that this Python is old (3.6, 3.7), a notice for whoever chose the package, not for a
    user of scvjwt, whose backend="auto" or encrypted key file made scvjwt import it.
    (catch_warnings changes the process's filters while it lasts; a module is imported once.)"""
    import importlib
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


# ------------------------------------------------------------------------------------------------
# base64url: RFC 4648 section 5, without padding as RFC 7515 section 2 and appendix C require
# ------------------------------------------------------------------------------------------------

_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_TO_B64URL = bytes.maketrans(b"+/", b"-_")
_FROM_B64URL = bytes.maketrans(b"-_", b"+/")
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")   # PEM bodies


def b64url_encode(data: "BytesLike") -> str:
    """Encode bytes in base64url (RFC 4648 section 5) without '=' padding (RFC 7515 section 2)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TokenError("malformed", "b64url_encode takes bytes, not %s" % _type_name(data))
    return binascii.b2a_base64(bytes(data), newline=False).rstrip(b"=").translate(_TO_B64URL).decode("ascii")


def _ascii_text(value: object, what: str) -> str:
    """`value` as a str: a str as it is, bytes of ASCII decoded; else TokenError("malformed")."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("ascii")
        except UnicodeDecodeError:
            raise TokenError("malformed", "%s must be ASCII" % what) from None
    if not isinstance(value, str):
        raise TokenError("malformed", "%s must be str or bytes, not %s" % (what, _type_name(value)))
    return value


def b64url_decode(text: "Union[str, BytesLike]") -> bytes:
    """Decode unpadded base64url strictly: one canonical text for each byte string.

    Refused with TokenError (reason "malformed"): padding, whitespace, any character outside the
    RFC 4648 section 5 alphabet, a length of 1 mod 4 (no whole byte), and non-zero unused bits in
    the last character (RFC 4648 section 3.5 lets a decoder reject them; accepting them would let
    several texts stand for one signature).
    """
    text = _ascii_text(text, "base64url text")
    if not _B64URL_ALPHABET.issuperset(text):
        raise TokenError("malformed", "not base64url: a character outside A-Z a-z 0-9 - _")
    if len(text) % 4 == 1:
        raise TokenError("malformed", "not base64url: the length cannot encode whole bytes")
    data = binascii.a2b_base64(text.encode("ascii").translate(_FROM_B64URL) + b"=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise TokenError("malformed", "not canonical base64url: the unused bits are not zero")
    return data


def _b64_decode_strict(text: str) -> "Optional[bytes]":
    """Standard base64 (RFC 4648 section 4) with optional padding, as PEM bodies carry it;
    None when the text holds anything else."""
    body = text.rstrip("=")
    if len(text) - len(body) > 2 or len(body) % 4 == 1 or not _B64_ALPHABET.issuperset(body):
        return None
    return binascii.a2b_base64(body + "=" * (-len(body) % 4))


# ------------------------------------------------------------------------------------------------
# DER and PEM: ITU-T X.690 (DER), RFC 7468 (PEM), RFC 8017 appendix A (RSA keys),
# RFC 5208/5958 (PKCS#8), RFC 5280 (certificates and SubjectPublicKeyInfo)
# ------------------------------------------------------------------------------------------------

_INTEGER, _BIT_STRING, _OCTET_STRING, _NULL, _OID, _SEQUENCE = 0x02, 0x03, 0x04, 0x05, 0x06, 0x30

_RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"
# Key types met in the field, named in the errors that refuse them.
_KEY_TYPE_NAMES = {
    _RSA_ENCRYPTION_OID: "RSA",
    "1.2.840.113549.1.1.10": "RSA-PSS",
    "1.2.840.10045.2.1": "EC",
    "1.2.840.10040.4.1": "DSA",
    "1.2.840.113549.1.3.1": "DH",
    "1.2.840.10046.2.1": "DH",
    "1.3.101.110": "X25519",
    "1.3.101.111": "X448",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
    "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
    "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
}

_MAX_KEY_INPUT = 1 << 20          # no key, certificate or secret file comes near 1 MiB
_MAX_OID_LENGTH = 64              # longer object identifiers are not found in keys


def _der_error(what: str) -> KeyFormatError:
    return KeyFormatError("malformed DER: " + what)


def _der_read(data: bytes, pos: int) -> "Tuple[int, bytes, int]":
    """Read the element at `pos` (X.690 section 8.1): return (tag, contents, position after it).

    DER only (X.690 section 10.1): low tag numbers, definite lengths in the fewest bytes. The
    contents are sliced from `data`, so nothing is ever read past the parent's end.
    """
    if pos + 2 > len(data):
        raise _der_error("the data ends inside an element")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if tag & 0x1F == 0x1F:
        raise _der_error("high tag numbers are not used in keys")
    if length == 0x80:
        raise _der_error("indefinite lengths are not DER")
    if length > 0x80:
        count = length & 0x7F
        if count > 4 or pos + count > len(data):
            raise _der_error("a length runs past the end of the data")
        length = int.from_bytes(data[pos:pos + count], "big")
        if data[pos] == 0 or length < 0x80:
            raise _der_error("a length is not in its shortest form")
        pos += count
    end = pos + length
    if end > len(data):
        raise _der_error("an element runs past the end of its parent")
    return tag, data[pos:end], end


def _der_items(contents: bytes, min_items: int, max_items: int, what: str) -> "List[Tuple[int, bytes]]":
    """Split the contents of a constructed element into (tag, contents) pairs, expecting between
    `min_items` and `max_items` of them (so hostile input cannot make long lists)."""
    items = []  # type: List[Tuple[int, bytes]]
    pos = 0
    while pos < len(contents):
        if len(items) == max_items:
            raise _der_error("%s has more than %d elements" % (what, max_items))
        tag, value, pos = _der_read(contents, pos)
        items.append((tag, value))
    if len(items) < min_items:
        raise _der_error("%s has fewer than %d elements" % (what, min_items))
    return items


def _der_sequence(data: bytes, min_items: int, max_items: int, what: str) -> "List[Tuple[int, bytes]]":
    """The elements of the SEQUENCE that fills `data` exactly (no trailing bytes)."""
    tag, contents, end = _der_read(data, 0)
    if tag != _SEQUENCE:
        raise _der_error("%s is not a SEQUENCE" % what)
    if end != len(data):
        raise _der_error("bytes follow the end of %s" % what)
    return _der_items(contents, min_items, max_items, what)


def _der_expect(item: "Tuple[int, bytes]", tag: int, what: str) -> bytes:
    if item[0] != tag:
        raise _der_error("%s has the wrong type" % what)
    return item[1]


def _der_uint(item: "Tuple[int, bytes]", what: str) -> int:
    """A non-negative INTEGER (X.690 section 8.3) in its shortest two's complement form."""
    contents = _der_expect(item, _INTEGER, what)
    if not contents:
        raise _der_error("%s is an empty INTEGER" % what)
    if contents[0] & 0x80:
        raise _der_error("%s is negative" % what)
    if len(contents) > 1 and contents[0] == 0 and not contents[1] & 0x80:
        raise _der_error("%s has a superfluous leading zero byte" % what)
    return int.from_bytes(contents, "big")


def _der_oid_text(item: "Tuple[int, bytes]", what: str) -> str:
    """An OBJECT IDENTIFIER (X.690 section 8.19) in dotted form, e.g. "1.2.840.113549.1.1.1"."""
    contents = _der_expect(item, _OID, what)
    if not contents or len(contents) > _MAX_OID_LENGTH or contents[-1] & 0x80:
        raise _der_error("%s is not a valid object identifier" % what)
    arcs, value, arc_start = [], 0, True
    for byte in contents:
        if arc_start and byte == 0x80:
            raise _der_error("%s has a padded arc" % what)
        value = (value << 7) | (byte & 0x7F)
        arc_start = not byte & 0x80
        if arc_start:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first] + arcs[1:])


def _der_bit_string_bytes(item: "Tuple[int, bytes]", what: str) -> bytes:
    """The bytes of a BIT STRING (X.690 section 8.6) that holds whole bytes only."""
    contents = _der_expect(item, _BIT_STRING, what)
    if not contents or contents[0] != 0:
        raise _der_error("%s does not hold whole bytes" % what)
    return contents[1:]


def _der_algorithm(item: "Tuple[int, bytes]", what: str) -> "Tuple[str, List[Tuple[int, bytes]]]":
    """An AlgorithmIdentifier (RFC 5280 section 4.1.1.2): (OID text, parameter elements)."""
    fields = _der_items(_der_expect(item, _SEQUENCE, what), 1, 2, what)
    return _der_oid_text(fields[0], what), fields[1:]


def _der_encode(tag: int, contents: bytes) -> bytes:
    """One DER element: tag, definite length in its shortest form (X.690 section 10.1), contents."""
    size = len(contents)
    if size < 0x80:
        return bytes((tag, size)) + contents
    size_bytes = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size_bytes))) + size_bytes + contents


def _der_encode_uint(value: int) -> bytes:
    """A non-negative INTEGER; one more byte than the bit length needs keeps the sign bit clear."""
    return _der_encode(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _der_encode_sequence(*elements: bytes) -> bytes:
    return _der_encode(_SEQUENCE, b"".join(elements))


# AlgorithmIdentifier { rsaEncryption, NULL } (RFC 8017 appendix A.1), the same in every RSA key.
_RSA_ALGORITHM_DER = bytes.fromhex("300d06092a864886f70d0101010500")


# PEM (RFC 7468). The labels scvjwt reads, what each holds, and labels of other key types.
_PEM_KINDS = {
    "RSA PRIVATE KEY": "pkcs1-private",
    "PRIVATE KEY": "pkcs8",
    "ENCRYPTED PRIVATE KEY": "encrypted-pkcs8",
    "PUBLIC KEY": "spki",
    "RSA PUBLIC KEY": "pkcs1-public",
    "CERTIFICATE": "certificate",
    "X509 CERTIFICATE": "certificate",
    "EC PRIVATE KEY": "EC",
    "DSA PRIVATE KEY": "DSA",
    "OPENSSH PRIVATE KEY": "OpenSSH",
    "CERTIFICATE REQUEST": "csr",
    "NEW CERTIFICATE REQUEST": "csr",
}
_PRIVATE_KINDS = ("pkcs1-private", "pkcs8", "encrypted-pkcs8")
_PUBLIC_KINDS = ("spki", "pkcs1-public", "certificate")
_RSA_KINDS = _PRIVATE_KINDS + _PUBLIC_KINDS


def _pem_wrap(label: str, der: bytes) -> str:
    """PEM text (RFC 7468 section 2): base64 in lines of 64 characters between the two lines."""
    body = binascii.b2a_base64(der, newline=False).decode("ascii")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


def _repair_transport_damage(text: str) -> str:
    """Undo what copying through JSON, env files and shells does to PEM text: escaped newlines
    (literal \\n, also doubly escaped), escaped slashes and quotes, and CR or CRLF line ends.
    Newlines turned into spaces, indentation, quotes and text around the block need no repair:
    the block reader skips them."""
    while "\\\\" in text:
        text = text.replace("\\\\", "\\")
    for escaped, plain in (("\\r", "\n"), ("\\n", "\n"), ("\\t", " "), ("\\/", "/"), ('\\"', '"')):
        text = text.replace(escaped, plain)
    return text.replace("\r", "\n")


def _pem_blocks(text: str) -> "Tuple[List[PemBlock], List[str]]":
    """Every '-----BEGIN X-----' ... '-----END X-----' block in `text` as (label, headers, DER),
    and what was wrong with the blocks that could not be read (no END line before the next
    BEGIN, no valid base64): those are skipped, so that a damaged block does not hide a good one
    in the same text."""
    blocks, damaged = [], []   # type: List[PemBlock], List[str]
    opened = None              # type: Optional[Tuple[str, int]]  # label, start of the body
    for word, label, start, after in _pem_lines(text):
        if word == "BEGIN":
            if opened:
                damaged.append("the PEM block '%s' has no END line" % opened[0])
            opened = (label, after)
        elif opened and label == opened[0]:
            try:
                headers, der = _pem_body(label, text[opened[1]:start])
                blocks.append((label, headers, der))
            except KeyFormatError as error:
                damaged.append(str(error))
            opened = None
    if opened:
        damaged.append("the PEM block '%s' has no END line" % opened[0])
    return blocks, damaged


def _pem_lines(text: str) -> "Iterator[Tuple[str, str, int, int]]":
    """The '-----BEGIN X-----' and '-----END X-----' lines of `text`, in order: (BEGIN or END,
    the label X, where the line starts, where it ends). Labels are letters, digits and spaces,
    at most 40 characters. Each kind of line is searched for from where its last search ended,
    so that the whole text is read once, however hostile."""
    next_line = {word: text.find("-----%s " % word) for word in ("BEGIN", "END")}
    while True:
        found = sorted((where, word) for word, where in next_line.items() if where >= 0)
        if not found:
            return
        start, word = found[0]
        label_start = start + len(word) + 6
        label_end = text.find("-----", label_start)
        if label_end < 0:
            return
        label = " ".join(text[label_start:label_end].split())
        valid = label and len(label) <= 40 and label.replace(" ", "").isalnum()
        if valid:
            yield word, label, start, label_end + 5
        resume = label_end + 5 if valid else label_start
        for other, where in next_line.items():
            if 0 <= where < resume:
                next_line[other] = text.find("-----%s " % other, resume)


def _pem_body(label: str, body: str) -> "Tuple[Dict[str, str], bytes]":
    """Split a PEM body into its RFC 1421 headers (OpenSSL's Proc-Type and DEK-Info) and the DER
    its base64 holds. Words, not lines, so that bodies whose newlines became spaces still read."""
    words = body.replace("\\", " ").replace('"', " ").replace("'", " ").split()
    headers = {}
    first = 0   # the first base64 word: an index, since popping from the front is quadratic on hostile input
    while first < len(words) and ":" in words[first]:
        name, _, value = words[first].partition(":")
        first += 1
        if not value and first < len(words):
            value, first = words[first], first + 1
        headers[name] = value
    der = _b64_decode_strict("".join(words[first:]))
    if not der:
        raise KeyFormatError("the PEM block '%s' does not hold valid base64" % label)
    return headers, der


def _key_blocks(data: object, what: str) -> "Tuple[List[PemBlock], List[str]]":
    """Read key or certificate input (bytes or str; PEM, possibly damaged, or DER, or bare
    base64 of DER) into blocks, DER being one block whose label is None; and the problems of the
    PEM blocks that could not be read (see _pem_blocks)."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, (bytes, str)):
        raise KeyFormatError("%s must be bytes or str, not %s" % (what, _type_name(data)))
    if len(data) > _MAX_KEY_INPUT:
        raise KeyFormatError("the %s data is larger than 1 MiB; it is not a key or certificate" % what)
    if isinstance(data, bytes):
        if data[:1] == b"\x30" and b"-----BEGIN" not in data:
            return [(None, {}, data)], []
        data = _decode_key_text(data)
    text = _repair_transport_damage(data)
    blocks, damaged = _pem_blocks(text)
    if blocks or damaged:
        return blocks, damaged
    der = _b64_decode_strict("".join(text.replace("\\", " ").strip().strip("\"'").split()))
    if der and der[:1] == b"\x30":
        return [(None, {}, der)], []
    raise KeyFormatError("the %s data is neither PEM (no '-----BEGIN' line) nor DER" % what)


def _decode_key_text(data: bytes) -> str:
    """Text of a key file: UTF-8 (with or without a byte order mark) or, as Windows PowerShell
    redirection writes it, UTF-16 with a byte order mark. Other bytes are kept as Latin-1 so that
    the PEM block still reads whatever surrounds it."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise KeyFormatError("the key file starts as UTF-16 text but is not") from None
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    return data.decode("latin-1")


def _der_kind(der: bytes) -> str:
    """Which structure a DER key or certificate is, from the shape of its outer SEQUENCE."""
    items = _der_sequence(der, 1, 10, "the key")
    tags = [tag for tag, _ in items]
    if tags[:3] == [_INTEGER, _SEQUENCE, _OCTET_STRING]:
        return "pkcs8"                                   # RFC 5958 OneAsymmetricKey
    if len(tags) in (9, 10) and set(tags[:9]) == {_INTEGER}:
        return "pkcs1-private"                           # RFC 8017 A.1.2 RSAPrivateKey
    if tags == [_SEQUENCE, _OCTET_STRING]:
        return "encrypted-pkcs8"                         # RFC 5958 EncryptedPrivateKeyInfo
    if tags == [_SEQUENCE, _BIT_STRING]:
        return "spki"                                    # RFC 5280 SubjectPublicKeyInfo
    if tags == [_INTEGER, _INTEGER]:
        return "pkcs1-public"                            # RFC 8017 A.1.1 RSAPublicKey
    if tags == [_SEQUENCE, _SEQUENCE, _BIT_STRING]:
        return "certificate"                             # RFC 5280 Certificate
    if len(tags) == 6 and set(tags) == {_INTEGER}:
        return "DSA"                                     # OpenSSL's traditional DSA key
    if tags[:2] == [_INTEGER, _OCTET_STRING]:
        return "EC"                                      # RFC 5915 ECPrivateKey
    return "unknown"


def _wrong_kind_message(kind: str, wanted: str) -> str:
    """Why the data is not what was asked for, naming what it is instead."""
    if kind in _PRIVATE_KINDS or kind in _PUBLIC_KINDS:
        found = {"spki": "a public key", "pkcs1-public": "a public key",
                 "certificate": "a certificate"}.get(kind, "a private key")
        return "this is %s, not %s" % (found, wanted)
    if kind == "csr":
        return "this is a certificate signing request, which holds no private key; give %s" % wanted
    if kind == "OpenSSH":
        return ("this is an OpenSSH-format private key; convert it to PEM with "
                "'ssh-keygen -p -m PEM -f FILE', or give %s" % wanted)
    if kind.startswith("spki:"):
        return "this is a public key of type %s; scvjwt needs %s" % (kind[len("spki:"):], wanted)
    if kind in _KEY_TYPE_NAMES.values():
        article = "an" if kind[0] in "AEFHILMNORSX" else "a"   # as the letter's name is spoken
        return "this is %s %s key; scvjwt needs an RSA key" % (article, kind)
    return "could not find %s in the data" % wanted


def _check_rsa_algorithm(item: "Tuple[int, bytes]", what: str) -> None:
    """Refuse any AlgorithmIdentifier but rsaEncryption (RFC 8017 A.1), naming the type found."""
    oid, parameters = _der_algorithm(item, what)
    if oid in _KEY_TYPE_NAMES and oid != _RSA_ENCRYPTION_OID:
        raise KeyFormatError(_wrong_kind_message(_KEY_TYPE_NAMES[oid], "an RSA key"))
    if oid != _RSA_ENCRYPTION_OID:
        raise KeyFormatError("the key's algorithm (OID %s) is not RSA; scvjwt needs an RSA key" % oid)
    if parameters and parameters[0] != (_NULL, b""):
        raise _der_error("rsaEncryption parameters must be NULL")


def _public_from_pkcs1(der: bytes) -> "RSAPublicKey":
    """RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1)."""
    items = _der_sequence(der, 2, 2, "the RSA public key")
    return RSAPublicKey(_der_uint(items[0], "the modulus"), _der_uint(items[1], "the public exponent"))


def _public_from_spki(der: bytes) -> "RSAPublicKey":
    """SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING } (RFC 5280
    section 4.1.2.7), holding an RSAPublicKey for rsaEncryption (RFC 3279 section 2.3.1)."""
    items = _der_sequence(der, 2, 2, "the public key info")
    _check_rsa_algorithm(items[0], "the public key algorithm")
    return _public_from_pkcs1(_der_bit_string_bytes(items[1], "the public key"))


def _certificate_fields(der: bytes) -> "List[Tuple[int, bytes]]":
    """The TBSCertificate fields (RFC 5280 section 4.1), without the optional [0] version, so
    that index 0 is serialNumber: serial, signature, issuer, validity, subject, SPKI, ..."""
    certificate = _der_sequence(der, 3, 3, "the certificate")
    fields = _der_items(_der_expect(certificate[0], _SEQUENCE, "tbsCertificate"), 6, 10, "tbsCertificate")
    if fields[0][0] == 0xA0:                  # [0] EXPLICIT Version
        fields = fields[1:]
    if len(fields) < 6:
        raise _der_error("tbsCertificate has too few fields")
    return fields


def _public_from_certificate(der: bytes) -> "RSAPublicKey":
    spki = _der_expect(_certificate_fields(der)[5], _SEQUENCE, "subjectPublicKeyInfo")
    return _public_from_spki(_der_encode(_SEQUENCE, spki))


def _private_from_pkcs1(der: bytes) -> "RSAPrivateKey":
    """RSAPrivateKey (RFC 8017 A.1.2): version 0, n, e, d, p, q, dP, dQ, qInv. Version 1 marks a
    multi-prime key, which nobody uses for JWTs."""
    items = _der_sequence(der, 9, 10, "the RSA private key")
    if _der_uint(items[0], "the version") != 0 or len(items) != 9:
        raise KeyFormatError("multi-prime RSA keys (version 1) are not supported")
    names = ("n", "e", "d", "p", "q", "dp", "dq", "qi")
    numbers = [_der_uint(item, "the RSA number " + name) for item, name in zip(items[1:], names)]
    return RSAPrivateKey(*numbers)


def _private_from_pkcs8(der: bytes) -> "RSAPrivateKey":
    """PrivateKeyInfo / OneAsymmetricKey (RFC 5208 section 5, RFC 5958 section 2): version 0 or 1,
    the algorithm, the key as an OCTET STRING, then optional attributes and public key."""
    items = _der_sequence(der, 3, 5, "the PKCS#8 key")
    if _der_uint(items[0], "the PKCS#8 version") > 1:
        raise _der_error("unknown PKCS#8 version")
    _check_rsa_algorithm(items[1], "the private key algorithm")
    return _private_from_pkcs1(_der_expect(items[2], _OCTET_STRING, "the private key"))


def _is_encrypted(kind: str, headers: "Dict[str, str]") -> bool:
    """PKCS#8 EncryptedPrivateKeyInfo, or a PEM block with RFC 1421 headers (OpenSSL's legacy
    'Proc-Type: 4,ENCRYPTED' encryption)."""
    return kind == "encrypted-pkcs8" or "Proc-Type" in headers


def _private_from_block(kind: str, headers: "Dict[str, str]", der: bytes,
                        password: "Optional[BytesLike]") -> "RSAPrivateKey":
    if _is_encrypted(kind, headers):
        return _decrypt_private_key(kind, headers, der, password)
    if kind == "pkcs8":
        return _private_from_pkcs8(der)
    return _private_from_pkcs1(der)


def _block_kind(block: "PemBlock") -> str:
    """What a block holds (see _PEM_KINDS); "spki:EC" and the like for public keys of other types.
    For RSA structures the DER decides, as tools mix up their labels; legacy-encrypted blocks
    (with headers) cannot be looked into, so their label decides."""
    label, headers, der = block
    kind = _der_kind(der) if label is None else _PEM_KINDS.get(label, "label:" + label)
    if label is not None and kind in _RSA_KINDS and not headers:
        inside = _der_kind(der)
        kind = inside if inside in _RSA_KINDS else kind
    if kind == "spki":
        oid, _ = _der_algorithm(_der_sequence(der, 2, 2, "the public key info")[0], "the public key algorithm")
        if oid != _RSA_ENCRYPTION_OID:
            kind = "spki:" + _KEY_TYPE_NAMES.get(oid, "OID " + oid)
    return kind


def _block_kinds(blocks: "List[PemBlock]", damaged: "List[str]") -> "Iterator[Tuple[PemBlock, str]]":
    """Each block with its kind, in order; a block whose DER cannot even be classified (a line
    lost from a certificate, say) is added to `damaged` and skipped, like a damaged PEM block."""
    for block in blocks:
        try:
            yield block, _block_kind(block)
        except KeyFormatError as error:
            damaged.append(str(error))


def _most_telling(kinds: "List[str]") -> str:
    """The kind to name when no block was usable: a known key type rather than parameters or
    unknown labels."""
    for kind in kinds:
        if not kind.startswith("label:") and kind != "unknown":
            return kind
    return "unknown"


def load_private_key(data: "Union[str, BytesLike, RSAPrivateKey]",
                     password: "Optional[Union[str, BytesLike]]" = None) -> "RSAPrivateKey":
    """Read an RSA private key: PEM 'RSA PRIVATE KEY' (PKCS#1) or 'PRIVATE KEY' (PKCS#8), or the
    DER of either, from bytes or str. PEM damaged in transport is repaired (see
    _repair_transport_damage) and other blocks in the same text, such as a certificate, are
    skipped. `password` (str as UTF-8, or bytes) opens an encrypted key: 'ENCRYPTED PRIVATE KEY'
    (PBES2, PEM or DER) or legacy 'Proc-Type: 4,ENCRYPTED' PEM (see _decrypt_private_key); given
    for a key that is not encrypted, it is ignored. Every refusal is a KeyFormatError naming what
    was found; a wrong password is one too, never a key made of noise."""
    if isinstance(data, RSAPrivateKey):
        return data
    if isinstance(data, RSAPublicKey):
        raise KeyFormatError("this is a public key, not a private key; signing needs the private key")
    if isinstance(password, str):
        password = password.encode("utf-8", "surrogatepass")
    elif password is not None and not isinstance(password, (bytes, bytearray, memoryview)):
        raise KeyFormatError("the password must be str or bytes, not %s" % _type_name(password))
    blocks, damaged = _key_blocks(data, "private key")
    found = []
    for block, kind in _block_kinds(blocks, damaged):
        if kind in _PRIVATE_KINDS:
            return _private_from_block(kind, block[1], block[2], password)
        found.append(kind)
    raise KeyFormatError(damaged[0] if damaged else _wrong_kind_message(_most_telling(found), "an RSA private key"))


def load_public_key(data: "Union[str, BytesLike, RSAPublicKey, RSAPrivateKey]") -> "RSAPublicKey":
    """Read an RSA public key: PEM or DER 'PUBLIC KEY' (SubjectPublicKeyInfo), 'RSA PUBLIC KEY'
    (PKCS#1) or 'CERTIFICATE' (X.509, its subject public key); also an RSAPublicKey or
    RSAPrivateKey object, or unencrypted private-key data, whose public half it returns. The
    first usable block wins, so a file with a certificate and its key (even an encrypted one)
    gives the same answer."""
    if isinstance(data, RSAPublicKey):
        return data
    if isinstance(data, RSAPrivateKey):
        return data.public_key()
    return _public_key_and_certificate(data)[0]


def _public_key_and_certificate(data: "Union[str, BytesLike]") -> "Tuple[RSAPublicKey, Optional[bytes]]":
    """The public key load_public_key reads from `data`, and the DER of the certificate it came
    from (None when it came from a public or private key block)."""
    blocks, damaged = _key_blocks(data, "public key")
    found = []
    for block, kind in _block_kinds(blocks, damaged):
        headers, der = block[1], block[2]
        if kind == "certificate":
            return _public_from_certificate(der), der
        if kind == "spki":
            return _public_from_spki(der), None
        if kind == "pkcs1-public":
            return _public_from_pkcs1(der), None
        if kind in _PRIVATE_KINDS and not _is_encrypted(kind, headers):
            return _private_from_block(kind, headers, der, None).public_key(), None
        found.append(kind)
    if damaged:
        raise KeyFormatError(damaged[0])
    if any(kind in _PRIVATE_KINDS for kind in found):     # only encrypted private keys
        raise KeyFormatError("this is an encrypted private key; give the certificate or public key "
                             "instead, or load the private key with its password")
    raise KeyFormatError(_wrong_kind_message(_most_telling(found), "an RSA public key or certificate"))


# ------------------------------------------------------------------------------------------------
# Encrypted private keys: FIPS 197 (AES, decryption), NIST SP 800-38A (CBC mode), RFC 8018 (PBES2,
# PBKDF2, padding), RFC 5958 section 3 (EncryptedPrivateKeyInfo), RFC 1423 as OpenSSL writes it
# (legacy PEM encryption: Proc-Type and DEK-Info headers)
# ------------------------------------------------------------------------------------------------

_AES_BLOCK_BYTES = 16
# Ciphers (CBC mode) of encrypted keys, by the name OpenSSL gives them: (key bytes, IV bytes).
# This file decrypts AES; DES-EDE3-CBC and any other cipher go to _decrypt_elsewhere.
_CBC_CIPHERS = {"AES-128-CBC": (16, 16), "AES-192-CBC": (24, 16), "AES-256-CBC": (32, 16),
                "DES-EDE3-CBC": (24, 8)}
_AES_CIPHERS = ("AES-128-CBC", "AES-192-CBC", "AES-256-CBC")
_CIPHER_NAME_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_MAX_ENCRYPTED_KEY = 64 * 1024     # an encrypted 16384-bit RSA key is under 10 KiB
_MAX_PBKDF2_ITERATIONS = 10000000  # 8 to 18 s on a CI host; openssl writes 2048 by default
_MAX_SALT_BYTES = 1024
_WRONG_PASSWORD = "wrong password or corrupted key: the decrypted data is not a private key"

_PBES2_OID = "1.2.840.113549.1.5.13"
_PBKDF2_OID = "1.2.840.113549.1.5.12"
_HMAC_WITH_SHA1_OID = "1.2.840.113549.2.7"    # the PRF when PBKDF2-params names none
# PBKDF2 PRFs (RFC 8018 appendix B.1): hmacWithSHA* -> the hashlib name of the hash.
_PBKDF2_PRFS = {
    _HMAC_WITH_SHA1_OID: "sha1",
    "1.2.840.113549.2.8": "sha224",
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
}
# PBES2 encryption schemes (RFC 8018 appendix B.2; the AES OIDs are NIST's) -> cipher name.
_PBES2_CIPHERS = {
    "2.16.840.1.101.3.4.1.2": "AES-128-CBC",
    "2.16.840.1.101.3.4.1.22": "AES-192-CBC",
    "2.16.840.1.101.3.4.1.42": "AES-256-CBC",
    "1.2.840.113549.3.7": "DES-EDE3-CBC",
}
# Schemes, key derivations and ciphers met in the field that scvjwt does not read, named in errors.
_UNREAD_ENCRYPTION_NAMES = {
    "1.2.840.113549.1.5.1": "PBES1 pbeWithMD2AndDES-CBC",
    "1.2.840.113549.1.5.3": "PBES1 pbeWithMD5AndDES-CBC",
    "1.2.840.113549.1.5.4": "PBES1 pbeWithMD2AndRC2-CBC",
    "1.2.840.113549.1.5.6": "PBES1 pbeWithMD5AndRC2-CBC",
    "1.2.840.113549.1.5.10": "PBES1 pbeWithSHA1AndDES-CBC",
    "1.2.840.113549.1.5.11": "PBES1 pbeWithSHA1AndRC2-CBC",
    "1.2.840.113549.1.12.1.1": "PKCS#12 pbeWithSHAAnd128BitRC4",
    "1.2.840.113549.1.12.1.2": "PKCS#12 pbeWithSHAAnd40BitRC4",
    "1.2.840.113549.1.12.1.3": "PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC",
    "1.2.840.113549.1.12.1.4": "PKCS#12 pbeWithSHAAnd2-KeyTripleDES-CBC",
    "1.2.840.113549.1.12.1.5": "PKCS#12 pbeWithSHAAnd128BitRC2-CBC",
    "1.2.840.113549.1.12.1.6": "PKCS#12 pbeWithSHAAnd40BitRC2-CBC",
    "1.3.6.1.4.1.11591.4.11": "scrypt",
    "1.2.840.113549.2.12": "PBKDF2 with hmacWithSHA512-224",
    "1.2.840.113549.2.13": "PBKDF2 with hmacWithSHA512-256",
    "1.3.14.3.2.7": "DES-CBC",
    "1.2.840.113549.3.2": "RC2-CBC",
    "2.16.840.1.101.3.4.1.6": "AES-128-GCM",
    "2.16.840.1.101.3.4.1.26": "AES-192-GCM",
    "2.16.840.1.101.3.4.1.46": "AES-256-GCM",
}
_REENCRYPT_HINT = "re-encrypt it with 'openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEW_KEY'"


# AES decryption, table-driven: the equivalent inverse cipher of FIPS 197 section 5.3.5. The
# tables are computed from the definitions at first use, not pasted in and not built at import.
# Look-ups indexed by secret bytes are not constant-time against an observer of this host's CPU
# caches; the cipher runs once per key load, on the host's own key file, so that is accepted.
_AES_TABLES = []  # type: List[AesTables]


def _xtime(byte: int) -> int:
    """byte * {02} in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS 197 section 4.2)."""
    return ((byte << 1) ^ (0x1B if byte & 0x80 else 0)) & 0xFF


def _aes_tables() -> "AesTables":
    """(S-box, inverse S-box, Td0, Td1, Td2, Td3), computed once, at first use.

    S-box (FIPS 197 section 5.1.1): b = the inverse of x in GF(2^8) (0 for 0), then the affine map
    b ^ rotl(b, 1) ^ rotl(b, 2) ^ rotl(b, 3) ^ rotl(b, 4) ^ {63}. Products and inverses come from
    powers of the generator {03}. Td0[x] is the column that InvMixColumns (section 5.3.3) makes of
    s = InvSbox[x] alone in row 0: {0e}s, {09}s, {0d}s, {0b}s, top to bottom. For rows 1-3 the
    column turns down by 1-3 bytes (Td1-Td3), so a round of InvShiftRows, InvSubBytes and
    InvMixColumns is 16 look-ups and XORs.
    """
    if _AES_TABLES:
        return _AES_TABLES[0]
    power, log = [0] * 255, [0] * 256
    x = 1
    for i in range(255):
        power[i], log[x] = x, i
        x ^= _xtime(x)                                       # x * {03}

    def times(a: int, b: int) -> int:
        return power[(log[a] + log[b]) % 255] if a and b else 0

    sbox, inv_sbox = [0] * 256, [0] * 256
    for x in range(256):
        b = power[-log[x] % 255] if x else 0
        s = b ^ 0x63
        for shift in (1, 2, 3, 4):
            s ^= ((b << shift) | (b >> (8 - shift))) & 0xFF
        sbox[x], inv_sbox[s] = s, x
    td0 = [times(s, 0x0E) << 24 | times(s, 0x09) << 16 | times(s, 0x0D) << 8 | times(s, 0x0B)
           for s in inv_sbox]
    td1 = [t >> 8 | (t & 0xFF) << 24 for t in td0]
    td2 = [t >> 8 | (t & 0xFF) << 24 for t in td1]
    td3 = [t >> 8 | (t & 0xFF) << 24 for t in td2]
    _AES_TABLES.append((sbox, inv_sbox, td0, td1, td2, td3))
    return _AES_TABLES[0]


def _aes_decryption_schedule(key: bytes) -> "AesRoundKeys":
    """The round keys of the equivalent inverse cipher, in the order decryption uses them.

    KeyExpansion (FIPS 197 section 5.2) makes the words w[0 .. 4*Nr+3] of a 16-, 24- or 32-byte
    key (Nk = 4, 6, 8 words; Nr = Nk + 6 rounds). Section 5.3.5: rounds Nr-1 .. 1 use
    InvMixColumns of their words; Td[Sbox[b]] is InvMixColumns of b, so the tables do it.
    """
    sbox, _, td0, td1, td2, td3 = _aes_tables()
    nk = len(key) // 4
    rounds = nk + 6
    w = [int.from_bytes(key[4 * i:4 * i + 4], "big") for i in range(nk)]
    rcon = 0x01
    for i in range(nk, 4 * (rounds + 1)):
        temp = w[i - 1]
        if i % nk == 0:
            temp = (temp << 8 | temp >> 24) & 0xFFFFFFFF            # RotWord
        if i % nk == 0 or (nk > 6 and i % nk == 4):
            temp = (sbox[temp >> 24] << 24 | sbox[temp >> 16 & 0xFF] << 16 |
                    sbox[temp >> 8 & 0xFF] << 8 | sbox[temp & 0xFF])  # SubWord
        if i % nk == 0:
            temp ^= rcon << 24                                       # Rcon[i/Nk]
            rcon = _xtime(rcon)
        w.append(w[i - nk] ^ temp)
    schedule = []
    for r in range(rounds, -1, -1):
        words = w[4 * r:4 * r + 4]
        if 0 < r < rounds:
            words = [td0[sbox[v >> 24]] ^ td1[sbox[v >> 16 & 0xFF]] ^ td2[sbox[v >> 8 & 0xFF]] ^
                     td3[sbox[v & 0xFF]] for v in words]
        schedule.append((words[0], words[1], words[2], words[3]))
    return schedule


def _aes_decrypt_block(schedule: "AesRoundKeys", block: bytes) -> bytes:
    """InvCipher (FIPS 197 section 5.3.5, equivalent form) of one 16-byte block.

    The state is four column words t0..t3 (row 0 in the top byte). InvShiftRows turns row r right
    by r, so the new column c takes row r from column c - r: rows 0-3 of the new t0 come from
    t0, t3, t2, t1.
    """
    _, inv_sbox, td0, td1, td2, td3 = _aes_tables()
    k0, k1, k2, k3 = schedule[0]
    t0 = int.from_bytes(block[0:4], "big") ^ k0
    t1 = int.from_bytes(block[4:8], "big") ^ k1
    t2 = int.from_bytes(block[8:12], "big") ^ k2
    t3 = int.from_bytes(block[12:16], "big") ^ k3
    for k0, k1, k2, k3 in schedule[1:-1]:
        t0, t1, t2, t3 = (
            td0[t0 >> 24] ^ td1[t3 >> 16 & 0xFF] ^ td2[t2 >> 8 & 0xFF] ^ td3[t1 & 0xFF] ^ k0,
            td0[t1 >> 24] ^ td1[t0 >> 16 & 0xFF] ^ td2[t3 >> 8 & 0xFF] ^ td3[t2 & 0xFF] ^ k1,
            td0[t2 >> 24] ^ td1[t1 >> 16 & 0xFF] ^ td2[t0 >> 8 & 0xFF] ^ td3[t3 & 0xFF] ^ k2,
            td0[t3 >> 24] ^ td1[t2 >> 16 & 0xFF] ^ td2[t1 >> 8 & 0xFF] ^ td3[t0 & 0xFF] ^ k3)
    k0, k1, k2, k3 = schedule[-1]                     # the last round has no InvMixColumns
    s = inv_sbox
    u0 = (s[t0 >> 24] << 24 | s[t3 >> 16 & 0xFF] << 16 | s[t2 >> 8 & 0xFF] << 8 | s[t1 & 0xFF]) ^ k0
    u1 = (s[t1 >> 24] << 24 | s[t0 >> 16 & 0xFF] << 16 | s[t3 >> 8 & 0xFF] << 8 | s[t2 & 0xFF]) ^ k1
    u2 = (s[t2 >> 24] << 24 | s[t1 >> 16 & 0xFF] << 16 | s[t0 >> 8 & 0xFF] << 8 | s[t3 & 0xFF]) ^ k2
    u3 = (s[t3 >> 24] << 24 | s[t2 >> 16 & 0xFF] << 16 | s[t1 >> 8 & 0xFF] << 8 | s[t0 & 0xFF]) ^ k3
    return (u0 << 96 | u1 << 64 | u2 << 32 | u3).to_bytes(16, "big")


def _aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """CBC decryption (NIST SP 800-38A section 6.2) with AES: P_j = CIPH^-1_K(C_j) XOR C_(j-1),
    where C_0 is the IV. The padding stays on (see _remove_padding)."""
    if not ciphertext or len(ciphertext) % _AES_BLOCK_BYTES:
        raise KeyFormatError("the encrypted key is truncated or corrupted: it is not a whole number "
                             "of 16-byte AES blocks")
    schedule = _aes_decryption_schedule(key)
    previous = int.from_bytes(iv, "big")
    blocks = []
    for start in range(0, len(ciphertext), _AES_BLOCK_BYTES):
        block = ciphertext[start:start + _AES_BLOCK_BYTES]
        plain = int.from_bytes(_aes_decrypt_block(schedule, block), "big") ^ previous
        blocks.append(plain.to_bytes(_AES_BLOCK_BYTES, "big"))
        previous = int.from_bytes(block, "big")
    return b"".join(blocks)


def _remove_padding(padded: bytes) -> bytes:
    """Strip the padding of RFC 8018 section 6.1.1 step 4 (RFC 5652 section 6.3): the last n
    bytes all hold n, 1 <= n <= 16. Anything else is what a wrong key decrypts to."""
    n = padded[-1] if padded else 0
    if not 1 <= n <= _AES_BLOCK_BYTES or len(padded) < n or padded[-n:] != bytes((n,)) * n:
        raise KeyFormatError(_WRONG_PASSWORD)
    return padded[:-n]


def _private_from_decrypted(padded: bytes, kind: str) -> "RSAPrivateKey":
    """The key in decrypted data, which must be padded DER of `kind` ("pkcs8" or "pkcs1-private").
    A wrong password decrypts to noise: its padding is wrong 255 times in 256 and its DER all but
    never the expected structure; both give the same error, so nothing tells them apart."""
    plaintext = _remove_padding(padded)
    try:
        found = _der_kind(plaintext)
    except KeyFormatError:
        found = "unknown"
    if found != kind:
        raise KeyFormatError(_WRONG_PASSWORD)
    return _private_from_block(kind, {}, plaintext, None)


# PKCS#8 EncryptedPrivateKeyInfo with PBES2 and PBKDF2.

def _unread_encryption(oid: str) -> KeyFormatError:
    name = _UNREAD_ENCRYPTION_NAMES.get(oid, "an algorithm scvjwt does not know (OID %s)" % oid)
    return KeyFormatError("the key is encrypted with %s, which scvjwt does not read; %s"
                          % (name, _REENCRYPT_HINT))


def _private_from_encrypted_pkcs8(der: bytes, password: bytes) -> "RSAPrivateKey":
    """EncryptedPrivateKeyInfo (RFC 5958 section 3) with PBES2 (RFC 8018 section 6.2.2):

        EncryptedPrivateKeyInfo ::= SEQUENCE {
            encryptionAlgorithm  { pbes2, PBES2-params },
            encryptedData        OCTET STRING }          -- AES-CBC of the padded PrivateKeyInfo
        PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }   (appendix A.4)

    Every parameter is checked before the key is derived (PBKDF2, appendix A.2), then decrypted
    (section 6.2.2 steps 3-5)."""
    items = _der_sequence(der, 2, 2, "the encrypted private key")
    scheme, parameters = _der_algorithm(items[0], "the key encryption algorithm")
    ciphertext = _der_expect(items[1], _OCTET_STRING, "the encrypted key")
    if scheme != _PBES2_OID:
        raise _unread_encryption(scheme)
    if not parameters:
        raise _der_error("PBES2 has no parameters")
    kdf, encryption = _der_items(_der_expect(parameters[0], _SEQUENCE, "the PBES2 parameters"),
                                 2, 2, "the PBES2 parameters")
    cipher, key_bytes, iv = _pbes2_cipher(encryption)
    hash_name, salt, iterations = _pbkdf2_parameters(kdf, key_bytes)
    if cipher not in _AES_CIPHERS:
        return _decrypt_elsewhere(_pem_wrap("ENCRYPTED PRIVATE KEY", der), password, cipher)
    key = _pbkdf2(hash_name, password, salt, iterations, key_bytes)
    return _private_from_decrypted(_aes_cbc_decrypt(key, iv, ciphertext), "pkcs8")


def _pbes2_cipher(item: "Tuple[int, bytes]") -> "Tuple[str, int, bytes]":
    """The encryptionScheme: (cipher name, key bytes, IV); the CBC ciphers' parameter is the IV,
    an OCTET STRING of one block (RFC 8018 appendix B.2.2; NIST's AES-IV)."""
    oid, parameters = _der_algorithm(item, "the PBES2 encryption scheme")
    if oid not in _PBES2_CIPHERS:
        raise _unread_encryption(oid)
    name = _PBES2_CIPHERS[oid]
    key_bytes, iv_bytes = _CBC_CIPHERS[name]
    iv = _der_expect(parameters[0], _OCTET_STRING, "the IV") if parameters else b""
    if len(iv) != iv_bytes:
        raise _der_error("the %s IV is not %d bytes" % (name, iv_bytes))
    return name, key_bytes, iv


def _pbkdf2_parameters(item: "Tuple[int, bytes]", key_bytes: int) -> "Tuple[str, bytes, int]":
    """The keyDerivationFunc: (hash name, salt, iteration count), from (RFC 8018 appendix A.2)

        PBKDF2-params ::= SEQUENCE {
            salt            OCTET STRING,             -- (or otherSource: not supported)
            iterationCount  INTEGER (1..MAX),
            keyLength       INTEGER OPTIONAL,         -- the cipher's key length when present
            prf             AlgorithmIdentifier DEFAULT hmacWithSHA1 }

    Iteration counts over 10,000,000 are refused here, before any work: a crafted file must not
    keep the host busy for hours."""
    oid, parameters = _der_algorithm(item, "the PBES2 key derivation function")
    if oid != _PBKDF2_OID:
        raise _unread_encryption(oid)
    if not parameters:
        raise _der_error("PBKDF2 has no parameters")
    fields = _der_items(_der_expect(parameters[0], _SEQUENCE, "the PBKDF2 parameters"), 2, 4,
                        "the PBKDF2 parameters")
    if fields[0][0] == _SEQUENCE:
        raise KeyFormatError("the PBKDF2 salt comes from another source (otherSource), which "
                             "scvjwt does not read; " + _REENCRYPT_HINT)
    salt = _der_expect(fields[0], _OCTET_STRING, "the PBKDF2 salt")
    iterations = _der_uint(fields[1], "the PBKDF2 iteration count")
    if not 1 <= iterations <= _MAX_PBKDF2_ITERATIONS:
        raise KeyFormatError("the key asks for a PBKDF2 iteration count outside 1 to 10,000,000; "
                             "scvjwt refuses it rather than compute for hours (%s with fewer)"
                             % _REENCRYPT_HINT)
    if not 1 <= len(salt) <= _MAX_SALT_BYTES:
        raise KeyFormatError("the PBKDF2 salt has %d bytes; a salt has 1 to %d"
                             % (len(salt), _MAX_SALT_BYTES))
    optional = fields[2:]
    if optional and optional[0][0] == _INTEGER:
        key_length = _der_uint(optional.pop(0), "the PBKDF2 key length")
        if key_length != key_bytes:
            raise KeyFormatError("the PBKDF2 key length is not the cipher's key length (%d bytes)"
                                 % key_bytes)
    prf = _HMAC_WITH_SHA1_OID
    if optional:
        prf, prf_parameters = _der_algorithm(optional.pop(0), "the PBKDF2 PRF")
        if prf_parameters not in ([], [(_NULL, b"")]):
            raise _der_error("the PBKDF2 PRF parameters must be NULL or absent")
    if optional:
        raise _der_error("the PBKDF2 parameters hold an unexpected element")
    if prf not in _PBKDF2_PRFS:
        raise _unread_encryption(prf)
    return _PBKDF2_PRFS[prf], salt, iterations


def _pbkdf2(hash_name: str, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """PBKDF2 (RFC 8018 section 5.2) with HMAC over `hash_name`, from hashlib."""
    try:
        return hashlib.pbkdf2_hmac(hash_name, password, salt, iterations, length)
    except ValueError as error:   # e.g. a FIPS-mode host refusing the hash or a short password
        raise KeyFormatError("this host refuses PBKDF2 with HMAC-%s for this key: %s"
                             % (hash_name.upper(), error)) from None


# Legacy OpenSSL PEM encryption (RFC 1421 section 4.6 headers, RFC 1423; OpenSSL's PEM_do_header).

_LEGACY_PEM_LABELS = {"pkcs1-private": "RSA PRIVATE KEY", "pkcs8": "PRIVATE KEY"}


def _private_from_legacy_pem(kind: str, headers: "Dict[str, str]", der: bytes,
                             password: bytes) -> "RSAPrivateKey":
    """A PEM block encrypted the way `openssl rsa -aes256` (or `genrsa -des3`) writes it:

        -----BEGIN RSA PRIVATE KEY-----
        Proc-Type: 4,ENCRYPTED
        DEK-Info: AES-256-CBC,<IV: 32 hex digits>

        <base64 of the encrypted, padded RSAPrivateKey DER>
        -----END RSA PRIVATE KEY-----

    The key is OpenSSL's EVP_BytesToKey with MD5, one iteration and the first 8 bytes of the IV
    as salt (_openssl_legacy_key)."""
    cipher, _, iv_hex = headers.get("DEK-Info", "").partition(",")
    cipher = cipher.upper()
    try:
        iv = bytes.fromhex(iv_hex)
    except ValueError:
        iv = b""
    if headers.get("Proc-Type") != "4,ENCRYPTED":
        raise KeyFormatError("the private key's PEM block has RFC 1421 headers, but not "
                             "'Proc-Type: 4,ENCRYPTED'")
    if not 0 < len(cipher) <= 32 or not _CIPHER_NAME_CHARACTERS.issuperset(cipher) or len(iv) < 8:
        raise KeyFormatError("the encrypted PEM block has no valid DEK-Info header (the cipher, "
                             "a comma and the IV in hex)")
    if cipher not in _AES_CIPHERS:            # the same PEM again, headers after BEGIN
        headers_text = "Proc-Type: 4,ENCRYPTED\nDEK-Info: %s,%s\n\n" % (cipher, iv.hex().upper())
        pem = _pem_wrap(_LEGACY_PEM_LABELS[kind], der).replace("-----\n", "-----\n" + headers_text, 1)
        return _decrypt_elsewhere(pem, password, cipher)
    key_bytes, iv_bytes = _CBC_CIPHERS[cipher]
    if len(iv) != iv_bytes:
        raise KeyFormatError("the %s IV in the DEK-Info header is not %d bytes" % (cipher, iv_bytes))
    key = _openssl_legacy_key(password, iv[:8], key_bytes)
    return _private_from_decrypted(_aes_cbc_decrypt(key, iv, der), kind)


def _openssl_legacy_key(password: bytes, salt: bytes, length: int) -> bytes:
    """OpenSSL's EVP_BytesToKey with MD5 and one iteration (PBKDF1's construction, extended):

        D_1 = MD5(password || salt),  D_i = MD5(D_(i-1) || password || salt)
        key = the first `length` bytes of D_1 || D_2 || ..."""
    derived, block = b"", b""
    while len(derived) < length:
        block = _digest_not_for_security("md5", block + password + salt, "OpenSSL's legacy PEM "
                                         "encryption; on another host, " + _REENCRYPT_HINT + ", which")
        derived += block
    return derived[:length]


def _digest_not_for_security(name: str, data: bytes, use: str) -> bytes:
    """The hashlib digest `name` ("md5", "sha1") of `data`, for a use that protects nothing:
    OpenSSL's legacy key derivation, a certificate's key identifier. FIPS-mode hosts refuse
    these hashes unless told so, which Python 3.9 and later can say."""
    hash_function = getattr(hashlib, name)
    try:
        if sys.version_info >= (3, 9):
            return bytes(hash_function(data, usedforsecurity=False).digest())
        return bytes(hash_function(data).digest())
    except ValueError:
        raise KeyFormatError("this host refuses %s (FIPS mode), which %s needs" % (name.upper(), use)) from None


# Other ciphers (DES-EDE3-CBC above all, from `openssl genrsa -des3`): the cryptography package,
# else the openssl tool. Small on purpose; scvjwt's own code does the rest of the reading.

def _decrypt_elsewhere(pem: str, password: bytes, cipher: str) -> "RSAPrivateKey":
    """The key in encrypted PEM text that this file cannot decrypt itself, decrypted by the
    cryptography package or else the openssl tool; a KeyFormatError naming the cipher and the
    backends when neither is here."""
    for decrypt in (_decrypt_with_cryptography, _decrypt_with_openssl_tool):
        unencrypted = decrypt(pem.encode("ascii"), password)
        if unencrypted is not None:
            return load_private_key(unencrypted)
    raise KeyFormatError("the key is encrypted with %s, which scvjwt reads only through the "
                         "cryptography package or the openssl tool, and neither is available here; "
                         "install either (pip install cryptography), or %s" % (cipher, _REENCRYPT_HINT))


def _decrypt_with_cryptography(pem: bytes, password: bytes) -> "Optional[bytes]":
    """The unencrypted PKCS#8 DER of the key, from the cryptography package; None when the
    package is absent or cannot read this cipher."""
    try:
        exceptions = _import_quietly("cryptography.exceptions")
        default_backend = _import_quietly("cryptography.hazmat.backends").default_backend
        serialization = _import_quietly("cryptography.hazmat.primitives.serialization")
    except ImportError:
        return None
    try:
        key = serialization.load_pem_private_key(pem, password, default_backend())
    except exceptions.UnsupportedAlgorithm:
        return None
    except (TypeError, ValueError):   # TypeError: it takes an empty password for none at all
        raise KeyFormatError("wrong password or corrupted key: the cryptography package cannot "
                             "decrypt it") from None
    return bytes(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def _decrypt_with_openssl_tool(pem: bytes, password: bytes) -> "Optional[bytes]":
    """The unencrypted key as PEM, from `openssl pkey`; None when the tool is not on PATH. The
    encrypted key goes in on standard input and the password through a pipe the tool inherits
    (-passin fd:N; see _run_openssl): neither is ever on a command line, in the environment or
    in a file."""
    tool = _openssl_tool()
    if tool is None:
        return None
    if b"\n" in password or b"\0" in password or len(password) > 1023:
        raise KeyFormatError("the openssl tool reads a password as one line of at most 1023 bytes, "
                             "without newlines or NUL bytes; this password is not one")
    try:
        return _run_openssl(tool, ["pkey", "-passin", "fd:{secret}"], pem, secret=password + b"\n")
    except BackendError as error:
        raise KeyFormatError("wrong password, corrupted key or a cipher the openssl tool lacks: %s"
                             % error) from None


def _openssl_tool_message(stderr: bytes) -> str:
    """What the openssl tool said, on one short line: its first line, then the reasons in its
    error stack (lines 'pid:error:code:library:function:reason:file:line:')."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    reasons = [line.split(":")[5] for line in lines if ":error:" in line and line.count(":") >= 6]
    said = lines[:1] + [reason for i, reason in enumerate(reasons) if reason not in reasons[:i]]
    return repr("; ".join(said)[:200]) if said else "nothing"


# The way in: _private_from_block, in the DER/PEM section, hands every encrypted block here.
def _decrypt_private_key(kind: str, headers: "Dict[str, str]", der: bytes,
                         password: "Optional[BytesLike]") -> "RSAPrivateKey":
    """The RSA key in an encrypted block: PKCS#8 EncryptedPrivateKeyInfo with PBES2, or legacy
    OpenSSL PEM. AES-128/192/256-CBC is decrypted in this file; other ciphers (DES-EDE3-CBC
    above all) by the cryptography package or the openssl tool when either is present."""
    if password is None:
        raise _PasswordNeeded("the private key is encrypted: give its password (password=... in "
                              "Python; --password-env VAR or --password-file PATH on the command line)")
    if len(der) > _MAX_ENCRYPTED_KEY:
        raise KeyFormatError("the encrypted key is larger than 64 KiB, which no RSA key comes near")
    if kind == "encrypted-pkcs8":
        return _private_from_encrypted_pkcs8(der, bytes(password))
    return _private_from_legacy_pem(kind, headers, der, bytes(password))


# ------------------------------------------------------------------------------------------------
# RSA keys: RFC 8017 section 3 (key numbers), SP 800-56B rev. 2 appendix C.2 (recovering p and q)
# ------------------------------------------------------------------------------------------------

_MIN_BITS, _MAX_BITS = 1024, 16384
_MAX_RECOVERY_BITS, _RECOVERY_BASES = 4096, 24   # see _recover_primes
_MAX_EXPONENT_BITS = 256   # FIPS 186-5 A.1.1 bounds e below 2**256; larger ones only slow checks down


if sys.version_info >= (3, 8):
    def _inverse_mod(value: int, modulus: int) -> int:
        """value**-1 mod modulus; ValueError when there is none."""
        return pow(value, -1, modulus)
else:  # pragma: no cover - Python 3.6 and 3.7 have no modular inverse in pow()
    def _inverse_mod(value: int, modulus: int) -> int:
        """value**-1 mod modulus by the extended Euclidean algorithm; ValueError when there is none."""
        old_r, r, old_s, s = value % modulus, modulus, 1, 0
        while r:
            quotient = old_r // r
            old_r, r = r, old_r - quotient * r
            old_s, s = s, old_s - quotient * s
        if old_r != 1:
            raise ValueError("not invertible")
        return old_s % modulus


def _lcm(a: int, b: int) -> int:
    return a // math.gcd(a, b) * b


def _check_public_numbers(n: object, e: object) -> None:
    """The bounds every RSA key here must meet (RFC 8017 section 3.1, and Salesforce's sizes)."""
    if not _is_int(n) or not _is_int(e):
        raise KeyFormatError("RSA numbers must be integers")
    bits = n.bit_length()
    if bits < _MIN_BITS:
        raise KeyFormatError("the RSA modulus has %d bits; at least 1024 are needed (2048 is "
                             "recommended)" % bits)
    if bits > _MAX_BITS:
        raise KeyFormatError("the RSA modulus has %d bits; more than 16384 is not supported" % bits)
    if n % 2 == 0:
        raise KeyFormatError("the RSA modulus is even, so it is not a product of two primes")
    if e < 3 or e % 2 == 0:
        raise KeyFormatError("the RSA public exponent must be odd and at least 3")
    if e.bit_length() > _MAX_EXPONENT_BITS or e >= n:
        raise KeyFormatError("the RSA public exponent is too large")


class _RSAKey(object):
    """What both key classes share. They cannot change once built: attributes are set once, in
    __init__. Two keys of one class are equal when their public numbers (n, e) are: for private
    keys those fix the private function (every d that __init__ accepts is e**-1 modulo
    lcm(p-1, q-1), and {p, q} is the factorization of n), so equal keys make equal signatures,
    though their PEM may differ (p and q swapped, d written modulo phi). Copies and pickles are
    rebuilt from the numbers (a pickled private key holds its secret numbers)."""

    __slots__ = ()
    n: int
    e: int

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("%s objects are immutable" % _type_name(self))

    def __delattr__(self, name: str) -> None:
        raise AttributeError("%s objects are immutable" % _type_name(self))

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def _numbers(self) -> "Tuple[int, ...]":
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return (self.n, self.e) == (other.n, other.e)

    def __hash__(self) -> int:
        return hash((self.n, self.e))

    def __reduce__(self) -> "Tuple[Any, ...]":
        return (type(self), self._numbers())


class RSAPublicKey(_RSAKey):
    """An RSA public key (n, e) (RFC 8017 section 3.1). Equal when the numbers are equal."""

    __slots__ = ("n", "e", "bits")
    n: int
    e: int
    bits: int

    def __init__(self, n: int, e: int) -> None:
        _check_public_numbers(n, e)
        self._set("n", n)
        self._set("e", e)
        self._set("bits", n.bit_length())

    def _pkcs1_der(self) -> bytes:
        """RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1)."""
        return _der_encode_sequence(_der_encode_uint(self.n), _der_encode_uint(self.e))

    def _spki_der(self) -> bytes:
        """SubjectPublicKeyInfo (RFC 5280 section 4.1.2.7) with an RSAPublicKey (RFC 8017 A.1.1)."""
        rsa_public_key = self._pkcs1_der()
        return _der_encode_sequence(_RSA_ALGORITHM_DER, _der_encode(_BIT_STRING, b"\x00" + rsa_public_key))

    def to_pem(self) -> str:
        """The key as PEM 'PUBLIC KEY' (SubjectPublicKeyInfo), as `openssl pkey -pubout` writes it."""
        return _pem_wrap("PUBLIC KEY", self._spki_der())

    def fingerprint(self) -> str:
        """'SHA256:' and the unpadded base64 of SHA-256 over the SubjectPublicKeyInfo DER: the
        form `ssh-keygen -l` prints, though ssh hashes its own key encoding, so the two values
        differ. Equal keys in any encoding give equal fingerprints here."""
        digest = hashlib.sha256(self._spki_der()).digest()
        return "SHA256:" + binascii.b2a_base64(digest, newline=False).decode("ascii").rstrip("=")

    def _numbers(self) -> "Tuple[int, ...]":
        return (self.n, self.e)

    def __repr__(self) -> str:
        return "<RSAPublicKey %d bits %s>" % (self.bits, self.fingerprint())


class RSAPrivateKey(_RSAKey):
    """An RSA private key with its CRT values (RFC 8017 section 3.2, second representation).

    Missing p and q are recovered from (n, e, d); missing dP, dQ and qInv are computed. Numbers
    that do not belong together raise KeyFormatError. repr() and str() show the size and the
    public fingerprint only, never a secret number.
    """

    __slots__ = ("n", "e", "d", "p", "q", "dp", "dq", "qi", "bits", "_public", "_backend_cache")
    n: int
    e: int
    d: int
    p: int
    q: int
    dp: int
    dq: int
    qi: int
    bits: int
    _public: RSAPublicKey
    _backend_cache: "Dict[str, Any]"   # per-backend forms of this key, made at first use

    def __init__(self, n: int, e: int, d: int, p: "Optional[int]" = None, q: "Optional[int]" = None,
                 dp: "Optional[int]" = None, dq: "Optional[int]" = None, qi: "Optional[int]" = None) -> None:
        public = RSAPublicKey(n, e)
        if not _is_int(d) or not all(_is_int(x) and x > 0 for x in (d, p, q, dp, dq, qi) if x is not None):
            raise KeyFormatError("RSA numbers must be positive integers")
        if not 1 < d < n:
            raise KeyFormatError("the RSA numbers are inconsistent: d is out of range")
        p, q = _prime_factors(n, e, d, p, q)
        if not (1 < p < n and 1 < q < n and p * q == n and math.gcd(p, q) == 1):
            raise KeyFormatError("the RSA numbers are inconsistent: p and q are not two coprime "
                                 "factors of n")
        p_1, q_1 = p - 1, q - 1
        if (e * d) % _lcm(p_1, q_1) != 1:
            raise KeyFormatError("the RSA numbers are inconsistent: d is not e**-1 mod lcm(p-1, q-1)")
        if (dp is not None and dp != d % p_1) or (dq is not None and dq != d % q_1):
            raise KeyFormatError("the RSA numbers are inconsistent: a CRT exponent does not match d")
        if qi is not None and not (0 < qi < p and qi * q % p == 1):
            raise KeyFormatError("the RSA numbers are inconsistent: qInv * q is not 1 mod p")
        qi = _inverse_mod(q, p) if qi is None else qi
        for name, value in (("d", d), ("p", p), ("q", q), ("dp", d % p_1), ("dq", d % q_1), ("qi", qi)):
            self._set(name, value)
        self._set("n", n)
        self._set("e", e)
        self._set("bits", public.bits)
        self._set("_public", public)
        self._set("_backend_cache", {})

    def public_key(self) -> RSAPublicKey:
        return self._public

    def to_pem(self, format: str = "pkcs8") -> str:
        """The key as unencrypted PEM: 'PRIVATE KEY' (PKCS#8, RFC 5208, the default) or, with
        format="pkcs1", 'RSA PRIVATE KEY' (RFC 8017 A.1.2). This text is the secret itself."""
        if format == "pkcs1":
            return _pem_wrap("RSA PRIVATE KEY", self._pkcs1_der())
        if format == "pkcs8":
            return _pem_wrap("PRIVATE KEY", self._pkcs8_der())
        raise KeyFormatError("the key format must be 'pkcs8' or 'pkcs1', not %s" % _shown(format))

    def _pkcs1_der(self) -> bytes:
        numbers = (0, self.n, self.e, self.d, self.p, self.q, self.dp, self.dq, self.qi)
        return _der_encode_sequence(*(_der_encode_uint(x) for x in numbers))

    def _pkcs8_der(self) -> bytes:
        return _der_encode_sequence(_der_encode_uint(0), _RSA_ALGORITHM_DER,
                                    _der_encode(_OCTET_STRING, self._pkcs1_der()))

    def _numbers(self) -> "Tuple[int, ...]":
        return (self.n, self.e, self.d, self.p, self.q, self.dp, self.dq, self.qi)

    def __repr__(self) -> str:
        return "<RSAPrivateKey %d bits, public key %s>" % (self.bits, self._public.fingerprint())


def _prime_factors(n: int, e: int, d: int, p: "Optional[int]", q: "Optional[int]") -> "Tuple[int, int]":
    """(p, q) as given, the one missing as the cofactor of the other, or both from (n, e, d)."""
    if p is not None and q is not None:
        return p, q
    if p is not None:
        return p, n // p
    if q is not None:
        return n // q, q
    return _recover_primes(n, e, d)


def _recover_primes(n: int, e: int, d: int) -> "Tuple[int, int]":
    """Factor n from (n, e, d) (SP 800-56B rev. 2 appendix C.2; RFC 8017 leaves it out).

    e*d - 1 = k is a multiple of lcm(p-1, q-1); write k = 2**t * r with r odd. For at least
    half of all g, the sequence g**r, g**2r, ... mod n meets a square root of 1 other than +-1,
    and gcd(that root - 1, n) is a prime factor. Fixed bases keep the result deterministic; at
    most 24 of them (a true key fails all with odds under 2**-24) bound the work that numbers
    made to fail every base (a prime n, or a prime power) can cause, and only up to 4096 bits:
    each base costs a full exponentiation, seconds for larger n."""
    if n.bit_length() > _MAX_RECOVERY_BITS:
        raise KeyFormatError("give p and q too: recovering them from n, e and d is limited to keys "
                             "of at most %d bits" % _MAX_RECOVERY_BITS)
    # A prime n, or a power of one, makes every base fail. Both are found with one exponentiation:
    # for a prime p dividing n = p**j, 2**n = 2 mod p (as n = 1 mod p-1), so p divides
    # gcd(2**n - 2, n). For a product of two distinct primes that gcd is 1 but for odds of about
    # 2**-500, and then it is a factor: RSAPrivateKey's checks decide whether the pair is right.
    common = math.gcd(pow(2, n, n) - 2, n)
    if common == n:
        raise KeyFormatError("the RSA numbers are inconsistent: n is not a product of two primes")
    if common != 1:
        return common, n // common
    k = d * e - 1
    t = (k & -k).bit_length() - 1
    r = k >> t
    if t == 0:
        raise KeyFormatError("the RSA numbers are inconsistent: e*d - 1 is odd")
    for g in range(2, 2 + _RECOVERY_BASES):
        y = pow(g, r, n)
        if y in (1, n - 1):
            continue
        for _ in range(t):
            x = y * y % n
            if x == 1:
                p = math.gcd(y - 1, n)
                return p, n // p
            if x == n - 1:
                break
            y = x
        else:   # g**(e*d - 1) is not 1, as it would be for every g were d right: stop at once
            break
    raise KeyFormatError("the RSA numbers are inconsistent: n cannot be factored with e and d")


# ------------------------------------------------------------------------------------------------
# RSA key generation: FIPS 186-5 appendix A.1.3 (random probable primes), appendix B.3.1 and
# table B.1 (Miller-Rabin), and the key pair criteria of appendix A.1.1
# ------------------------------------------------------------------------------------------------

# Miller-Rabin rounds for each prime p and q, by modulus size: FIPS 186-5 table B.1 ("M-R tests
# only" column; error probabilities 2**-112, 2**-128 and 2**-144 for 2048, 3072 and 4096 bits).
# FIPS 186-5 no longer lists 1024-bit moduli; their row is FIPS 186-4 table C.3 (2**-100).
_MILLER_RABIN_ROUNDS = {1024: 7, 2048: 5, 3072: 4, 4096: 4}
_GENERATED_EXPONENT_BITS = 256      # FIPS 186-5 A.1.1: 2**16 < e < 2**256
# Trial division by the odd primes below this bound removes about 88% of random odd candidates
# before any Miller-Rabin round; a higher bound costs more per candidate than it saves.
_TRIAL_DIVISION_BOUND = 1 << 14


def _random_bits(count: int) -> int:
    """A uniformly random integer below 2**count, from os.urandom."""
    return int.from_bytes(os.urandom((count + 7) // 8), "big") >> (-count % 8)


def _odd_primes_product(bound: int) -> int:
    """The product of the odd primes below `bound` (sieve of Eratosthenes). One gcd with it is
    trial division by all of them at once, done in C by math.gcd."""
    is_prime = bytearray([1]) * bound
    factor = 2
    while factor * factor < bound:
        if is_prime[factor]:
            is_prime[factor * factor::factor] = bytes(len(range(factor * factor, bound, factor)))
        factor += 1
    product = 1
    for number in range(3, bound, 2):
        if is_prime[number]:
            product *= number
    return product


def _miller_rabin(w: int, rounds: int) -> bool:
    """FIPS 186-5 appendix B.3.1: False when the odd number w > 3 is certainly composite, True
    when it passes `rounds` rounds with random bases (probably prime; table B.1 bounds the
    chance that a random composite of RSA size passes)."""
    m = w - 1
    a = (m & -m).bit_length() - 1                  # steps 1-2: w - 1 = 2**a * m with m odd
    m >>= a
    for _ in range(rounds):
        b = 0
        while not 1 < b < w - 1:                   # steps 4.1-4.2: a random base, 1 < b < w - 1
            b = _random_bits(w.bit_length())
        z = pow(b, m, w)                           # step 4.3
        if z == 1 or z == w - 1:
            continue                               # step 4.4
        for _ in range(a - 1):                     # step 4.5
            z = z * z % w
            if z == w - 1:
                break
            if z == 1:
                return False
        else:
            return False                           # step 4.6: composite
    return True                                    # step 5: probably prime


def _random_prime(bits: int, e: int, rounds: int, small_primes: int) -> int:
    """A random probable prime of exactly `bits` bits with its top two bits set and
    gcd(prime - 1, e) = 1, as FIPS 186-5 appendix A.1.3 step 4 draws p and q.

    Every candidate is fresh from os.urandom (step 4.2), not the next odd number after a failed
    one, so each prime of the range is equally likely. The top two bits make the candidate at
    least 1.5 * 2**(bits-1), above the sqrt(2) * 2**(bits-1) of step 4.4, so a product of two
    such primes has exactly 2 * bits bits. `small_primes` is _odd_primes_product(...).
    """
    while True:
        candidate = _random_bits(bits) | (3 << (bits - 2)) | 1
        if math.gcd(candidate, small_primes) != 1:  # trial division first: it is much cheaper
            continue
        if math.gcd(candidate - 1, e) != 1:         # step 4.5
            continue
        if _miller_rabin(candidate, rounds):        # step 4.5.1, with the rounds of table B.1
            return candidate


def generate_private_key(bits: int = 2048, e: int = 65537) -> RSAPrivateKey:
    """A new RSA private key of exactly `bits` bits (FIPS 186-5 appendix A.1.3), in pure Python
    with randomness from os.urandom.

    `bits` is 2048 (the default and Salesforce's recommendation), 3072 or 4096: the sizes FIPS
    186-5 table B.1 gives Miller-Rabin rounds for. 1024 is accepted for old systems that still
    need it; Salesforce is retiring it. `e` is odd, 65537 <= e < 2**256 (FIPS 186-5 A.1.1); keep
    the default. The key meets the criteria of A.1.1: p and q of bits/2 bits each,
    |p - q| > 2**(bits/2 - 100), gcd(e, p-1) = gcd(e, q-1) = 1, d = e**-1 mod lcm(p-1, q-1)
    and d > 2**(bits/2). Bad arguments raise KeyFormatError, the error for key sizes and
    exponents out of range. Pure Python is slow: see README.md for timings.
    """
    if not _is_int(bits) or bits not in _MILLER_RABIN_ROUNDS:
        raise KeyFormatError("a new RSA key has 2048, 3072 or 4096 bits (or 1024 for old systems), "
                             "not %s" % _shown(bits))
    if not _is_int(e) or e % 2 == 0 or not 65537 <= e < 1 << _GENERATED_EXPONENT_BITS:
        raise KeyFormatError("the public exponent of a new RSA key must be odd, at least 65537 and "
                             "below 2**256 (FIPS 186-5 appendix A.1.1); keep the default 65537")
    half = bits // 2
    rounds = _MILLER_RABIN_ROUNDS[bits]
    small_primes = _odd_primes_product(_TRIAL_DIVISION_BOUND)
    p = _random_prime(half, e, rounds, small_primes)
    while True:
        q = _random_prime(half, e, rounds, small_primes)
        if abs(p - q) <= 1 << (half - 100):         # A.1.3 step 5.5: too close, n = p*q would
            continue                                # fall to Fermat's factoring method
        p_1, q_1 = p - 1, q - 1
        d = _inverse_mod(e, _lcm(p_1, q_1))
        if d > 1 << half:                           # A.1.1: 2**(nlen/2) < d < lcm(p-1, q-1)
            return RSAPrivateKey(p * q, e, d, p, q)


# ------------------------------------------------------------------------------------------------
# RSASSA-PKCS1-v1_5 with SHA-256: RFC 8017 sections 5.2 (RSASP1, RSAVP1), 8.2 (the scheme) and
# 9.2 (EMSA-PKCS1-v1_5)
# ------------------------------------------------------------------------------------------------

# The DER of DigestInfo ::= SEQUENCE { SEQUENCE { id-sha256, NULL }, OCTET STRING (32 bytes) } up to
# the digest itself, as RFC 8017 section 9.2 note 1 prints it. A constant keeps any ASN.1 encoder
# off the signing path, and lets verification compare whole encodings instead of parsing them.
_SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
_DIGEST_INFO_LENGTH = len(_SHA256_DIGEST_INFO_PREFIX) + 32     # T: the prefix and the SHA-256 hash


def _emsa_pkcs1_v15_sha256(message: bytes, em_len: int) -> bytes:
    """EMSA-PKCS1-v1_5 with SHA-256 (RFC 8017 section 9.2), an em_len-byte encoded message:

        EM = 0x00 || 0x01 || PS || 0x00 || T
        T  = DigestInfo prefix || SHA-256(message)               (19 + 32 bytes)
        PS = 0xFF repeated em_len - len(T) - 3 times              (at least 8: keys have >= 1024 bits)
    """
    t = _SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(message).digest()
    return b"\x00\x01" + b"\xff" * (em_len - len(t) - 3) + b"\x00" + t


def _modulus_bytes(key: "Union[RSAPublicKey, RSAPrivateKey]") -> int:
    """k, the length of the modulus in bytes (RFC 8017 section 8.2): signatures are k bytes."""
    return (key.bits + 7) // 8


_BLINDING_USES = 32              # a fresh blinding factor after this many signatures, as in OpenSSL
_BLINDING_LOCK = _thread.allocate_lock()


def _new_blinding_lock() -> None:
    """After fork(): a lock another thread of the parent held would stay locked in the child."""
    global _BLINDING_LOCK   # noqa: PLW0603 - the one lock every signing thread shares
    _BLINDING_LOCK = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):   # Python 3.7 and later, on POSIX
    os.register_at_fork(after_in_child=_new_blinding_lock)   # novm: guarded by hasattr above


def _blinding_pair(key: RSAPrivateKey) -> "Tuple[int, int]":
    """(r**e mod n, r**-1 mod n) for a secret random r, to blind one signature: signing
    c = m * r**e instead of m makes the values the private exponent meets independent of the
    message (Kocher's timing attack needs them known), and s = c**d * r**-1 undoes it.

    A fresh r costs a modular inverse, a twentieth of a signature. As OpenSSL and python-rsa do
    (Kocher 1996, section 10), each next signature squares the previous pair instead, which keeps
    both secret and unrelated to any message, and a fresh r is drawn after 32 uses. The lock
    gives every signature a pair of its own; the process ID in the state makes a child process
    after fork() draw its own instead of continuing its parent's chain."""
    n, process = key.n, os.getpid()
    with _BLINDING_LOCK:
        state = key._backend_cache.get("blinding")
        if state is None or state[2] >= _BLINDING_USES or state[3] != process:
            r, r_inverse = _random_unit(n)
            blinder, unblinder, uses = pow(r, key.e, n), r_inverse, 0
        else:
            blinder, unblinder, uses = state[0] * state[0] % n, state[1] * state[1] % n, state[2]
        key._backend_cache["blinding"] = (blinder, unblinder, uses + 1, process)
    return blinder, unblinder


def _random_unit(n: int) -> "Tuple[int, int]":
    """A random r in [2, n) with its inverse r**-1 mod n."""
    while True:
        r = int.from_bytes(os.urandom(n.bit_length() // 8 + 9), "big") % n   # 64 bits more than n
        if r > 1:
            try:
                return r, _inverse_mod(r, n)
            except ValueError:   # r shares a factor with n: chance about 2**-1000; draw again
                continue


def _sign_pure(key: RSAPrivateKey, message: bytes, encoded_message: bytes) -> bytes:
    """RSASP1 (RFC 8017 section 5.2.1) in pure Python, with the CRT (step 2.b) and blinding.

    s = m**d mod n is computed as s1 = c**dP mod p and s2 = c**dQ mod q on the blinded c, joined
    by Garner's formula, then unblinded. Python's integers are not constant-time; blinding is
    what keeps the timing of pow() unrelated to the message. The caller checks the result with
    the public exponent before it leaves sign_rs256.
    """
    n, p, q = key.n, key.p, key.q
    m = int.from_bytes(encoded_message, "big")               # OS2IP(EM), section 4.2
    blinder, unblinder = _blinding_pair(key)
    c = m * blinder % n                                       # blinded: (m * r**e) mod n
    s1 = pow(c % p, key.dp, p)                                # step 2.b.i
    s2 = pow(c % q, key.dq, q)                                # step 2.b.ii
    h = (s1 - s2) * key.qi % p                                # step 2.b.iii
    s = (s2 + q * h) * unblinder % n                          # step 2.b.iv, then unblinded
    return s.to_bytes(_modulus_bytes(key), "big")             # I2OSP(s, k), section 4.1


def verify_rs256(public_key: "Union[RSAPublicKey, RSAPrivateKey, str, BytesLike]",
                 message: "BytesLike", signature: "BytesLike") -> bool:
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 section 8.2.2), in pure Python.

    Rebuilds the expected encoding and compares all k bytes with RSAVP1 of the signature in
    constant time (step 4). It never parses the padding or the DigestInfo out of the signature:
    lenient parsers are what Bleichenbacher's 2006 forgeries with e = 3 exploit. Returns False
    for any bad signature; raises only for an unusable key or a message that is not bytes.
    """
    public = load_public_key(public_key)
    message = _message_bytes(message)
    k = _modulus_bytes(public)
    if not isinstance(signature, (bytes, bytearray, memoryview)) or len(signature) != k:
        return False                                             # step 1: length k exactly
    s = int.from_bytes(signature, "big")
    if s >= public.n:
        return False                                             # RSAVP1 step 1: s < n
    em = pow(s, public.e, public.n).to_bytes(k, "big")           # steps 2.b-2.c
    return hmac.compare_digest(em, _emsa_pkcs1_v15_sha256(message, k))   # steps 3-4


# ------------------------------------------------------------------------------------------------
# Signing backends and sign_rs256 (RFC 8017 section 8.2.1): one deterministic signature, three
# ways to compute it. "pure" (above) is always there; "openssl" runs the openssl command-line tool
# (1.1.1 or 3.x) as a subprocess; "cryptography" calls that package when it is installed. Whatever
# computed it, a signature is checked with the public exponent before sign_rs256 returns it.
# ------------------------------------------------------------------------------------------------

_BACKEND_NAMES = ("pure", "openssl", "cryptography")
# backend="auto" for a single signature: up to this size the pure backend is about as fast as
# importing cryptography and faster than starting the openssl tool; above it importing a recent
# cryptography wins, then the tool (figures in README.md, "Backends and speed").
_PURE_ONE_SHOT_MAX_BITS = 2048
_OPENSSL_TIMEOUT = 30.0
_PROBES = {}   # type: Dict[str, Any]  # what a backend probe found, kept for the life of the process
# The first cryptography release whose first key object does not load its older OpenSSL
# bindings: from it on, importing the package and signing once is quicker than starting the
# openssl tool for a key over 2048 bits (figures in README.md, "Backends and speed").
_CRYPTOGRAPHY_QUICK_START_RELEASE = 42


def _cryptography_parts(import_now: bool) -> "Any":
    """What signing needs from the cryptography package, or None when it is absent, broken or
    older than 3.3 (the release that added the public-key operation the check before release
    uses): its rsa module, and the PKCS#1 v1.5 padding and SHA-256 objects, made once (both are
    stateless; making them for each call would cost about 7 us, 1% of a 2048-bit signature).
    With import_now false, only when the program has imported the package already."""
    if "cryptography" not in _PROBES:
        if not import_now and "cryptography.hazmat.primitives.asymmetric.rsa" not in sys.modules:
            return None
        try:
            hashes = _import_quietly("cryptography.hazmat.primitives.hashes")
            padding = _import_quietly("cryptography.hazmat.primitives.asymmetric.padding")
            rsa = _import_quietly("cryptography.hazmat.primitives.asymmetric.rsa")
            recent = hasattr(rsa.RSAPublicKey, "recover_data_from_signature")
            _PROBES["cryptography"] = (rsa, padding.PKCS1v15(), hashes.SHA256()) if recent else None
        except Exception:   # noqa: BLE001 - not installed, or a broken build: both mean "not usable here"
            _PROBES["cryptography"] = None
    return _PROBES["cryptography"]


def _cryptography_starts_quickly() -> bool:
    """Whether the installed cryptography is _CRYPTOGRAPHY_QUICK_START_RELEASE or later, read
    from its top module alone (under a millisecond to import: it loads no OpenSSL bindings).
    Older releases take 35-75 ms to import and make their first key object."""
    if "cryptography release" not in _PROBES:
        try:
            release = int(str(_import_quietly("cryptography").__version__).split(".")[0])
        except Exception:   # noqa: BLE001 - not installed, broken, or a version that is not a number
            release = 0
        _PROBES["cryptography release"] = release
    return bool(_PROBES["cryptography release"] >= _CRYPTOGRAPHY_QUICK_START_RELEASE)


def _cryptography_key(key: RSAPrivateKey) -> "Any":
    """cryptography's object for `key`, made once per RSAPrivateKey from the numbers scvjwt has
    already checked. Releases 39.0 and later can skip their own validation of them (a primality
    test of p and q, slower than a signature); older ones validate."""
    cached = key._backend_cache.get("cryptography")
    if cached is None:
        rsa = _cryptography_parts(import_now=True)[0]
        numbers = rsa.RSAPrivateNumbers(key.p, key.q, key.d, key.dp, key.dq, key.qi,
                                        rsa.RSAPublicNumbers(key.e, key.n))
        try:
            cached = numbers.private_key(unsafe_skip_rsa_key_validation=True)
        except TypeError:
            cached = numbers.private_key()
        key._backend_cache["cryptography"] = cached
    return cached


def _sign_cryptography(key: RSAPrivateKey, message: bytes, encoded_message: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 by the cryptography package (OpenSSL underneath)."""
    parts = _cryptography_parts(import_now=True)
    if parts is None:
        raise BackendError("the cryptography package is not installed, or does not import")
    _, pkcs1v15, sha256 = parts
    try:
        return bytes(_cryptography_key(key).sign(message, pkcs1v15, sha256))
    except Exception as error:   # noqa: BLE001 - whatever the package raises, the caller sees a BackendError
        raise BackendError("the cryptography backend failed: %s" % (error or _type_name(error))) from None


def _cryptography_public_operation(key: RSAPrivateKey, signature: bytes) -> "Optional[bytes]":
    """RSAVP1 with the public exponent by the cryptography package, for the check of its own
    signatures before release: T, what follows the PKCS#1 v1.5 padding 00 01 FF..FF 00 (which
    OpenSSL checks) in s**e mod n, or None when that padding is not there or OpenSSL refuses the
    key for public use (it does when e has over 64 bits and n over 3072)."""
    try:
        _, pkcs1v15, _ = _cryptography_parts(import_now=True)
        public = key._backend_cache.get("cryptography public")
        if public is None:
            public = key._backend_cache["cryptography public"] = _cryptography_key(key).public_key()
        return bytes(public.recover_data_from_signature(signature, pkcs1v15, None))
    except Exception:   # noqa: BLE001 - InvalidSignature, or anything else: not verified
        return None


def _openssl_tool() -> "Optional[str]":
    """The path of the openssl tool on PATH, or None. It must answer `openssl version` as
    OpenSSL or LibreSSL do (asked once per process and path) before it sees any secret; and it
    reads them through /dev/fd, so POSIX only."""
    import shutil
    path = shutil.which("openssl") if os.name == "posix" else None
    if path is None:
        return None
    if "openssl " + path not in _PROBES:
        try:
            version = _run_openssl(path, ["version"], b"").decode("ascii", "replace")
        except BackendError:
            version = ""
        _PROBES["openssl " + path] = version.startswith(("OpenSSL", "LibreSSL"))
    return path if _PROBES["openssl " + path] else None


def _run_openssl(path: str, arguments: "List[str]", stdin: bytes, secret: "Optional[bytes]" = None) -> bytes:
    """Run the openssl tool and return its standard output; BackendError with the tool's own
    message when it fails. `secret` (a key or a password) travels through a pipe that the tool
    inherits, never on a command line, in the environment or in a file on disk: "{secret}" in
    `arguments` becomes that pipe's descriptor number. The tool gets only the environment it
    needs (PATH, locale, OpenSSL's own settings), not this process's, which may hold a password
    (--password-env). The whole secret is written before the tool starts, so it must fit the
    pipe's buffer (usually 64 KiB; a 16384-bit key's PEM is under 13 KiB): a secret that does not
    fit raises BackendError instead of blocking. POSIX only (os.pipe with pass_fds)."""
    import subprocess
    environment = {name: value for name, value in os.environ.items()
                   if name in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR") or name.startswith("OPENSSL_")}
    read_end = write_end = -1
    try:
        if secret is not None:
            read_end, write_end = os.pipe()
            os.set_blocking(write_end, False)
            try:
                written = os.write(write_end, secret)
            except BlockingIOError:
                written = 0
            if written != len(secret):
                raise BackendError("the secret does not fit the pipe to the openssl tool")
            os.close(write_end)
            write_end = -1
            arguments = [argument.replace("{secret}", str(read_end)) for argument in arguments]
        completed = subprocess.run([path] + arguments, input=stdin, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=_OPENSSL_TIMEOUT, check=False,
                                   env=environment, pass_fds=() if secret is None else (read_end,))
    except (OSError, subprocess.SubprocessError) as error:
        raise BackendError("the openssl tool could not run: %s" % (getattr(error, "strerror", None) or error)) from None
    finally:
        for end in (read_end, write_end):
            if end >= 0:
                os.close(end)
    if completed.returncode != 0:
        raise BackendError("the openssl tool failed (exit status %d): %s"
                           % (completed.returncode, _openssl_tool_message(completed.stderr)))
    return bytes(completed.stdout)


def _sign_openssl(key: RSAPrivateKey, message: bytes, encoded_message: bytes) -> bytes:
    """`openssl dgst -sha256 -sign` over the message, the private key read from an inherited pipe
    as /dev/fd/N (see _run_openssl)."""
    path = _openssl_tool()
    if path is None:
        raise BackendError("the openssl tool is not on PATH")
    pem = key._backend_cache.get("openssl")
    if pem is None:
        pem = key._backend_cache["openssl"] = key.to_pem().encode("ascii")
    return _run_openssl(path, ["dgst", "-sha256", "-sign", "/dev/fd/{secret}"], message, secret=pem)


_SIGNERS = {"pure": _sign_pure, "openssl": _sign_openssl, "cryptography": _sign_cryptography}


def backends() -> "List[str]":
    """The signing backends usable on this host, in backend="auto"'s order of preference:
    "cryptography" when the package imports (this call imports it, after which auto always
    prefers it), "pure" (always there: auto's fall-back, and its choice for a single signature
    with a key up to 2048 bits when cryptography is not imported), "openssl" when the tool runs
    (auto's choice for a single signature with a bigger key when cryptography is not usable)."""
    usable = ["pure"]
    if _openssl_tool():
        usable.append("openssl")
    if _cryptography_parts(import_now=True) is not None:
        usable.insert(0, "cryptography")
    return usable


def _backend_candidates(backend: object, bits: int, long_running: bool) -> "List[str]":
    """The backends to try in turn. A named backend is the only one. "auto" picks by measured
    speed: cryptography when it is imported already, or it imports and the job is long-running
    (a Minter), or a single signature with a key over 2048 bits and release 42 or later; else the
    openssl tool for such a key; else pure. Pure comes last, as the fall-back when another
    backend fails to run."""
    if backend == "auto":
        big_key = bits > _PURE_ONE_SHOT_MAX_BITS
        import_now = long_running or (big_key and _cryptography_starts_quickly())
        if _cryptography_parts(import_now) is not None:
            return ["cryptography", "pure"]
        if big_key and _openssl_tool():
            return ["openssl", "pure"]
        return ["pure"]
    if backend not in _BACKEND_NAMES:
        raise BackendError("unknown backend %s; choose auto, %s" % (_shown(backend), ", ".join(_BACKEND_NAMES)))
    if backend == "cryptography" and _cryptography_parts(import_now=True) is None:
        raise BackendError("the cryptography backend is not available: the package is not installed "
                           "or does not import")
    if backend == "openssl" and _openssl_tool() is None:
        raise BackendError("the openssl backend is not available: no openssl tool on PATH")
    return [str(backend)]


def _message_bytes(message: object) -> bytes:
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise TokenError("malformed", "the message must be bytes, not %s" % _type_name(message))
    return bytes(message)


def sign_rs256(key: "Union[RSAPrivateKey, str, BytesLike]", message: "BytesLike",
               backend: str = "auto") -> bytes:
    """RSASSA-PKCS1-v1_5 signature with SHA-256 (RFC 8017 section 8.2.1) of `message`.

    `key` is an RSAPrivateKey or unencrypted PEM/DER data; `backend` one of backends() or
    "auto". The scheme is deterministic, so every backend returns the same bytes.
    """
    private_key = load_private_key(key)
    return _sign(private_key, _message_bytes(message),
                 _backend_candidates(backend, private_key.bits, long_running=False))


def _sign(key: RSAPrivateKey, message: bytes, candidates: "List[str]") -> bytes:
    """Sign with the first candidate backend that runs, then check the signature with the public
    exponent before releasing it: with the CRT, one faulty half of a signature reveals a prime
    factor of n (Boneh, DeMillo and Lipton, 1997), so a result that fails the check raises
    BackendError, whichever backend computed it, and is never returned.

    OpenSSL's default RSA code checks its own CRT result too, but a configuration file can put an
    engine or a provider in its place (a hardware accelerator, an HSM, the adapter path of its
    IBM Z build), and not all of those check. The check here catches a fault in whatever
    computed the signature: for the cryptography backend it is first the public-key step of the
    same OpenSSL, a separate computation that a random fault in the private one does not repeat
    (not a defence against a provider that is broken for both); for the others, and before any
    signature is refused, pow() here (see _signature_checks_out)."""
    k = _modulus_bytes(key)
    encoded_message = _emsa_pkcs1_v15_sha256(message, k)                 # step 1
    for name in candidates:
        try:
            signature = _SIGNERS[name](key, message, encoded_message)     # steps 2-3
            break
        except BackendError:
            if name == candidates[-1]:
                raise
        except (ArithmeticError, ValueError):   # pow() on numbers changed since the key was checked
            raise BackendError("the %s backend failed: the key's numbers are damaged" % name) from None
    if not _signature_checks_out(key, encoded_message, signature, name):
        key._backend_cache.pop("blinding", None)   # a fault may have left it wrong: draw afresh
        raise BackendError("the %s backend produced a signature that fails its check with the public "
                           "exponent; it was not released" % name)
    return signature


def _signature_checks_out(key: RSAPrivateKey, encoded_message: bytes, signature: bytes, backend: str) -> bool:
    """RSAVP1 (RFC 8017 section 5.2.2): s is k bytes, s < n, and s**e mod n gives back EM exactly.

    For the cryptography backend the package does the public-key step first, in C, in a half to
    a quarter of the time of pow() here in `bench` (a fifth to an eighth in a tight loop): OpenSSL
    refuses s >= n, computes s**e mod n and checks the padding 00 01 FF..FF 00 of EM; T, the rest,
    is compared here. When that does not vouch for the signature, pow() decides: a faulty
    signature fails both, while a key that OpenSSL will not use publicly (e over 64 bits with n
    over 3072) passes pow() alone."""
    if len(signature) != _modulus_bytes(key):
        return False
    if backend == "cryptography":
        recovered_t = _cryptography_public_operation(key, signature)
        if recovered_t == encoded_message[-_DIGEST_INFO_LENGTH:]:
            return True
    s = int.from_bytes(signature, "big")
    return s < key.n and pow(s, key.e, key.n) == int.from_bytes(encoded_message, "big")


# ------------------------------------------------------------------------------------------------
# X.509 certificates: RFC 5280 sections 4.1 (the certificate) and 4.2.1 (extensions). Writes the
# self-signed certificate that carries the public key to Salesforce; reads the subject and
# validity dates `check` shows.
# ------------------------------------------------------------------------------------------------

_BOOLEAN, _UTF8_STRING, _SET, _UTC_TIME, _GENERALIZED_TIME = 0x01, 0x0C, 0x31, 0x17, 0x18

# AlgorithmIdentifier { sha256WithRSAEncryption (1.2.840.113549.1.1.11), NULL } (RFC 4055 section 5).
_SHA256_WITH_RSA_DER = bytes.fromhex("300d06092a864886f70d01010b0500")
_VERSION_3_DER = bytes.fromhex("a003020102")          # [0] EXPLICIT INTEGER 2: X.509 v3
_COMMON_NAME_OID_DER = bytes.fromhex("0603550403")     # id-at-commonName 2.5.4.3
_BASIC_CONSTRAINTS_OID_DER = bytes.fromhex("0603551d13")     # id-ce-basicConstraints 2.5.29.19
_SUBJECT_KEY_ID_OID_DER = bytes.fromhex("0603551d0e")        # id-ce-subjectKeyIdentifier 2.5.29.14
_MAX_COMMON_NAME = 64                # ub-common-name (RFC 5280 appendix A.1), in characters
_MAX_CERTIFICATE_DAYS = 36500
_SECONDS_PER_DAY = 86400

# Attribute names as RFC 4514 section 3 (and OpenSSL, for the ones it leaves out) write them.
_ATTRIBUTE_NAMES = {
    "2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
    "2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
    "2.5.4.42": "GN", "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}
# The string types of X.520 attribute values and how their bytes decode (TeletexString as
# Latin-1, as most software reads it).
_STRING_ENCODINGS = {0x0C: "utf-8", 0x12: "ascii", 0x13: "ascii", 0x14: "latin-1", 0x16: "ascii",
                     0x1C: "utf-32-be", 0x1E: "utf-16-be"}


def _common_name(common_name: object) -> str:
    """A certificate's common name: 1 to 64 printable characters (ub-common-name)."""
    if (not isinstance(common_name, str) or not 0 < len(common_name) <= _MAX_COMMON_NAME or
            not common_name.strip() or not common_name.isprintable()):
        raise KeyFormatError("the common name must be 1 to %d printable characters, such as the Call "
                             "Center API name" % _MAX_COMMON_NAME)
    return common_name      # printable text has no lone surrogates, so it encodes as UTF-8


def _der_encode_time(seconds: int) -> bytes:
    """A Time (RFC 5280 section 4.1.2.5): UTCTime YYMMDDHHMMSSZ for the years 1950 to 2049,
    GeneralizedTime YYYYMMDDHHMMSSZ from 2050 on; UTC, whole seconds."""
    import datetime
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)
    if 1950 <= moment.year <= 2049:
        return _der_encode(_UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return _der_encode(_GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def _der_time(item: "Tuple[int, bytes]", what: str) -> int:
    """A Time (RFC 5280 section 4.1.2.5) in seconds since 1970, read strictly: UTCTime
    YYMMDDHHMMSSZ (YY from 50 is 19YY, below 50 is 20YY) or GeneralizedTime YYYYMMDDHHMMSSZ. Forms
    DER does not allow (no seconds, fractions, offsets from UTC) and impossible dates are refused."""
    import datetime
    tag, contents = item
    year_digits = {_UTC_TIME: 2, _GENERALIZED_TIME: 4}.get(tag)
    if year_digits is None:
        raise _der_error("%s is not a UTCTime or GeneralizedTime" % what)
    digits = contents[:-1]
    if len(digits) != year_digits + 10 or contents[-1:] != b"Z" or not digits.isdigit():
        raise _der_error("%s is not in the form %sMMDDHHMMSSZ" % (what, "YY" * (year_digits // 2)))
    year = int(digits[:year_digits])
    if tag == _UTC_TIME:
        year += 1900 if year >= 50 else 2000
    month, day, hour, minute, second = (int(digits[i:i + 2]) for i in range(year_digits, len(digits), 2))
    try:
        moment = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise _der_error("%s is not a valid date and time" % what) from None
    return int((moment - datetime.datetime(1970, 1, 1)).total_seconds())


def _key_identifier(public_key: RSAPublicKey) -> bytes:
    """RFC 5280 section 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value.
    SHA-1 names the key here and secures nothing; FIPS-mode hosts allow it only when told so,
    through usedforsecurity=False (Python 3.9 and later, and some older vendor builds)."""
    return _digest_not_for_security("sha1", public_key._pkcs1_der(), "the certificate's key identifier")


def _random_serial_number() -> int:
    """A serial number (RFC 5280 section 4.1.2.2): positive, at most 20 bytes, unique per issuer.
    126 random bits: the first bit is 0 (positive) and the second 1, so the INTEGER is always
    exactly 16 bytes, never padded and never shortened."""
    octets = bytearray(os.urandom(16))
    octets[0] = (octets[0] & 0x7F) | 0x40
    return int.from_bytes(bytes(octets), "big")


def self_signed_certificate(key: "Union[RSAPrivateKey, str, BytesLike]", common_name: str, days: int = 365,
                            now: "Optional[float]" = None) -> str:
    """A self-signed X.509 v3 certificate (RFC 5280) for `key`, as PEM: the text Salesforce
    stores on the CallCenter record, from which it takes the public key that checks tokens.

    Subject and issuer are both CN=`common_name` (1 to 64 characters, as a UTF8String). Valid
    from `now` (seconds since 1970, default the clock, whole seconds) for `days` days (1 to
    36500). Signed with sha256WithRSAEncryption through sign_rs256. A random 126-bit serial
    number. Extensions: basicConstraints cA FALSE, critical (this key signs tokens, never
    certificates, so the certificate grants no authority to issue others even if it is
    trusted by mistake), and subjectKeyIdentifier. `openssl verify -CAfile CERT CERT` accepts
    it. KeyFormatError for a key or common name that cannot be used; ClaimsError for `days`
    or `now` out of range, as for token times.
    """
    private_key = load_private_key(key)
    name = _common_name(common_name)
    lifetime = _whole_number(days, "days", 1, _MAX_CERTIFICATE_DAYS, "days") * _SECONDS_PER_DAY
    not_before = int(_epoch(now))
    if not_before + lifetime > _MAX_EPOCH:
        raise ClaimsError("the certificate would end after the year 9999; choose fewer days")
    public_key = private_key.public_key()
    # Name ::= SEQUENCE { SET { SEQUENCE { id-at-commonName, UTF8String } } }      (section 4.1.2.4)
    rdn = _der_encode(_SET, _der_encode_sequence(_COMMON_NAME_OID_DER,
                                                 _der_encode(_UTF8_STRING, name.encode("utf-8"))))
    subject = _der_encode_sequence(rdn)
    # Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    # BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, ... }: DER leaves the default
    # out, so cA FALSE is the empty SEQUENCE. Marked critical (BOOLEAN TRUE).
    basic_constraints = _der_encode_sequence(
        _BASIC_CONSTRAINTS_OID_DER, _der_encode(_BOOLEAN, b"\xff"),
        _der_encode(_OCTET_STRING, _der_encode_sequence()))
    subject_key_identifier = _der_encode_sequence(
        _SUBJECT_KEY_ID_OID_DER,
        _der_encode(_OCTET_STRING, _der_encode(_OCTET_STRING, _key_identifier(public_key))))
    # TBSCertificate ::= SEQUENCE {                                                 (section 4.1)
    #     [0] version v3, serialNumber, signature AlgorithmIdentifier, issuer Name,
    #     validity SEQUENCE { notBefore, notAfter }, subject Name, subjectPublicKeyInfo,
    #     [3] extensions SEQUENCE OF Extension }
    tbs_certificate = _der_encode_sequence(
        _VERSION_3_DER,
        _der_encode_uint(_random_serial_number()),
        _SHA256_WITH_RSA_DER,
        subject,                                     # issuer = subject: self-signed
        _der_encode_sequence(_der_encode_time(not_before), _der_encode_time(not_before + lifetime)),
        subject,
        public_key._spki_der(),
        _der_encode(0xA3, _der_encode_sequence(basic_constraints, subject_key_identifier)))
    # Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
    signature = sign_rs256(private_key, tbs_certificate)
    certificate = _der_encode_sequence(tbs_certificate, _SHA256_WITH_RSA_DER,
                                       _der_encode(_BIT_STRING, b"\x00" + signature))
    return _pem_wrap("CERTIFICATE", certificate)


def _certificate_validity(der: bytes) -> "Tuple[int, int]":
    """(notBefore, notAfter) of a certificate, in seconds since 1970 (RFC 5280 section 4.1.2.5)."""
    validity = _der_items(_der_expect(_certificate_fields(der)[3], _SEQUENCE, "validity"), 2, 2, "validity")
    return _der_time(validity[0], "notBefore"), _der_time(validity[1], "notAfter")


def _certificate_subject(der: bytes) -> str:
    """A certificate's subject as text in the manner of RFC 4514: 'CN=name, O=org, C=US', the
    most specific name first; special and unprintable characters escaped with a backslash."""
    subject = _der_expect(_certificate_fields(der)[4], _SEQUENCE, "the subject")
    names = []
    for rdn in reversed(_der_items(subject, 0, 64, "the subject")):
        attributes = _der_items(_der_expect(rdn, _SET, "a name in the subject"), 1, 16, "a name")
        names.append("+".join(_attribute_text(attribute) for attribute in attributes))
    return ", ".join(names)


def _attribute_text(item: "Tuple[int, bytes]") -> str:
    """One AttributeTypeAndValue as 'TYPE=value' (RFC 4514 section 2.3); a value of a type that
    is not a string is shown as '#' and its DER in hexadecimal (section 2.4)."""
    oid_item, value = _der_items(_der_expect(item, _SEQUENCE, "an attribute"), 2, 2, "an attribute")
    oid = _der_oid_text(oid_item, "an attribute type")
    name = _ATTRIBUTE_NAMES.get(oid, oid)
    encoding = _STRING_ENCODINGS.get(value[0])
    if encoding is None:
        return "%s=#%s" % (name, _shortened(_der_encode(value[0], value[1]).hex()))
    try:
        text = value[1].decode(encoding)
    except UnicodeDecodeError:
        raise _der_error("the %s attribute of the subject is not valid text" % name) from None
    return "%s=%s" % (name, _rfc4514_escape(_shortened(text)))


def _shortened(text: str) -> str:
    """At most 200 characters of an attribute value, for display: RFC 5280 bounds names far
    below that (a common name has at most 64 characters), and a crafted certificate could hold
    a megabyte."""
    return text if len(text) <= 200 else text[:200] + "..."


def _rfc4514_escape(value: str) -> str:
    """Escape an attribute value as RFC 4514 section 2.4 requires, and characters that are
    unprintable or not ASCII as \\XX for each UTF-8 byte (section 2.4 allows that for any
    character): no control character reaches the terminal, and an ASCII terminal prints it."""
    escaped = []
    for index, character in enumerate(value):
        if (character in '"+,;<>\\' or (character == "#" and index == 0) or
                (character == " " and index in (0, len(value) - 1))):
            escaped.append("\\" + character)
        elif not (" " <= character <= "~"):
            escaped.append("".join("\\%02X" % byte for byte in character.encode("utf-8", "surrogatepass")))
        else:
            escaped.append(character)
    return "".join(escaped)


# ------------------------------------------------------------------------------------------------
# Claims and tokens: RFC 7519 (JWT) section 4.1, RFC 7515 (JWS compact serialization) section 7.1,
# and the Telephony Integration REST API's rules (iss = org ID, sub = Call Center API name)
# ------------------------------------------------------------------------------------------------

DEFAULT_TTL = 300           # seconds; what Salesforce's own Amazon Connect lambdas use
MAX_TTL = 86400             # Salesforce refuses tokens with exp more than 24 hours after iat
_MAX_SKEW = 300
_MAX_CLAIM_STRING = 1024

# Step 1: the JOSE header (RFC 7515 section 4), as bytes. The guide shows both forms.
_HEADER_JSON = b'{"alg":"RS256","typ":"JWT"}'
_MINIMAL_HEADER_JSON = b'{"alg":"RS256"}'

# What json.dumps(separators=(",", ":"), ensure_ascii=False) makes, without building an encoder
# for every token. It keeps no state between calls, so threads may share it.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ORG_ID_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _header_json(typ: bool = True) -> bytes:
    """Step 1: {"alg":"RS256","typ":"JWT"}, or {"alg":"RS256"} when typ is false."""
    return _HEADER_JSON if typ else _MINIMAL_HEADER_JSON


def _json_bytes(value: object) -> bytes:
    """Compact JSON (no spaces), UTF-8, keys in insertion order: the bytes that get signed."""
    return _COMPACT_JSON.encode(value).encode("utf-8")


def _org_id_suffix(org_id_15: str) -> str:
    """The three checksum characters of an 18-character ID: for each group of five characters,
    bit i is set when character i is an uppercase letter; the five-bit value indexes A-Z0-5."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(org_id_15[start:start + 5]) if "A" <= ch <= "Z")
        suffix += _ORG_ID_SUFFIX_ALPHABET[bits]
    return suffix


def _org_id_15(org_id: object) -> str:
    """The org ID as `iss` carries it: 15 characters, '00D' and 12 letters or digits. An
    18-character ID is accepted when its checksum matches and shortened to 15 characters."""
    if not isinstance(org_id, str):
        raise ClaimsError("the org ID must be a string, not %s" % _type_name(org_id))
    if len(org_id) not in (15, 18) or not org_id.startswith("00D") or not _ALPHANUMERIC.issuperset(org_id):
        raise ClaimsError("the org ID %s is not a Salesforce org ID: '00D' followed by 12 letters "
                          "or digits (15 characters, or 18 with the checksum)" % _shown(org_id))
    if len(org_id) == 18 and _org_id_suffix(org_id[:15]) != org_id[15:]:
        raise ClaimsError("the 18-character org ID %s has a wrong checksum (expected %s); check "
                          "its upper and lower case" % (_shown(org_id), _org_id_suffix(org_id[:15])))
    return org_id[:15]


def _call_center_name(name: object) -> str:
    """A Call Center API name (CallCenter.InternalName, the `sub` claim): at most 80 characters,
    a letter first, then letters, digits and single underscores, not ending in an underscore."""
    if not isinstance(name, str):
        raise ClaimsError("the Call Center API name must be a string, not %s" % _type_name(name))
    if (not 0 < len(name) <= 80 or not _ALPHANUMERIC.issuperset(name.replace("_", "")) or
            not name[0].isalpha() or "__" in name or name.endswith("_")):
        raise ClaimsError("the Call Center API name %s is not an API name: up to 80 letters, digits "
                          "and single underscores, starting with a letter and not ending with '_'"
                          % _shown(name))
    return name


def _claim_string(value: object, what: str) -> str:
    """A string claim such as aud or jti: non-empty, at most 1024 characters, valid UTF-8."""
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_CLAIM_STRING:
        raise ClaimsError("%s must be a non-empty string of at most %d characters" % (what, _MAX_CLAIM_STRING))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ClaimsError("%s is not valid Unicode text" % what) from None
    return value


def _random_uuid() -> str:
    """A random (version 4) UUID string, RFC 9562 section 5.4: 122 random bits from os.urandom."""
    octets = bytearray(os.urandom(16))
    octets[6] = (octets[6] & 0x0F) | 0x40     # version 4
    octets[8] = (octets[8] & 0x3F) | 0x80     # variant 10
    h = octets.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def build_claims(org_id: str, call_center: str, ttl: int = DEFAULT_TTL, now: "Optional[float]" = None,
                 jti: "Union[bool, str, None]" = True, audience: "Optional[str]" = None,
                 skew: int = 0) -> "Dict[str, Any]":
    """Step 3: the claims set, in the order iat, exp, iss, sub, then aud and jti when present.

    iat = now - skew and exp = now + ttl, in whole seconds (the floor of `now`, the clock when it
    is None); exp - iat may not exceed MAX_TTL. iss is the 15-character org ID; sub the Call
    Center API name. jti=True adds a new random UUID, a string is used as given, False or None
    leave it out (RFC 7519 section 4.1.7; Salesforce accepts each jti once).
    """
    iss = _org_id_15(org_id)
    sub = _call_center_name(call_center)
    ttl = _whole_number(ttl, "ttl", 1, MAX_TTL)
    skew = _whole_number(skew, "skew", 0, _MAX_SKEW)
    if ttl + skew > MAX_TTL:
        raise ClaimsError("ttl + skew is %d seconds; exp - iat may not exceed %d" % (ttl + skew, MAX_TTL))
    whole_now = int(_epoch(now))
    iat = max(whole_now - skew, 0)
    claims = {"iat": iat, "exp": whole_now + ttl, "iss": iss, "sub": sub}   # type: Dict[str, Any]
    if audience is not None:
        claims["aud"] = _claim_string(audience, "audience")
    if jti is True:
        claims["jti"] = _random_uuid()
    elif jti is not None and jti is not False:
        claims["jti"] = _claim_string(jti, "jti")
    return claims


def _signing_input(typ: bool, claims: "Dict[str, Any]") -> str:
    """Steps 1 to 4: BASE64URL(header JSON) '.' BASE64URL(claims JSON), the JWS Signing Input
    (RFC 7515 section 5.1 step 4)."""
    return b64url_encode(_header_json(typ)) + "." + b64url_encode(_json_bytes(claims))


def _sign_claims(key: RSAPrivateKey, claims: "Dict[str, Any]", typ: bool, backends: "List[str]") -> str:
    """Step 5: the signing input, '.', and BASE64URL of its RS256 signature: the compact JWS
    (RFC 7515 section 7.1)."""
    signing_input = _signing_input(typ, claims)
    signature = _sign(key, signing_input.encode("ascii"), backends)
    return signing_input + "." + b64url_encode(signature)


def mint(key: "Union[RSAPrivateKey, str, BytesLike]", org_id: str, call_center: str,
         ttl: int = DEFAULT_TTL, now: "Optional[float]" = None, jti: "Union[bool, str, None]" = True,
         audience: "Optional[str]" = None, typ: bool = True, skew: int = 0, backend: str = "auto") -> str:
    """A signed token (compact JWS) for the Telephony Integration REST API; send it as
    'Authorization: Bearer <token>'. `key` is an RSAPrivateKey or unencrypted PEM/DER data;
    the other arguments are those of build_claims, plus `typ` (False drops "typ":"JWT" from the
    header) and the signing backend."""
    claims = build_claims(org_id, call_center, ttl, now, jti, audience, skew)
    private_key = load_private_key(key)
    return _sign_claims(private_key, claims, bool(typ),
                        _backend_candidates(backend, private_key.bits, long_running=False))


class Minter(object):
    """Tokens on demand for one key, org and call center; safe to share between threads.

    reuse=False (the default): every token() is a new token with a new jti, as Salesforce wants
    for each request. reuse=True: tokens carry no jti, and the same token is returned until fewer
    than `refresh_margin` seconds of its life remain. `clock` returns seconds since the epoch.
    """

    def __init__(self, key: "Union[RSAPrivateKey, str, BytesLike]", org_id: str, call_center: str,
                 ttl: int = DEFAULT_TTL, reuse: bool = False, refresh_margin: int = 60,
                 audience: "Optional[str]" = None, typ: bool = True, skew: int = 0,
                 backend: str = "auto", clock: "Callable[[], float]" = time.time) -> None:
        import threading
        build_claims(org_id, call_center, ttl, 0, jti=None, audience=audience, skew=skew)  # checks all
        # A reused token must be refreshed before it expires; without reuse no token is kept.
        self._refresh_margin = _whole_number(refresh_margin, "refresh_margin", 0, ttl - 1 if reuse else MAX_TTL)
        if not callable(clock):
            raise ClaimsError("clock must be a function that returns the time in seconds")
        self._key = load_private_key(key)
        self._backends = _backend_candidates(backend, self._key.bits, long_running=True)
        self._claim_arguments = (org_id, call_center, ttl)
        self._audience, self._typ, self._skew, self._reuse, self._clock = audience, bool(typ), skew, bool(reuse), clock
        self._lock = threading.Lock()
        self._cached = None   # type: Optional[Tuple[str, int]]

    def _mint(self, jti: bool) -> "Tuple[str, int]":
        org_id, call_center, ttl = self._claim_arguments
        claims = build_claims(org_id, call_center, ttl, self._clock(), jti, self._audience, self._skew)
        return _sign_claims(self._key, claims, self._typ, self._backends), claims["exp"]

    def token(self) -> str:
        """A token: new with a new jti each call, or (reuse=True) the current one while it has at
        least refresh_margin seconds to live."""
        if not self._reuse:
            return self._mint(jti=True)[0]
        with self._lock:
            if self._cached is None or self._cached[1] - _epoch(self._clock()) < self._refresh_margin:
                self._cached = self._mint(jti=False)
            return self._cached[0]

    def authorization(self) -> str:
        """Step 6: the Authorization header value, 'Bearer <token>' (RFC 6750 section 2.1)."""
        return "Bearer " + self.token()

    def __repr__(self) -> str:
        org_id, call_center, ttl = self._claim_arguments
        return "<Minter %s/%s ttl=%d reuse=%s key %s>" % (org_id, call_center, ttl, self._reuse,
                                                          self._key.public_key().fingerprint())


# ------------------------------------------------------------------------------------------------
# Verification: RFC 7515 section 5.2 (validating a JWS), RFC 7519 section 7.2 (validating a JWT),
# in the order the Telephony Integration REST API checks a token
# ------------------------------------------------------------------------------------------------

_MAX_TOKEN_LENGTH = 16 * 1024
_MAX_JSON_DEPTH = 32


def _token_parts(token: object) -> "Tuple[str, str, str]":
    token = _ascii_text(token, "a token")
    if len(token) > _MAX_TOKEN_LENGTH:
        raise TokenError("malformed", "the token is longer than 16 KiB")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed", "a signed token has three parts separated by dots, not %d"
                         % len(parts))
    return parts[0], parts[1], parts[2]


def _refuse_duplicates(pairs: "List[Tuple[str, Any]]") -> "Dict[str, Any]":
    result = dict(pairs)
    if len(result) != len(pairs):
        raise TokenError("malformed", "a JSON object in the token repeats a member name")
    return result


def _refuse_constant(name: str) -> None:
    raise TokenError("malformed", "the token's JSON holds %s, which JSON does not allow" % name)


def _json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects in the JSON `text` nest more than `limit` deep. Counted here,
    so that the answer does not hang on the Python version's recursion limit (the json module
    gives up near 1,000 levels on some versions, near 6,000 on others)."""
    if text.count("[") + text.count("{") <= limit:
        return False                     # too few brackets to nest that deep: the usual case
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _json_object(part: str, what: str) -> "Dict[str, Any]":
    """A base64url part holding a UTF-8 JSON object (RFC 7515 section 5.2 steps 2-4 and 7-8),
    nested at most 32 levels deep."""
    raw = b64url_decode(part)
    try:
        text = raw.decode("utf-8")
        if _json_nesting_exceeds(text, _MAX_JSON_DEPTH):
            raise TokenError("malformed", "the token's %s nests more than %d levels deep" % (what, _MAX_JSON_DEPTH))
        value = json.loads(text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
    except TokenError:
        raise
    except (ValueError, RecursionError):   # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise TokenError("malformed", "the token's %s is not UTF-8 JSON" % what) from None
    if not isinstance(value, dict):
        raise TokenError("malformed", "the token's %s is not a JSON object" % what)
    return value


def decode_unverified(token: "Union[str, BytesLike]") -> "Tuple[Dict[str, Any], Dict[str, Any]]":
    """The (header, claims) of a token WITHOUT checking its signature: for display and
    debugging only. TokenError("malformed") unless it is three strict base64url parts (at
    most 16 KiB in all) holding a JSON object header and a JSON object claims set."""
    header_part, claims_part, signature_part = _token_parts(token)
    header = _json_object(header_part, "header")
    claims = _json_object(claims_part, "claims set")
    b64url_decode(signature_part)
    return header, claims


class ReplayCache(object):
    """The jti values already seen, each kept until its token's exp plus the verify leeway, so
    memory holds live tokens only. Thread-safe. Give one to verify(replay_cache=...)."""

    def __init__(self) -> None:
        import threading
        self._lock = threading.Lock()
        self._expiry = {}    # type: Dict[str, float]
        self._queue = []     # type: List[Tuple[float, str]]

    def add(self, jti: str, until: float, now: float) -> bool:
        """Remember `jti` until the time `until`; False when it is already remembered (a replay)."""
        import heapq
        if not isinstance(jti, str) or not all(isinstance(t, (int, float)) for t in (until, now)):
            raise TokenError("malformed", "a jti is a string, and its times are numbers")
        with self._lock:
            while self._queue and self._queue[0][0] <= now:
                _, expired = heapq.heappop(self._queue)
                if self._expiry.get(expired, now + 1) <= now:
                    del self._expiry[expired]
            if jti in self._expiry:
                return False
            self._expiry[jti] = until
            heapq.heappush(self._queue, (until, jti))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def __repr__(self) -> str:
        return "<ReplayCache %d jti values>" % len(self)


def _time_claims(claims: "Dict[str, Any]") -> "Tuple[int, int]":
    """iat and exp: whole seconds from 0 to the latest exp build_claims makes (JSON numbers are
    unbounded; far beyond that, arithmetic with a float clock or leeway would overflow)."""
    for name in ("iat", "exp"):
        value = claims.get(name)
        if not _is_int(value) or not 0 <= value <= _MAX_EPOCH + MAX_TTL:
            raise TokenError("malformed", "the token's %s claim is missing or not a whole number of "
                             "seconds from 0 to %d" % (name, _MAX_EPOCH + MAX_TTL))
    return claims["iat"], claims["exp"]


def _check_string_claims(claims: "Dict[str, Any]") -> None:
    """iss, sub and jti, when present, must be strings: an array or a number never matches."""
    for name in ("iss", "sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise TokenError("malformed", "the token's %s claim is not a string" % name)


def _audience_matches(aud: object, audience: str) -> bool:
    """RFC 7519 section 4.1.3: aud is one string or an array of strings."""
    if isinstance(aud, list):
        return audience in [value for value in aud if isinstance(value, str)]
    return aud == audience


def verify(token: "Union[str, BytesLike]", public_key: "Union[RSAPublicKey, RSAPrivateKey, str, BytesLike]",
           org_id: "Optional[str]" = None, call_center: "Optional[str]" = None,
           now: "Optional[float]" = None, leeway: float = 0, max_lifetime: int = MAX_TTL,
           audience: "Optional[str]" = None, replay_cache: "Optional[ReplayCache]" = None) -> "Dict[str, Any]":
    """Check a token as Salesforce does and return its claims; TokenError (with `reason`) when
    any check fails. The checks, in order:

      malformed  three strict base64url parts, JSON objects, at most 16 KiB, no "crit" header,
                 whole-number iat and exp, string iss/sub/jti
      algorithm  header alg is exactly "RS256" (not "none", "HS256", "rs256", ...)
      signature  RS256 with `public_key` (anything load_public_key takes)
      expired    now < exp + leeway
      future     iat <= now + leeway
      lifetime   0 < exp - iat <= max_lifetime
      issuer     iss == org_id (15-character form), when org_id is given
      subject    sub == call_center, when given
      audience   aud == audience or an array holding it, when given
      replay     jti not seen before, when a ReplayCache is given (as at Salesforce, a token
                 without jti may be reused until it expires)
    """
    public = load_public_key(public_key)
    expected_iss = None if org_id is None else _org_id_15(org_id)
    expected_sub = None if call_center is None else _call_center_name(call_center)
    if not isinstance(leeway, (int, float)) or isinstance(leeway, bool) or not 0 <= leeway <= MAX_TTL:
        raise ClaimsError("leeway must be a number of seconds from 0 to %d" % MAX_TTL)
    max_lifetime = _whole_number(max_lifetime, "max_lifetime", 1, _MAX_EPOCH)
    current = _epoch(now)

    header_part, claims_part, signature_part = _token_parts(token)
    header = _json_object(header_part, "header")
    claims = _json_object(claims_part, "claims set")
    signature = b64url_decode(signature_part)
    if "crit" in header:
        raise TokenError("malformed", "the token has a 'crit' header, which no Salesforce token uses "
                         "(RFC 7515 section 4.1.11)")
    iat, exp = _time_claims(claims)
    _check_string_claims(claims)
    if header.get("alg") != "RS256":
        raise TokenError("algorithm", "the token's algorithm is %s, not RS256" % _shown(header.get("alg")))
    if not verify_rs256(public, (header_part + "." + claims_part).encode("ascii"), signature):
        raise TokenError("signature", "the signature does not match this public key")
    if not current < exp + leeway:
        raise TokenError("expired", "the token expired %d seconds ago" % (current - exp))
    if not iat <= current + leeway:
        raise TokenError("future", "the token was issued %d seconds in the future; check the "
                         "clocks" % (iat - current))
    if not 0 < exp - iat <= max_lifetime:
        raise TokenError("lifetime", "the token's lifetime exp - iat is %d seconds; it must be "
                         "from 1 to %d" % (exp - iat, max_lifetime))
    if expected_iss is not None and claims.get("iss") != expected_iss:
        raise TokenError("issuer", "the token's iss is %s, not the org ID %s"
                         % (_shown(claims.get("iss")), expected_iss))
    if expected_sub is not None and claims.get("sub") != expected_sub:
        raise TokenError("subject", "the token's sub is %s, not the call center %s"
                         % (_shown(claims.get("sub")), expected_sub))
    if audience is not None and not _audience_matches(claims.get("aud"), audience):
        raise TokenError("audience", "the token is not meant for the audience %s" % _shown(audience))
    if replay_cache is not None and "jti" in claims:
        first_use = replay_cache.add(claims["jti"], exp + leeway, current)
        if not first_use:
            raise TokenError("replay", "the token's jti was seen before; each token is used once")
    return claims


# ------------------------------------------------------------------------------------------------
# The authorized call (step 6): RFC 9110 (HTTP semantics: methods, status codes, Retry-After) and
# RFC 6750 section 2.1 (the bearer token in the Authorization header), over TLS with verified
# certificates (RFC 9110 section 4.3.4)
# ------------------------------------------------------------------------------------------------

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS"))   # RFC 9110 section 9.2.2
# RFC 9110 section 15.5.20 (429, RFC 6585 section 4) and 15.6.4 (503): the server did not act on
# the request, so even a POST or PATCH may be sent again.
_NOT_ACTED_ON = (429, 503)
_MAX_RETRIES = 10
_MAX_TIMEOUT = 3600
_BACKOFF_BASE, _BACKOFF_CAP = 0.5, 30.0   # seconds: retry n waits up to min(cap, base * 2**n)
_RETRY_AFTER_CAP = 60.0                   # seconds: a longer Retry-After is cut to this
_MAX_BODY = 1 << 20                       # request and answer bodies of this API are far smaller
_MAX_FIELD_VALUE = 8192                   # characters in a header value or a URL
_FIELD_NAME_CHARACTERS = _ALPHANUMERIC | frozenset("!#$%&'*+-.^_`|~")   # tchar, RFC 9110 section 5.6.2
# The header fields request() sets itself; extra headers may not replace them.
_OWN_FIELDS = frozenset(("authorization", "content-length", "content-type", "host", "transfer-encoding",
                         "telephony-provider-name"))


class Response(object):
    """The answer request() returns: `status` (int), `reason` (str), `headers` (an
    http.client.HTTPMessage: get() ignores case), `body` (bytes) and `attempts` (how many
    requests were sent, retries included)."""

    __slots__ = ("status", "reason", "headers", "body", "attempts")

    def __init__(self, status: int, reason: str, headers: "Any", body: bytes, attempts: int) -> None:
        self.status, self.reason, self.headers = status, reason, headers
        self.body, self.attempts = body, attempts

    def __repr__(self) -> str:
        return "<Response %d %s, %d bytes, %d attempts>" % (self.status, self.reason, len(self.body),
                                                             self.attempts)


def _is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: addresses that never leave this machine."""
    import ipaddress
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_url(url: object, what: str) -> "Any":
    """An absolute https URL, split (RFC 3986 section 3); plain http only for a loopback host, as
    the token must not cross a network unencrypted (RFC 6750 section 5.3)."""
    import urllib.parse
    if (not isinstance(url, str) or not 0 < len(url) <= _MAX_FIELD_VALUE or
            not all(" " < ch < "\x7f" for ch in url)):
        raise RequestError("the %s must be printable ASCII without spaces" % what)
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port    # ValueError unless the port is a number from 0 to 65535
    except ValueError:
        raise RequestError("the %s %s is not a valid URL" % (what, _shown(url))) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RequestError("the %s %s is not an https:// URL" % (what, _shown(url)))
    if parts.username is not None or parts.password is not None:
        raise RequestError("the %s may not hold a user name or password" % what)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise RequestError("plain http to %s is refused: the token would cross the network "
                          "unencrypted; use https (http is for loopback addresses only)" % parts.hostname)
    return parts


def _target_url(url: object, endpoint_base: object) -> "Any":
    """`url` when it is absolute; a path (starting with '/') is appended to the endpoint base,
    e.g. '/voiceCalls' to 'https://x.my.salesforce-scrt.com/telephony/v1'. The base holds no
    '?' or '#', so whatever the path holds lands after the base's host: it cannot change it."""
    if not (isinstance(url, str) and url.startswith("/")):
        if isinstance(url, str) and "://" not in url:
            raise RequestError("the URL %s is neither an https:// URL nor a path starting with '/'"
                              % _shown(url))
        return _checked_url(url, "URL")
    if endpoint_base is None:
        raise RequestError("the path %s needs an endpoint base: give --endpoint-base, set "
                          "SCVJWT_ENDPOINT_BASE, or use --secret-json with SCRT_ENDPOINT_BASE" % _shown(url))
    base = _checked_url(endpoint_base, "endpoint base")
    base_text = str(endpoint_base)      # _checked_url refused anything but a str
    if base.query or base.fragment or base_text.endswith(("?", "#")):
        raise RequestError("the endpoint base may not hold a query or a fragment")
    return _checked_url(base_text.rstrip("/") + url, "URL")


def _http_method(method: object) -> str:
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise RequestError("the method %s is not one of %s" % (_shown(method), ", ".join(_METHODS)))
    return method.upper()


def _json_body(data: object) -> "Optional[bytes]":
    """The request body: JSON text (str, or UTF-8 bytes) that a JSON parser accepts, or a dict or
    list sent as compact JSON; None sends no body."""
    if data is None:
        return None
    if isinstance(data, (dict, list)):
        try:
            body = _json_bytes(data)
        except (TypeError, ValueError, RecursionError):
            raise RequestError("the request body cannot be written as JSON") from None
    elif isinstance(data, (str, bytes, bytearray, memoryview)):
        try:
            body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            if len(body) <= _MAX_BODY:
                json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):   # UnicodeError and JSONDecodeError are ValueErrors
            raise RequestError("the request body is not UTF-8 JSON text") from None
    else:
        raise RequestError("the request body must be JSON text, bytes, a dict or a list, not %s"
                          % _type_name(data))
    if len(body) > _MAX_BODY:
        raise RequestError("the request body is larger than 1 MiB")
    return body


def _header_field(name: object, value: object) -> "Tuple[str, str]":
    """A header field (RFC 9110 section 5): the name a token, the value printable ASCII with
    no CR, LF or other control character (no header can be smuggled in), outer blanks removed."""
    if not isinstance(name, str) or not name or not _FIELD_NAME_CHARACTERS.issuperset(name):
        raise RequestError("the header name %s is not an HTTP field name" % _shown(name))
    if (not isinstance(value, str) or len(value) > _MAX_FIELD_VALUE or
            not all(" " <= ch < "\x7f" or ch == "\t" for ch in value)):
        raise RequestError("the value of the %s header must be printable ASCII, without CR, LF or "
                          "other control characters" % name)
    return name, value.strip(" \t")


def _request_fields(body: "Optional[bytes]", provider: object, headers: object) -> "Dict[str, str]":
    """The header fields of every attempt but Authorization: the extra `headers` (a dict or a list
    of (name, value) pairs), Content-Type and Content-Length when there is a body (so the body is
    never sent chunked), and Telephony-Provider-Name when a provider is given."""
    pairs = list(headers.items()) if isinstance(headers, dict) else headers if headers is not None else []
    if not isinstance(pairs, (list, tuple)) or not all(isinstance(pair, (tuple, list)) and len(pair) == 2
                                                        for pair in pairs):
        raise RequestError("headers must be a dict or a list of (name, value) pairs")
    fields = dict(_header_field(name, value) for name, value in pairs)
    names = [name.lower() for name in fields]
    for name in fields:
        if name.lower() in _OWN_FIELDS:
            raise RequestError("the %s header is set by scvjwt itself and cannot be given" % name)
    if len(set(names)) != len(pairs):
        raise RequestError("a header is given twice")
    for name, value in (("User-Agent", "scvjwt/" + __version__), ("Accept", "application/json")):
        if name.lower() not in names:
            fields[name] = value
    if body is not None:
        fields["Content-Type"] = "application/json"
        fields["Content-Length"] = str(len(body))
    if provider is not None:
        name, value = _header_field("Telephony-Provider-Name", provider)
        if not value:
            raise RequestError("the provider name is empty")
        fields[name] = value
    return fields


def _opener(target: "Any", ca_file: "Optional[str]") -> "Any":
    """A urllib opener with the one handler `target` needs and no other: no redirect is followed
    (the token goes nowhere but `target`) and every answer comes back as it is, whatever its
    status. https verifies the certificate chain and the host name against the system's CAs, plus
    `ca_file` when given, with TLS 1.2 or later. Proxies from the environment (https_proxy,
    no_proxy) are used for https to other hosts than loopback ones."""
    import ssl
    import urllib.request
    opener = urllib.request.OpenerDirector()
    if target.scheme == "http":
        opener.add_handler(urllib.request.HTTPHandler())
        return opener
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, TypeError, ValueError) as error:   # ssl.SSLError is an OSError
            raise RequestError("cannot load the CA file %s: %s"
                              % (_shown(ca_file), getattr(error, "strerror", None) or error)) from None
    if hasattr(ssl, "TLSVersion"):   # Python 3.7 and later
        context.minimum_version = ssl.TLSVersion.TLSv1_2   # novm: guarded by hasattr above
    else:
        context.options |= ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1
    opener.add_handler(urllib.request.HTTPSHandler(context=context))
    if not _is_loopback(target.hostname):
        opener.add_handler(urllib.request.ProxyHandler())
    return opener


def _untrusted_certificate(error: object) -> "Optional[str]":
    """What is wrong with the server's certificate, when that is why TLS failed: retrying cannot
    help. (Python 3.6 raises CertificateError for a host name mismatch, SSLError otherwise.)"""
    import ssl
    if isinstance(error, ssl.CertificateError) or getattr(error, "reason", None) == "CERTIFICATE_VERIFY_FAILED":
        return str(getattr(error, "verify_message", None) or error)
    return None


def _failure_text(error: object) -> str:
    import socket
    if isinstance(error, socket.timeout):
        return "no answer within the time left"
    return str(getattr(error, "strerror", None) or error) or _type_name(error)


def _send(opener: "Any", target: "Any", method: str, body: "Optional[bytes]", fields: "Dict[str, str]",
          timeout: float) -> "Tuple[int, str, Any, bytes]":
    """One HTTP exchange: (status, reason, headers, body). _NoAnswer when none came; `sent` says
    whether the request may have reached the server (urllib wraps the failures of connecting and
    sending in URLError; a reset, a timeout or a garbled answer after that arrive bare)."""
    import http.client
    import ssl
    import urllib.error
    import urllib.request
    outgoing = urllib.request.Request(target.geturl(), body, fields, method=method)   # noqa: S310 - checked URL
    try:
        with opener.open(outgoing, timeout=timeout) as reply:
            content = reply.read(_MAX_BODY + 1)
            status, reason, headers = reply.status, reply.reason, reply.headers
    except (OSError, http.client.HTTPException, ssl.CertificateError) as error:   # URLError is an OSError
        cause = error.reason if isinstance(error, urllib.error.URLError) else error
        problem = _untrusted_certificate(cause)
        if problem is not None:
            raise BackendError("the TLS certificate of %s is not trusted (%s); certificates are always "
                               "verified: give --ca-file (or ca_file=) to trust a private CA"
                               % (target.hostname, problem)) from None
        maybe_sent = not isinstance(error, urllib.error.URLError) or isinstance(
            cause, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError))
        raise _NoAnswer(_failure_text(cause), maybe_sent) from None
    if len(content) > _MAX_BODY:
        raise BackendError("the answer to %s %s is larger than 1 MiB" % (method, target.geturl()))
    return status, reason or http.client.responses.get(status, ""), headers, content


def _retry_after(value: "Optional[str]") -> float:
    """The seconds a Retry-After field asks to wait (RFC 9110 section 10.2.3: delay-seconds or an
    HTTP-date), at most _RETRY_AFTER_CAP; 0 when there is none or it cannot be read."""
    import email.utils
    value = (value or "").strip()
    if value and all("0" <= ch <= "9" for ch in value):
        return min(float(value[:9]), _RETRY_AFTER_CAP)
    try:
        when = email.utils.mktime_tz(email.utils.parsedate_tz(value))   # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError, OverflowError):           # no date, or a broken one
        return 0.0
    return min(max(when - time.time(), 0.0), _RETRY_AFTER_CAP)


def request(method: str, url: str, minter: Minter,
            data: "Union[str, bytes, Dict[str, Any], List[Any], None]" = None, provider: "Optional[str]" = None,
            headers: "Union[Dict[str, str], List[Tuple[str, str]], None]" = None,
            retries: int = 3, timeout: float = 30.0, endpoint_base: "Optional[str]" = None,
            ca_file: "Optional[str]" = None, log: "Optional[Callable[[str], None]]" = None,
            sleep: "Callable[[float], None]" = time.sleep,
            jitter: "Optional[Callable[[], float]]" = None) -> Response:
    """Step 6: send `method url` with 'Authorization: Bearer <token>' (RFC 6750 section 2.1) and
    return the final Response, whatever its status (3xx included: redirects are not followed).

    url        an https URL, or a path such as '/voiceCalls' appended to `endpoint_base` (e.g.
               'https://x.my.salesforce-scrt.com/telephony/v1'); plain http only to loopback
               hosts. Certificates are always verified (system CAs, plus `ca_file`).
    data       JSON text (checked with a JSON parser before anything is sent) or a dict or list;
               sent with Content-Type: application/json and Content-Length.
    provider   the Telephony-Provider-Name header; `headers` adds others (a dict or pairs).
    Retries    every attempt carries minter.authorization(): with Minter(reuse=False), the
               default, a new token with a new jti, as Salesforce accepts each jti once (with
               reuse=True, the shared token without jti). 429 and 5xx answers and failures to get
               an answer are retried, at most `retries` times, after a wait of random() * min(30,
               0.5 * 2**n) seconds (full jitter), or the Retry-After the answer asks for (at most
               60 s) when longer. POST and PATCH are retried only after 429 or 503 (the server did
               not act on them) or a failure before the request went out. Other 4xx are final.
    timeout    seconds for the whole call, waits included: each attempt may take the time left,
               and no retry starts when its wait would end past the deadline.
    log        called with one line per attempt and per wait (the claims of the token sent,
               never the token). `sleep` and `jitter` (a random number in [0, 1)) are for tests.

    Bad arguments raise RequestError (exit status 2 on the command line) before any request is
    sent; an untrusted certificate, or no answer to the last attempt,
    raises BackendError.
    """
    import random
    method = _http_method(method)
    target = _target_url(url, endpoint_base)
    body = _json_body(data)
    fields = _request_fields(body, provider, headers)
    if not _is_int(retries) or not 0 <= retries <= _MAX_RETRIES:
        raise RequestError("retries must be a whole number from 0 to %d" % _MAX_RETRIES)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= _MAX_TIMEOUT:
        raise RequestError("the timeout must be a number of seconds above 0, at most %d" % _MAX_TIMEOUT)
    if not isinstance(minter, Minter):
        raise RequestError("minter must be a scvjwt.Minter, not %s" % _type_name(minter))
    opener = _opener(target, ca_file)
    jitter = jitter or random.random
    deadline = time.monotonic() + timeout
    for attempt in range(1, retries + 2):
        authorization = minter.authorization()
        if log:
            claims = decode_unverified(authorization[len("Bearer "):])[1]
            log("attempt %d: %s %s, token claims %s" % (attempt, method, target.geturl(),
                                                         _json_bytes(claims).decode("utf-8")))
        try:
            time_left = deadline - time.monotonic()
            if time_left <= 0:
                raise _NoAnswer("the %g s timeout ran out" % timeout, False)
            status, reason, answer_headers, content = _send(
                opener, target, method, body, dict(fields, Authorization=authorization), time_left)
        except _NoAnswer as failure:
            outcome = failure   # type: Union[_NoAnswer, Response]
            retry = not failure.sent or method in _IDEMPOTENT_METHODS
            wait_at_least = 0.0
            if log:
                log("attempt %d: no answer: %s" % (attempt, failure))
        else:
            outcome = Response(status, reason, answer_headers, content, attempt)
            retry = status in _NOT_ACTED_ON or (method in _IDEMPOTENT_METHODS and 500 <= status <= 599)
            wait_at_least = _retry_after(answer_headers.get("Retry-After")) if retry else 0.0
            if log:
                log("attempt %d: HTTP %d %s" % (attempt, status, reason))
        if not retry or attempt > retries:
            break
        wait = max(jitter() * min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1)), wait_at_least)
        if time.monotonic() + wait >= deadline:
            if log:
                log("no retry: waiting %.1f s would pass the %g s timeout" % (wait, timeout))
            break
        if log:
            log("waiting %.1f s before attempt %d" % (wait, attempt + 1))
        sleep(wait)
    if isinstance(outcome, Response):
        return outcome
    raise BackendError("%s %s got no answer after %d attempt%s: %s" % (
        method, target.geturl(), attempt, "" if attempt == 1 else "s", outcome))


# ------------------------------------------------------------------------------------------------
# Command line: scvjwt, python3 -m scvjwt, python3 scvjwt.py. Exit status 0 on success, 1 when a
# token is invalid or a runtime step fails, 2 for a usage error or bad input.
# ------------------------------------------------------------------------------------------------

_EXIT_OK, _EXIT_FAILURE, _EXIT_USAGE = 0, 1, 2
_SECRET_KEY_SUFFIX = "-scrt-jwt-auth-private-key"

# The sample key of `demo` and `selftest`: a 2048-bit key made once with OpenSSL and published
# here, so it is no secret. Never use it for real traffic.
_SAMPLE_P = int(
    "e299187f2ff7a432b25ba326f72a79ef28ff5e8a8b4e20f18d2f896e8ff4013351ae34ae76f576a23848b5c2f5294aa8"
    "d9cafb8147e386290ae9ffee5f02bf014bd8d18d621e97a934eb1d495e43805164c88bcba15e978b2c3f5f937a77bdc5"
    "20cb5902b74ce24b52002bad59e425fdc6f91d94f0a68ae1c1be128141c749b9", 16)
_SAMPLE_Q = int(
    "e1eedbaaa9f2df449d0715489a1d72f778aa34721534b7ec3eb049c551dad7e2e6e55e754edaef76eac9c262eba5e557"
    "7bff90b5293938744870558bec3aae1d79f225a42769eedf008f4393991d518c2fb142af19200e795bf2d1df3b76abbf"
    "6f81668e78720293d24db5ba50be87e4e758b39799c4c45c0feead3eb190a27f", 16)
_SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER = "00D5e000001AbCd", "ExampleCallCenter"
_SAMPLE_NOW, _SAMPLE_JTI = 1767225600, "2f8c6e1a-4b7d-4c3e-9a51-6d0e8f7b2c49"
# mint(sample key, _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER, now=_SAMPLE_NOW, jti=_SAMPLE_JTI); its signature was made
# independently by `openssl dgst -sha256 -sign` and by the cryptography package, byte for byte.
_SAMPLE_TOKEN = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpYXQiOjE3NjcyMjU2MDAsImV4cCI6MTc2NzIyNTkwMCwiaXNzIjoiMDBENWUwMDAwMDFBYkNkIiwic3ViIjoiRXhhbXBsZUNhbGxDZW50ZXIiLCJqdGkiOiIyZjhjNmUxYS00YjdkLTRjM2UtOWE1MS02ZDBlOGY3YjJjNDkifQ."
    "MLmw9K06avcZlPcJscWE-pgkPmvyLTXXAHZ2Bnj8RGODqx7G-WI5K7pGnYkMSdYKxlC1DrebGbP-GFplElkcUkkvSyOZAreQ"
    "_5vjbGQXa1yej7cFVkE0r1fUOgHrfUod8gxJxFs-6FyfobxpEuzwpoNSCylxD_iE7CGvEPlH7RJOKungbY81ixMeRisrojty"
    "l7zXYQJX0Tkm7vqED-gGhdfszQSvtz5RmTLZOXyc_nNTa4__XXXz2vemCvuI49suwbCUm68AUcszYcLwnoL5zd25NoWeL7Wy"
    "JqZp0DE6ZE6SaJVbWpd6xmqWaOuY42YTHiGpIxyCOqXyoxlyyJXZxA")


def _sample_key() -> RSAPrivateKey:
    e = 65537
    p_1, q_1 = _SAMPLE_P - 1, _SAMPLE_Q - 1
    d = _inverse_mod(e, _lcm(p_1, q_1))
    return RSAPrivateKey(_SAMPLE_P * _SAMPLE_Q, e, d, _SAMPLE_P, _SAMPLE_Q)


def _warn(message: str) -> None:
    print("scvjwt: warning: " + message, file=sys.stderr)


def _read_source(source: str, what: str, secret_name: bool = False) -> bytes:
    """The bytes of the file `source`, or of standard input when it is '-'; at most 1 MiB.
    Messages name the file unless it may be a secret given by mistake: text that looks like a
    key or JSON rather than a file name, or any name when `secret_name` is set (a password
    given instead of a password file's name)."""
    if _looks_like_secret_text(source):
        raise _InputError("the value given for the %s looks like the secret itself, not a file "
                          "name (not shown): put it in a file, or give '-' and send it on standard "
                          "input" % what)
    shown = "given (its name is not shown: it may be the secret itself)" if secret_name else source
    if source == "-" and sys.stdin is None:
        raise _InputError("the %s should come from standard input, which is closed" % what)
    try:
        if source == "-":
            data = sys.stdin.buffer.read(_MAX_KEY_INPUT + 1)
        else:
            with open(source, "rb") as handle:
                data = handle.read(_MAX_KEY_INPUT + 1)
    except OSError as error:
        raise _InputError("cannot read the %s %s: %s" % (what, shown, error.strerror or error)) from None
    if len(data) > _MAX_KEY_INPUT:
        raise _InputError("the %s %s is larger than 1 MiB" % (what, shown))
    return data


def _looks_like_secret_text(value: str) -> bool:
    """Whether a value given as a file name is key text instead: multi-line, PEM, JSON, or long
    base64 (a key or password pasted whole); no file name looks like these."""
    return ("\n" in value or "-----BEGIN" in value or value.lstrip().startswith("{") or len(value) > 4096
            or (len(value) > 64 and _B64_ALPHABET.issuperset(value.rstrip("="))))


def _one_stdin(sources: "Dict[str, Optional[str]]") -> None:
    """Only one input may come from standard input ('-'): `sources` maps each input's name on the
    command line to its value."""
    from_stdin = [name for name, value in sources.items() if value == "-"]
    if len(from_stdin) > 1:
        raise _InputError("only one input can come from standard input ('-'), not both %s"
                          % " and ".join(from_stdin))


def _read_secret_json(source: str) -> "Dict[str, Any]":
    """An Amazon Connect contact center's Secrets Manager SecretString (a JSON object), or the
    whole `aws secretsmanager get-secret-value` answer that holds it."""
    text = _read_source(source, "secret JSON")
    try:
        secret = json.loads(text.decode("utf-8"))
        if isinstance(secret, dict) and isinstance(secret.get("SecretString"), str):
            secret = json.loads(secret["SecretString"])
    except (ValueError, RecursionError):
        raise _InputError("the secret %s is not UTF-8 JSON" % source) from None
    if not isinstance(secret, dict):
        raise _InputError("the secret %s is not a JSON object" % source)
    return secret


def _secret_private_key(secret: "Dict[str, Any]", call_center: str) -> str:
    """The PEM under '<CallCenterApiName>-scrt-jwt-auth-private-key'; the secret's other keys
    (such as the one for Salesforce's OAuth flow) are never used."""
    names = [call_center + _SECRET_KEY_SUFFIX]
    if names[0] not in secret:
        names = [name for name in secret if isinstance(name, str) and name.endswith(_SECRET_KEY_SUFFIX)]
    if len(names) != 1 or not isinstance(secret[names[0]], str):
        raise _InputError("the secret JSON has no single '<CallCenterApiName>%s' text" % _SECRET_KEY_SUFFIX)
    return str(secret[names[0]])


def _password(args: "Any") -> "Optional[bytes]":
    """The key's password from --password-file PATH (its first line, without the line end) or
    --password-env VAR (the variable's bytes, as the environment holds them); None without
    either. argparse refuses the two together."""
    if args.password_file:
        _warn_if_open_to_others(args.password_file, "password file")
        line = _read_source(args.password_file, "password file", secret_name=True).split(b"\n", 1)[0]
        return line[:-1] if line.endswith(b"\r") else line
    if not args.password_env:
        return None
    name = args.password_env
    if not (name[:1].isalpha() or name[:1] == "_") or not _ALPHANUMERIC.issuperset(name.replace("_", "")):
        raise _InputError("--password-env takes the name of an environment variable, and the value "
                          "given is not one (not shown: it may be the password itself)")
    value = os.environ.get(name)
    if value is None:
        raise _InputError("the environment variable %s (--password-env) is not set" % name)
    return os.fsencode(value)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:   # standard input was closed
        return False


def _signing_key(key_data: "Union[bytes, str]", args: "Any") -> RSAPrivateKey:
    """The private key, opened with the password the options give. An encrypted key given none
    makes scvjwt ask for it without echo when standard input is a terminal, and only then: a
    script gets an error instead of a prompt that would hang it."""
    try:
        return load_private_key(key_data, _password(args))
    except _PasswordNeeded:
        if not _stdin_is_terminal():
            raise _InputError("the private key is encrypted: give its password with --password-env "
                              "VAR or --password-file PATH (standard input is not a terminal, so "
                              "scvjwt cannot ask for it)") from None
    import getpass
    try:
        password = getpass.getpass("Password for the private key: ")
    except EOFError:
        raise _InputError("no password was entered for the encrypted private key") from None
    return load_private_key(key_data, password)


def _secret_option(args: "Any") -> "Dict[str, Any]":
    """The --secret-json object, or {} without that option."""
    if not args.secret_json:
        return {}
    _warn_if_open_to_others(args.secret_json, "secret JSON file")
    return _read_secret_json(args.secret_json)


def _signing_inputs(args: "Any", secret: "Optional[Dict[str, Any]]" = None) -> "Tuple[RSAPrivateKey, str, str]":
    """The key, org ID and Call Center API name: from the options, else from --secret-json, else
    from SCVJWT_KEY_FILE, SCVJWT_ORG_ID and SCVJWT_CALL_CENTER. A command that needs more of the
    secret reads it with _secret_option() and passes it in, so the secret file is read once."""
    _one_stdin({"--key": args.key, "--secret-json": args.secret_json, "--password-file": args.password_file})
    if secret is None:
        secret = _secret_option(args)
    org_id = args.org_id or secret.get("SALESFORCE_ORG_ID") or os.environ.get("SCVJWT_ORG_ID")
    call_center = (args.call_center or secret.get("CALL_CENTER_API_NAME") or
                   os.environ.get("SCVJWT_CALL_CENTER"))
    if not org_id:
        raise _InputError("no org ID: give --org-id, --secret-json, or set SCVJWT_ORG_ID")
    if not call_center:
        raise _InputError("no Call Center API name: give --call-center, --secret-json, or set SCVJWT_CALL_CENTER")
    key_file = args.key or (None if secret else os.environ.get("SCVJWT_KEY_FILE"))
    if key_file:
        _warn_if_open_to_others(key_file, "private key file")
        key_data = _read_source(key_file, "key file")   # type: Union[bytes, str]
    elif secret:
        key_data = _secret_private_key(secret, str(call_center))
    else:
        raise _InputError("no key: give --key PATH, --secret-json PATH, or set SCVJWT_KEY_FILE")
    key = _signing_key(key_data, args)
    _warn_if_small(key.bits)
    return key, org_id, call_center


def _warn_if_small(bits: int) -> None:
    if bits < 2048:
        _warn("the key has %d bits; Salesforce is retiring keys under 2048 bits" % bits)


def _warn_if_open_to_others(path: str, what: str) -> None:
    """Warn, as ssh does for its identity files, when a file that holds a secret (a private key,
    a secret JSON, a password) is open to group or others (any of the permission bits 077).
    POSIX only: Windows controls access with ACLs, not these bits. Only regular files: standard
    input ('-'), pipes and terminals have no permissions that protect a secret at rest."""
    import stat
    if path == "-" or os.name != "posix":
        return
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return                      # _read_source reports a missing or unreadable file
    if stat.S_ISREG(mode) and mode & 0o077:
        _warn("the %s %s can be read or changed by group or others (permissions %04o); "
              "restrict it to its owner: chmod 600 %s" % (what, path, stat.S_IMODE(mode), path))


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def _cmd_token(args: "Any") -> int:
    key, org_id, call_center = _signing_inputs(args)
    token = mint(key, org_id, call_center, ttl=args.ttl, jti=not args.no_jti, audience=args.audience,
                 typ=not args.minimal_header, skew=args.skew, backend=args.backend)
    if args.format == "header":
        print("Authorization: Bearer " + token)
    elif args.format == "json":
        header, claims = decode_unverified(token)
        _print_json({"header": header, "claims": claims, "token": token})
    else:
        print(token)
    return _EXIT_OK


def _token_argument(value: str) -> str:
    """The token from the command line or standard input ('-'), also when pasted with its
    'Authorization: Bearer ' prefix."""
    text = _read_source("-", "token").decode("latin-1") if value == "-" else value
    text = text.strip()
    if text.lower().startswith("authorization:"):
        text = text[len("authorization:"):].strip()
    if text.lower().startswith("bearer "):
        text = text[len("bearer "):].strip()
    return text


def _cmd_decode(args: "Any") -> int:
    header, claims = decode_unverified(_token_argument(args.token))
    shown = {"header": header, "claims": claims}   # type: Dict[str, Any]
    for name in ("iat", "exp"):
        value = claims.get(name)
        if _is_int(value) and 0 <= value <= _MAX_EPOCH:
            shown[name + "_utc"] = _utc_iso(value)
    if "exp_utc" in shown:
        shown["seconds_left"] = claims["exp"] - int(time.time())
    _print_json(shown)
    return _EXIT_OK


def _cmd_verify(args: "Any") -> int:
    _one_stdin({"TOKEN": args.token, "--cert": args.cert})
    token = _token_argument(args.token)
    public = load_public_key(_read_source(args.cert, "certificate"))
    try:
        claims = verify(token, public, org_id=args.org_id, call_center=args.call_center,
                        leeway=args.leeway, audience=args.audience)
    except TokenError as error:
        print("scvjwt: error: invalid token (%s): %s" % (error.reason, error), file=sys.stderr)
        return _EXIT_FAILURE
    _print_json({"valid": True, "seconds_left": claims["exp"] - int(time.time()), "claims": claims})
    return _EXIT_OK


_EXPIRY_WARNING_DAYS = 30


def _cmd_check(args: "Any") -> int:
    """Whether the private key and the certificate (or public key) belong together: exit 0 when
    their public keys are equal, 1 when not. Warns when the certificate is outside its validity
    or ends within 30 days."""
    _one_stdin({"--key": args.key, "--cert": args.cert, "--password-file": args.password_file})
    _warn_if_open_to_others(args.key, "private key file")
    key = _signing_key(_read_source(args.key, "key file"), args)
    cert_data = _read_source(args.cert, "certificate")
    public, certificate = _public_key_and_certificate(cert_data)
    _warn_if_small(key.bits)
    lines = ["key:          %s (RSA %d bits)" % (key.public_key().fingerprint(), key.bits),
             "%-13s %s (RSA %d bits)" % ("certificate:" if certificate else "public key:",
                                         public.fingerprint(), public.bits)]
    if certificate:
        not_before, not_after = _certificate_validity(certificate)
        lines += ["subject:      " + (_certificate_subject(certificate) or "(empty)"),
                  "not before:   " + _utc_iso(not_before),
                  "not after:    " + _utc_iso(not_after)]
        _warn_about_validity(not_before, not_after, time.time())
    matched = key.public_key() == public
    lines.append("match:        " + ("yes" if matched else "no"))
    print("\n".join(lines))
    if not matched:
        print("scvjwt: error: the key does not belong to this %s: their public keys differ"
              % ("certificate" if certificate else "public key"), file=sys.stderr)
        return _EXIT_FAILURE
    return _EXIT_OK


def _warn_about_validity(not_before: int, not_after: int, now: float) -> None:
    if now < not_before:
        _warn("the certificate is not valid yet: it starts on %s" % _utc_iso(not_before))
    elif now > not_after:
        _warn("the certificate expired on %s, %d days ago; make a new key and certificate and put "
              "the certificate on the CallCenter record" % (_utc_iso(not_after),
                                                           (now - not_after) // _SECONDS_PER_DAY))
    elif not_after - now < _EXPIRY_WARNING_DAYS * _SECONDS_PER_DAY:
        _warn("the certificate expires on %s, in %d days" % (_utc_iso(not_after),
                                                              (not_after - now) // _SECONDS_PER_DAY))


def _write_new_file(path: str, data: bytes, mode: int, what: str) -> None:
    """Create the file `path` holding `data`; an existing file is never replaced. O_CREAT with
    O_EXCL creates it atomically (an existing name, even a dangling symbolic link, fails) with
    `mode` from the first instant, so a key made with 0o600 is never readable by others (the
    umask can only take permissions away). A file left half-written is removed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags, mode)
    except FileExistsError:
        raise _InputError("%s already exists; keygen never overwrites a file" % path) from None
    except OSError as error:
        raise _InputError("cannot create the %s file %s: %s" % (what, path, error.strerror or error)) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    except OSError as error:
        try:
            os.unlink(path)
        except OSError:
            pass                    # the error below is the one to report
        raise _InputError("cannot write the %s file %s: %s" % (what, path, error.strerror or error)) from None


def _cmd_keygen(args: "Any") -> int:
    """A new private key file (mode 0600) and, with --cert-out, its self-signed certificate.
    Every argument is checked before the slow key generation starts."""
    if args.cert_out is None and (args.cn is not None or args.days is not None):
        raise _InputError("--cn and --days describe the certificate: give them with --cert-out PATH")
    if args.cert_out is not None and args.cn is None:
        raise _InputError("--cert-out needs --cn NAME, the certificate's common name (such as the "
                          "Call Center API name)")
    if args.bits == 1024 and not args.allow_1024:
        raise _InputError("Salesforce is retiring 1024-bit keys; use 2048 bits (the default), or give "
                          "--allow-1024 for a system that still needs them")
    paths = [path for path in (args.key_out, args.cert_out) if path is not None]
    for path in paths:
        if path == "-":
            raise _InputError("keygen writes files, not standard output: give a file name")
        if os.path.lexists(path):
            raise _InputError("%s already exists; keygen never overwrites a file" % path)
    if len(paths) == 2 and os.path.abspath(paths[0]) == os.path.abspath(paths[1]):
        raise _InputError("--key-out and --cert-out name the same file")
    days = 365 if args.days is None else args.days
    if args.cert_out is not None:
        _common_name(args.cn)
        _whole_number(days, "days", 1, _MAX_CERTIFICATE_DAYS, "days")
    if args.bits == 1024:
        _warn("making a 1024-bit key; Salesforce is retiring keys under 2048 bits")
    key = generate_private_key(args.bits)
    certificate = None if args.cert_out is None else self_signed_certificate(key, args.cn, days)
    _write_new_file(args.key_out, key.to_pem(args.format).encode("ascii"), 0o600, "private key")
    print("private key:  %s (RSA %d bits, %s, permissions %04o)" % (
        args.key_out, key.bits, {"pkcs8": "PKCS#8", "pkcs1": "PKCS#1"}[args.format],
        os.stat(args.key_out).st_mode & 0o777))
    print("fingerprint:  " + key.public_key().fingerprint())
    if certificate is not None:
        try:
            _write_new_file(args.cert_out, certificate.encode("ascii"), 0o644, "certificate")
        except _InputError as error:
            raise _InputError("the private key was written to %s, but the certificate was not: %s; "
                              "delete the key and run keygen again" % (args.key_out, error)) from None
        der = _key_blocks(certificate, "certificate")[0][0][2]   # the one block just made
        print("certificate:  %s (%s, valid until %s)" % (args.cert_out, _certificate_subject(der),
                                                          _utc_iso(_certificate_validity(der)[1])))
    return _EXIT_OK


def _selftest_checks() -> "Iterator[Tuple[str, Callable[[], bool]]]":
    """Known-answer tests: (name, check) pairs; a check returns True when it passes."""
    key = _sample_key()
    yield "base64url known answers (RFC 4648 section 10, URL alphabet)", lambda: (
        b64url_encode(b"foob") == "Zm9vYg" and b64url_encode(b"\xfb\xff") == "-_8" and
        b64url_decode("-_8") == b"\xfb\xff")
    yield "18-character ID checksums (a0D30000001n7Pi -> EAI, 00558000001N0Ke -> AAK)", lambda: (
        _org_id_suffix("a0D30000001n7Pi") == "EAI" and _org_id_suffix("00558000001N0Ke") == "AAK")
    yield "AES-128 known answer (FIPS 197 appendix C.1, inverse cipher)", lambda: _aes_decrypt_block(
        _aes_decryption_schedule(bytes(range(16))),
        bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a")) == bytes.fromhex("00112233445566778899aabbccddeeff")
    for name in backends():
        yield "%s backend: known-answer RS256 token" % name, lambda name=name: (      # type: ignore[misc]
            mint(key, _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER, now=_SAMPLE_NOW, jti=_SAMPLE_JTI, backend=name)
            == _SAMPLE_TOKEN)
    yield "verify accepts the known-answer token", lambda: verify(
        _SAMPLE_TOKEN, key.public_key(), _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER,
        now=_SAMPLE_NOW)["jti"] == _SAMPLE_JTI
    yield "verify_rs256 refuses a signature with one bit changed", lambda: not verify_rs256(
        key.public_key(), _SAMPLE_TOKEN.rsplit(".", 1)[0].encode("ascii"),
        bytes([b64url_decode(_SAMPLE_TOKEN.rsplit(".", 1)[1])[0] ^ 1]) +
        b64url_decode(_SAMPLE_TOKEN.rsplit(".", 1)[1])[1:])


def _cmd_selftest(args: "Any") -> int:
    failed = 0
    checks = list(_selftest_checks())
    for name, check in checks:
        try:
            passed, shown = check(), name
        except ScvJwtError as error:
            passed, shown = False, "%s (%s)" % (name, error)
        failed += not passed
        print("%-4s %s" % ("ok" if passed else "FAIL", shown))
    print("selftest: %d of %d checks passed on backends %s" % (len(checks) - failed, len(checks),
                                                              ", ".join(backends())))
    return _EXIT_FAILURE if failed else _EXIT_OK


def _cmd_demo(args: "Any") -> int:
    key = _sample_key()
    org_id, call_center = _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER
    header = _header_json()
    claims = build_claims(org_id, call_center)
    signing_input = _signing_input(True, claims)
    signature = sign_rs256(key, signing_input.encode("ascii"))
    token = signing_input + "." + b64url_encode(signature)
    if token != mint(key, org_id, call_center, now=claims["iat"], jti=claims["jti"]):
        raise BackendError("the steps shown do not give the token mint() makes")
    checked = verify(token, key.public_key(), org_id, call_center)
    lines = [
        "scvjwt demo: a Telephony Integration REST API token, step by step (nothing is sent)",
        "key: the built-in sample key, %d bits, %s (public: never use it for real traffic)"
        % (key.bits, key.public_key().fingerprint()),
        "org ID (iss): %s   Call Center API name (sub): %s" % (org_id, call_center),
        "",
        "(1) header JSON                 " + header.decode("ascii"),
        "(2) header, base64url           " + b64url_encode(header),
        "(3) claims JSON                 " + _json_bytes(claims).decode("utf-8"),
        "(4) claims, base64url           " + b64url_encode(_json_bytes(claims)),
        "(5) RS256 signature over (2).(4), base64url:",
        "    " + b64url_encode(signature),
        "    token = (2).(4).(5):",
        "    " + token,
        "(6) HTTP request header         Authorization: Bearer " + token,
        "",
        "check: verify(token, public key, org ID, call center) -> valid, expires in %d s, jti %s"
        % (checked["exp"] - int(time.time()), checked["jti"]),
    ]
    print("\n".join(lines))
    return _EXIT_OK


_BENCH_ROUNDS = 15   # the fewest rounds `bench` makes, however short --seconds is: medians need some
_BENCH_CLOCK_FLOOR = 1e-9   # a time read as 0 by a coarse clock counts as this, not a division by zero
# The OpenSSL shell recipe people use without scvjwt (openssl dgst, base64 and tr for the three
# parts): the reference for the command line's speed in `bench --compare`.
_OPENSSL_RECIPE = r"""
b64url() { base64 | tr -d '=\n' | tr '/+' '_-'; }
now=$(date +%s)
header=$(printf '%s' '{"alg":"RS256","typ":"JWT"}' | b64url)
claims=$(printf '{"iat":%d,"exp":%d,"iss":"%s","sub":"%s"}' "$now" $((now + 300)) "$2" "$3" | b64url)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$1" | b64url)
echo "$header.$claims.$signature"
"""


def _bench_samples(cases: "List[Tuple[str, Callable[[], object], Optional[str]]]",
                   seconds: float, clock: "Callable[[], float]" = time.perf_counter) -> "Dict[str, List[float]]":
    """Seconds taken by each case in each round. A round makes one call of every case, in a new
    (seeded) order; rounds follow one another until `seconds` have passed, and there are at
    least _BENCH_ROUNDS. Cases compared at this grain run side by side: a change in the machine's
    speed during the run, or the cache and clock effects of whatever ran just before, touch all
    of them alike (blocks of many calls of one case drift apart by several per cent here).
    `clock` reads seconds; the tests give a fake one."""
    import random
    for _, function, _ in cases:                      # warm-up: imports, caches, the first key objects
        function()
    samples = {label: [] for label, _, _ in cases}    # type: Dict[str, List[float]]
    order = list(cases)
    shuffle = random.Random(0).shuffle   # noqa: S311 - an order of turns, not a secret
    deadline = clock() + seconds
    rounds = 0
    while rounds < _BENCH_ROUNDS or clock() < deadline:
        shuffle(order)
        for label, function, _ in order:
            start = clock()
            function()
            samples[label].append(clock() - start)
        rounds += 1
    return samples


def _print_bench_table(cases: "List[Tuple[str, Callable[[], object], Optional[str]]]",
                       samples: "Dict[str, List[float]]") -> None:
    """Median time of each case, and its ratio to its reference: the median of the ratios of the
    two measured in the same round, which a drift of the machine's speed between rounds leaves
    alone."""
    import statistics
    print("%-44s %10s %9s   %s" % ("", "ms/op", "ops/s", "ratio to the reference (median of rounds)"))
    for label, _, reference in cases:
        median = statistics.median(samples[label])
        ratio = ""
        if reference in samples:
            ratio = "%.2fx %s" % (statistics.median(case / max(base, _BENCH_CLOCK_FLOOR) for case, base
                                                    in zip(samples[label], samples[reference])), reference)
        print("%-44s %10.3f %9.1f   %s" % (label, median * 1e3, 1 / max(median, _BENCH_CLOCK_FLOOR), ratio))


def _bench_library_cases(key: RSAPrivateKey, key_file: str,
                         compare: bool) -> "List[Tuple[str, Callable[[], object], Optional[str]]]":
    """(label, function, label of the reference it is compared with) for signing in-process. The
    references: the CRT's two pow() calls for pure, a bare `openssl dgst` run for openssl. The
    check before release is measured alone too, against the signature: pow() for pure (the
    openssl backend's check is the same), the package's public-key step for cryptography."""
    import functools
    import subprocess
    message = b"x" * 300              # the size of a typical signing input
    pem = key.to_pem()
    encoded_message = _emsa_pkcs1_v15_sha256(message, _modulus_bytes(key))
    signature = sign_rs256(key, message, "pure")
    c = int.from_bytes(encoded_message, "big")
    crt = "reference: the two pow() calls of the CRT"
    dgst = "reference: openssl dgst -sha256 -sign FILE"
    cases = []   # type: List[Tuple[str, Callable[[], object], Optional[str]]]
    cases.append((crt, lambda: (pow(c % key.p, key.dp, key.p), pow(c % key.q, key.dq, key.q)), None))
    tool = _openssl_tool()
    if tool:
        cases.append((dgst, functools.partial(subprocess.run, [tool, "dgst", "-sha256", "-sign", key_file],
                                              input=message, stdout=subprocess.PIPE, check=True), None))
    for name in backends():
        cases += [
            ("%s: sign_rs256" % name, functools.partial(sign_rs256, key, message, name),
             {"pure": crt, "openssl": dgst}.get(name)),
            ("%s: mint, loaded key" % name,
             functools.partial(mint, key, _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER, backend=name), "%s: sign_rs256" % name),
            ("%s: mint, PEM text" % name,
             functools.partial(mint, pem, _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER, backend=name), None),
        ]
        if name != "openssl":
            cases.append(("%s: the check before release" % name,
                          functools.partial(_signature_checks_out, key, encoded_message, signature, name),
                          "%s: sign_rs256" % name))
    return cases + (_bench_peer_cases(key, message, pem) if compare else [])


def _bench_peer_cases(key: RSAPrivateKey, message: bytes,
                      pem: str) -> "List[Tuple[str, Callable[[], object], Optional[str]]]":
    """The same jobs done by peers that are importable here: python-rsa and PyJWT."""
    cases = []   # type: List[Tuple[str, Callable[[], object], Optional[str]]]
    try:
        import rsa
        rsa_key = rsa.PrivateKey(key.n, key.e, key.d, key.p, key.q)
        cases.append(("python-rsa %s: rsa.sign" % rsa.__version__, lambda: rsa.sign(message, rsa_key, "SHA-256"),
                      "pure: sign_rs256"))
    except ImportError:
        pass
    try:
        import uuid
        import jwt
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        loaded = load_pem_private_key(pem.encode("ascii"), None)

        def claims() -> "Dict[str, Any]":
            now = int(time.time())
            return {"iat": now, "exp": now + 300, "iss": _SAMPLE_ORG_ID, "sub": _SAMPLE_CALL_CENTER,
                    "jti": str(uuid.uuid4())}
        cases += [("PyJWT %s: encode, loaded key" % jwt.__version__, lambda: jwt.encode(claims(), loaded, "RS256"),
                   "cryptography: mint, loaded key"),
                  ("PyJWT %s: encode, PEM text" % jwt.__version__, lambda: jwt.encode(claims(), pem, "RS256"),
                   "cryptography: mint, PEM text")]
    except ImportError:
        pass
    return cases


def _bench_command_cases(key_file: str, folder: str) -> "List[Tuple[str, Callable[[], object], Optional[str]]]":
    """Whole commands, as a shell runs them, against the OpenSSL shell recipe. A script run as
    `python3 scvjwt.py` is compiled on every run; `python3 -m scvjwt` and an installed `scvjwt`
    read the bytecode Python caches, which a copy of this file in `folder` gets here."""
    import py_compile
    import shutil
    import subprocess
    module_copy = shutil.copy(os.path.abspath(__file__), os.path.join(folder, "scvjwt.py"))
    py_compile.compile(module_copy, doraise=True)

    def command(*argv: str) -> "Callable[[], object]":
        return lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, cwd=folder)
    python = sys.executable
    token = ("token", "--key", key_file, "--org-id", _SAMPLE_ORG_ID, "--call-center", _SAMPLE_CALL_CENTER)
    recipe = "the OpenSSL shell recipe" if _openssl_tool() else None
    cases = [("python3 -c pass", command(python, "-c", "pass"), None),
             ("python3 -c 'import scvjwt' (cached)", command(python, "-c", "import scvjwt"), None),
             ("python3 scvjwt.py token", command(python, module_copy, *token), recipe),
             ("python3 -m scvjwt token (cached)", command(python, "-m", "scvjwt", *token), recipe)]
    if recipe:
        cases.append((recipe, command("sh", "-c", _OPENSSL_RECIPE, "recipe", key_file, _SAMPLE_ORG_ID,
                                      _SAMPLE_CALL_CENTER), None))
    try:
        import jwt  # noqa: F401  (only to know whether PyJWT is there to compare with)
        cases.append(("python3 -c 'import jwt' + RSA", command(python, "-c", "import jwt, jwt.algorithms; "
                      "from cryptography.hazmat.primitives.asymmetric import rsa, padding"), None))
    except ImportError:
        pass
    return cases


def _print_command_summary(samples: "Dict[str, List[float]]") -> None:
    """The command-line ratios, each the median over the rounds: time above Python's own
    start-up, against the recipe's time; import costs above start-up, against each other."""
    import statistics

    def above_startup(label: str) -> "List[float]":
        return [max(taken - startup, 1e-6) for taken, startup in zip(samples[label], samples["python3 -c pass"])]
    recipe = samples.get("the OpenSSL shell recipe")
    if recipe:
        for label in ("python3 scvjwt.py token", "python3 -m scvjwt token (cached)"):
            print("%s, above python3 start-up: %.2fx the OpenSSL shell recipe"
                  % (label, statistics.median(a / b for a, b in zip(above_startup(label), recipe))))
    if "python3 -c 'import jwt' + RSA" in samples:
        print("import scvjwt (cached) is %.1fx cheaper than import jwt + RSA, above python3 start-up"
              % statistics.median(a / b for a, b in zip(above_startup("python3 -c 'import jwt' + RSA"),
                                                        above_startup("python3 -c 'import scvjwt' (cached)"))))


def _cmd_bench(args: "Any") -> int:
    import shutil
    import tempfile
    if args.bits not in (2048, 3072, 4096):
        raise _InputError("--bits must be 2048, 3072 or 4096")
    if not 0.5 <= args.seconds <= 600:
        raise _InputError("--seconds must be from 0.5 to 600")
    key = _sample_key() if args.bits == 2048 else generate_private_key(args.bits)
    folder = tempfile.mkdtemp(prefix="scvjwt-bench-")
    try:
        key_file = os.path.join(folder, "bench-key.pem")
        _write_new_file(key_file, key.to_pem().encode("ascii"), 0o600, "bench key")
        cases = _bench_library_cases(key, key_file, args.compare)
        commands = _bench_command_cases(key_file, folder) if args.compare else []
        # In-process cases and whole commands are measured apart: starting processes disturbs the
        # machine more than the in-process cases can bear.
        samples = _bench_samples(cases, args.seconds / 2 if commands else args.seconds)
        if commands:
            samples.update(_bench_samples(commands, args.seconds / 2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("scvjwt %s bench: RSA %d bits, Python %s, backends %s; %s"
          % (__version__, key.bits, sys.version.split()[0], ", ".join(backends()),
             " and ".join("%d rounds of %s" % (len(samples[group[0][0]]), what)
                          for group, what in ((cases, "signing"), (commands, "commands")) if group)))
    _print_bench_table(cases + commands, samples)
    if commands:
        _print_command_summary(samples)
    return _EXIT_OK


def _request_body(option: "Optional[str]") -> "Union[str, bytes, None]":
    """--data: JSON text, '@FILE' for a file's contents, or '-' (also '@-') for standard input."""
    if option in ("-", "@-"):
        return _read_source("-", "request body")
    if option is not None and option.startswith("@"):
        return _read_source(option[1:], "request body")
    return option


def _header_option(text: str) -> "Tuple[str, str]":
    name, colon, value = text.partition(":")
    if not colon:
        raise _InputError("--header takes 'Name: value'")
    return name.strip(), value


def _error_summary(body: bytes) -> str:
    """Salesforce's message from an error answer, on one line: the REST API's list of
    {"message", "errorCode"} objects, or an object with "message"; else the start of the body."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        value = None
    entries = value if isinstance(value, list) else [value]
    messages = ["%s (%s)" % (entry["message"], entry["errorCode"]) if isinstance(entry.get("errorCode"), str)
                else entry["message"] for entry in entries
                if isinstance(entry, dict) and isinstance(entry.get("message"), str)]
    text = _printable(" ".join(("; ".join(messages) or body.decode("utf-8", "replace")).split()))
    return text if len(text) <= 300 else text[:297] + "..."


def _printable(text: str) -> str:
    """`text` with every unprintable character shown as '?': a server's words reach the terminal
    without escape sequences."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _print_body(body: bytes, pretty: bool) -> None:
    """The answer's body on standard output: as received, or indented when --pretty and it is JSON."""
    if pretty:
        try:
            text = json.dumps(json.loads(body.decode("utf-8")), indent=2, ensure_ascii=False)
            body = (text + "\n").encode("utf-8")
        except (ValueError, RecursionError):
            pass
    sys.stdout.flush()
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()


def _cmd_request(args: "Any") -> int:
    _one_stdin({"--key": args.key, "--secret-json": args.secret_json, "--password-file": args.password_file,
                "--data": "-" if args.data == "@-" else args.data})
    secret = _secret_option(args)
    key, org_id, call_center = _signing_inputs(args, secret)
    endpoint_base = (args.endpoint_base or os.environ.get("SCVJWT_ENDPOINT_BASE") or
                     secret.get("SCRT_ENDPOINT_BASE"))
    # --no-jti: one token without jti serves every attempt (Salesforce accepts it until it expires).
    minter = Minter(key, org_id, call_center, ttl=args.ttl, reuse=args.no_jti,
                    refresh_margin=min(60, args.ttl // 2), audience=args.audience,
                    typ=not args.minimal_header, skew=args.skew, backend=args.backend)
    verbose = (lambda line: print("* " + line, file=sys.stderr)) if args.verbose else None
    response = request(args.method, args.url, minter, data=_request_body(args.data), provider=args.provider,
                       headers=[_header_option(text) for text in args.header], retries=args.retries,
                       timeout=args.timeout, endpoint_base=endpoint_base, ca_file=args.ca_file, log=verbose)
    if args.verbose:
        lines = ["< HTTP %d %s" % (response.status, response.reason)]
        lines += ["< %s: %s" % (name, _printable(value)) for name, value in response.headers.items()]
        print("\n".join(lines), file=sys.stderr)
    _print_body(response.body, args.pretty)
    if 200 <= response.status <= 299:
        return _EXIT_OK
    summary = _error_summary(response.body)
    print("scvjwt: error: HTTP %d %s%s" % (response.status, response.reason, summary and ": " + summary),
          file=sys.stderr)
    return _EXIT_FAILURE


def _add_signing_options(parser: "Any") -> None:
    """The key and claim options that `token` (and every command that mints) takes."""
    parser.add_argument("--key", metavar="PATH", help="private key file, PEM or DER ('-': standard "
                        "input); default $SCVJWT_KEY_FILE")
    parser.add_argument("--secret-json", metavar="PATH", help="Amazon Connect Secrets Manager "
                        "SecretString JSON ('-': standard input): org ID, call center and key")
    parser.add_argument("--org-id", metavar="ID", help="Salesforce org ID, 15 or 18 characters "
                        "(iss); default $SCVJWT_ORG_ID")
    parser.add_argument("--call-center", metavar="NAME", help="Call Center API name (sub); default "
                        "$SCVJWT_CALL_CENTER")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL, metavar="S",
                        help="lifetime in seconds, 1 to 86400 (default %d)" % DEFAULT_TTL)
    parser.add_argument("--no-jti", action="store_true", help="leave out jti: the token may be reused")
    parser.add_argument("--audience", metavar="URL", help="add an aud claim (e.g. https://scrt.salesforce.com)")
    parser.add_argument("--minimal-header", action="store_true", help='header {"alg":"RS256"} without typ')
    parser.add_argument("--skew", type=int, default=0, metavar="S",
                        help="set iat back by S seconds (0-300) for hosts whose clock runs fast")
    parser.add_argument("--backend", default="auto", choices=("auto",) + _BACKEND_NAMES,
                        help="signing backend (default auto)")
    _add_password_options(parser)


def _add_password_options(parser: "Any") -> None:
    """How the command line gets the password of an encrypted key (see _signing_key)."""
    password = parser.add_mutually_exclusive_group()
    password.add_argument("--password-env", metavar="VAR", help="read the password of an encrypted "
                          "key from this environment variable")
    password.add_argument("--password-file", metavar="PATH", help="read the password of an encrypted "
                          "key from the first line of this file ('-': standard input); without "
                          "either option, scvjwt asks for it when standard input is a terminal")


def _token_options(parser: "Any") -> None:
    _add_signing_options(parser)
    parser.add_argument("--format", choices=("token", "header", "json"), default="token",
                        help="token (default), header ('Authorization: Bearer ...'), or json")


def _decode_options(parser: "Any") -> None:
    parser.add_argument("token", metavar="TOKEN", help="the token, or '-' to read it from standard input")


def _verify_options(parser: "Any") -> None:
    parser.add_argument("token", metavar="TOKEN", help="the token, or '-' to read it from standard input")
    parser.add_argument("--cert", required=True, metavar="PATH", help="certificate or public key file")
    parser.add_argument("--org-id", metavar="ID", help="require this org ID as iss")
    parser.add_argument("--call-center", metavar="NAME", help="require this Call Center API name as sub")
    parser.add_argument("--audience", metavar="URL", help="require this aud")
    parser.add_argument("--leeway", type=int, default=0, metavar="S", help="clock leeway in seconds")


def _check_options(parser: "Any") -> None:
    parser.add_argument("--key", required=True, metavar="PATH", help="private key file ('-': standard input)")
    parser.add_argument("--cert", required=True, metavar="PATH", help="certificate or public key file "
                        "('-': standard input)")
    _add_password_options(parser)


def _keygen_options(parser: "Any") -> None:
    parser.add_argument("--key-out", required=True, metavar="PATH", help="the new private key file "
                        "(created with permissions 0600; never overwritten)")
    parser.add_argument("--bits", type=int, default=2048, choices=sorted(_MILLER_RABIN_ROUNDS),
                        help="key size (default 2048; 1024 needs --allow-1024)")
    parser.add_argument("--format", choices=("pkcs8", "pkcs1"), default="pkcs8",
                        help="PEM 'PRIVATE KEY' (pkcs8, the default) or 'RSA PRIVATE KEY' (pkcs1)")
    parser.add_argument("--cert-out", metavar="PATH", help="also write a self-signed certificate, "
                        "the PEM text for the CallCenter record")
    parser.add_argument("--cn", metavar="NAME", help="the certificate's common name (needed with --cert-out)")
    parser.add_argument("--days", type=int, metavar="N", help="days the certificate is valid (default 365)")
    parser.add_argument("--allow-1024", action="store_true", help="allow --bits 1024, for old systems")


def _bench_options(parser: "Any") -> None:
    parser.add_argument("--bits", type=int, default=2048, help="key size: 2048 (default), 3072 or 4096")
    parser.add_argument("--seconds", type=float, default=10.0, metavar="S",
                        help="how long to measure (default 10; at least %d rounds are made)" % _BENCH_ROUNDS)
    parser.add_argument("--compare", action="store_true", help="also measure python-rsa and PyJWT when "
                        "importable, and whole commands against the OpenSSL shell recipe")


def _request_options(parser: "Any") -> None:
    parser.add_argument("method", metavar="METHOD", help="GET, POST, PATCH, PUT, DELETE, HEAD or OPTIONS")
    parser.add_argument("url", metavar="URL", help="an https:// URL, or a path such as /voiceCalls joined "
                        "to the endpoint base")
    parser.add_argument("--data", metavar="JSON", help="the JSON body: text, @FILE, or '-' for standard input")
    parser.add_argument("--provider", metavar="NAME", help="the Telephony-Provider-Name header")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="one more header (repeatable)")
    parser.add_argument("--retries", type=int, default=3, metavar="N",
                        help="retries after 429, 5xx or no answer (0-%d, default 3)" % _MAX_RETRIES)
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S",
                        help="seconds for the whole call, retries included (default 30)")
    parser.add_argument("--endpoint-base", metavar="URL", help="the base that a path is joined to; default "
                        "$SCVJWT_ENDPOINT_BASE, else SCRT_ENDPOINT_BASE from --secret-json")
    parser.add_argument("--ca-file", metavar="PATH", help="a PEM file of CA certificates to trust as well "
                        "as the system's")
    parser.add_argument("--pretty", action="store_true", help="indent a JSON answer")
    parser.add_argument("--verbose", action="store_true", help="show each attempt (with the claims of its "
                        "token, never the token), the status line and the answer's headers on standard error")
    _add_signing_options(parser)


def _no_options(parser: "Any") -> None:
    """selftest and demo take no options."""


# The commands: name, handler, one line of help, and the function that adds its options.
_COMMANDS = (
    ("token", _cmd_token, "print a signed token", _token_options),
    ("decode", _cmd_decode, "show a token's header and claims (no signature check)", _decode_options),
    ("verify", _cmd_verify, "check a token's signature and claims as Salesforce does", _verify_options),
    ("check", _cmd_check, "check that a private key and a certificate (or public key) belong together",
     _check_options),
    ("keygen", _cmd_keygen, "make a private key and a self-signed certificate, in pure Python", _keygen_options),
    ("selftest", _cmd_selftest, "run known-answer tests on every available backend", _no_options),
    ("bench", _cmd_bench, "measure signing speed of each backend on this host", _bench_options),
    ("request", _cmd_request, "call the Telephony Integration REST API with a fresh token", _request_options),
    ("demo", _cmd_demo, "show each step of making a token, with a built-in sample key", _no_options),
)   # type: Tuple[Tuple[str, Callable[[Any], int], str, Callable[[Any], None]], ...]


def _parser(chosen: "Optional[str]" = None) -> "Any":
    """The argument parser. Given the chosen command, only that command is added: a one-shot run
    need not build the parsers of all the others (a third of its start-up after the imports);
    `scvjwt --help` and an unknown command get them all."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> "Any":
            self.print_usage(sys.stderr)
            self.exit(_EXIT_USAGE, "scvjwt: error: %s\n" % message)

    parser = Parser(prog="scvjwt", description="RS256 bearer tokens for the Salesforce Service "
                    "Cloud Voice Telephony Integration REST API.",
                    epilog="Exit status: 0 success, 1 invalid token or runtime failure, 2 usage error or bad input.")
    parser.add_argument("--version", action="version", version="scvjwt " + __version__)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, handler, summary, add_options in _COMMANDS:
        if chosen in (None, name):
            command = commands.add_parser(name, help=summary, description=summary)
            command.set_defaults(handler=handler)
            add_options(command)
    return parser


def main(argv: "Optional[List[str]]" = None) -> int:
    """The command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((word for word in argv if not word.startswith("-")), None)
    parser = _parser(chosen if chosen in [name for name, _, _, _ in _COMMANDS] else None)
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.error("choose a command (scvjwt --help lists them; try: scvjwt demo)")
    try:
        return int(args.handler(args))
    except (_InputError, KeyFormatError, ClaimsError, TokenError, RequestError) as error:
        print("scvjwt: error: %s" % error, file=sys.stderr)
        return _EXIT_USAGE
    except BackendError as error:
        print("scvjwt: error: %s" % error, file=sys.stderr)
        return _EXIT_FAILURE
    except ScvJwtError as error:   # any other error of scvjwt's own: a runtime failure
        print("scvjwt: error: %s" % error, file=sys.stderr)
        return _EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:   # the reader of standard output left (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
