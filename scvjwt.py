#!/usr/bin/env python3
# scvjwt: RS256 bearer tokens for Salesforce Service Cloud Voice's Telephony Integration REST API.
# Copyright (c) 2026 the scvjwt authors. SPDX-License-Identifier: MIT (the full text is in LICENSE).
"""Mint and check the RS256 JWT that authorizes calls to the Telephony Integration REST API.

One file, Python standard library only, CPython 3.6 to 3.13. The six documented steps:

  1. the header JSON {"alg":"RS256","typ":"JWT"}      header_json()
  2. the header in base64url                           b64url_encode()
  3. the claims JSON: iat, exp, iss, sub [aud] [jti]   build_claims(), _json_bytes()
  4. the claims in base64url                           b64url_encode()
  5. the RS256 signature over "header.claims"          sign_rs256(): _emsa_pkcs1_v15_sha256(), _sign_pure()
  6. the header "Authorization: Bearer <token>"        mint(), Minter.authorization()

Try it: python3 scvjwt.py demo. The command line: python3 scvjwt.py --help.
"""

import binascii
import hashlib
import hmac
import json
import os
import sys
import time

__version__ = "1.0.0"
__all__ = [
    "ScvJwtError", "KeyFormatError", "ClaimsError", "BackendError", "TokenError",
    "b64url_encode", "b64url_decode",
    "RSAPublicKey", "RSAPrivateKey", "load_private_key", "load_public_key",
    "backends", "sign_rs256", "verify_rs256",
    "DEFAULT_TTL", "MAX_TTL", "header_json", "build_claims", "mint", "Minter",
    "decode_unverified", "ReplayCache", "verify", "main",
]

# Annotations name typing constructs in quotes, so that importing this module does not import
# typing (a measurable share of a one-shot command's start-up); type checkers read them all the same.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union
    BytesLike = Union[bytes, bytearray, memoryview]
    PemBlock = Tuple[Optional[str], Dict[str, str], bytes]


# ------------------------------------------------------------------------------------------------
# Errors
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


def _type_name(value: object) -> str:
    return type(value).__name__


def _is_int(value: object) -> bool:
    """True for int values; bool is an int to Python but never a number here."""
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------------------------------------
# base64url: RFC 4648 section 5, without padding as RFC 7515 section 2 and appendix C require
# ------------------------------------------------------------------------------------------------

_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_TO_B64URL = str.maketrans("+/", "-_")
_FROM_B64URL = str.maketrans("-_", "+/")


def b64url_encode(data: "BytesLike") -> str:
    """Encode bytes in base64url (RFC 4648 section 5) without '=' padding (RFC 7515 section 2)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TokenError("malformed", "b64url_encode takes bytes, not %s" % _type_name(data))
    encoded = binascii.b2a_base64(bytes(data), newline=False).decode("ascii")
    return encoded.rstrip("=").translate(_TO_B64URL)


def b64url_decode(text: "Union[str, BytesLike]") -> bytes:
    """Decode unpadded base64url strictly: one canonical text for each byte string.

    Refused with TokenError (reason "malformed"): padding, whitespace, any character outside the
    RFC 4648 section 5 alphabet, a length of 1 mod 4 (no whole byte), and non-zero unused bits in
    the last character (RFC 4648 section 3.5 lets a decoder reject them; accepting them would let
    several texts stand for one signature).
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError:
            raise TokenError("malformed", "base64url text must be ASCII") from None
    if not isinstance(text, str):
        raise TokenError("malformed", "b64url_decode takes str or bytes, not %s" % _type_name(text))
    if not _B64URL_ALPHABET.issuperset(text):
        raise TokenError("malformed", "not base64url: a character outside A-Z a-z 0-9 - _")
    if len(text) % 4 == 1:
        raise TokenError("malformed", "not base64url: the length cannot encode whole bytes")
    padded = text.translate(_FROM_B64URL) + "=" * (-len(text) % 4)
    data = binascii.a2b_base64(padded)
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


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


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


def _pem_blocks(text: str) -> "List[PemBlock]":
    """Every '-----BEGIN X-----' ... '-----END X-----' block in `text`: (label, headers, DER)."""
    blocks = []  # type: List[PemBlock]
    pos = 0
    while True:
        begin = text.find("-----BEGIN ", pos)
        if begin < 0:
            return blocks
        label_start = begin + len("-----BEGIN ")
        label_end = text.find("-----", label_start)
        if label_end < 0:
            return blocks
        label = " ".join(text[label_start:label_end].split())
        if not label or len(label) > 40 or not label.replace(" ", "").isalnum():
            pos = label_start
            continue
        end_line = "-----END %s-----" % label
        body_end = text.find(end_line, label_end)
        if body_end < 0:
            raise KeyFormatError("the PEM block '%s' has no END line" % label)
        headers, der = _pem_body(label, text[label_end + 5:body_end])
        blocks.append((label, headers, der))
        pos = body_end + len(end_line)


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


def _key_blocks(data: object, what: str) -> "List[PemBlock]":
    """Read key or certificate input (bytes or str; PEM, possibly damaged, or DER, or bare
    base64 of DER) into blocks; DER is one block whose label is None."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, (bytes, str)):
        raise KeyFormatError("%s must be bytes or str, not %s" % (what, _type_name(data)))
    if len(data) > _MAX_KEY_INPUT:
        raise KeyFormatError("the %s data is larger than 1 MiB; it is not a key or certificate" % what)
    if isinstance(data, bytes):
        if data[:1] == b"\x30":
            return [(None, {}, data)]
        data = _decode_key_text(data)
    text = _repair_transport_damage(data)
    blocks = _pem_blocks(text)
    if blocks:
        return blocks
    der = _b64_decode_strict("".join(text.replace("\\", " ").strip().strip("\"'").split()))
    if der and der[:1] == b"\x30":
        return [(None, {}, der)]
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


def _private_from_block(kind: str, headers: "Dict[str, str]", der: bytes,
                        password: "Optional[BytesLike]") -> "RSAPrivateKey":
    if kind == "encrypted-pkcs8" or "Proc-Type" in headers:
        if password is None:
            raise KeyFormatError("the private key is encrypted: give its password "
                                 "(password=..., or --password-env VAR on the command line)")
        raise KeyFormatError("encrypted private keys are not supported yet; decrypt it first with "
                             "'openssl pkey -in KEY -out PLAIN_KEY'")
    if kind == "pkcs8":
        return _private_from_pkcs8(der)
    return _private_from_pkcs1(der)


def _block_kind(block: "PemBlock") -> str:
    label, _, der = block
    if label is None:
        return _der_kind(der)
    return _PEM_KINDS.get(label, "label:" + label)


def load_private_key(data: "Union[str, BytesLike, RSAPrivateKey]",
                     password: "Optional[Union[str, BytesLike]]" = None) -> "RSAPrivateKey":
    """Read an RSA private key: PEM 'RSA PRIVATE KEY' (PKCS#1) or 'PRIVATE KEY' (PKCS#8), or the
    DER of either, from bytes or str. PEM damaged in transport is repaired (see
    _repair_transport_damage) and other blocks in the same text, such as a certificate, are
    skipped. `password` (str as UTF-8, or bytes) opens an encrypted key; given for a key that is
    not encrypted, it is ignored. Every refusal is a KeyFormatError naming what was found."""
    if isinstance(data, RSAPrivateKey):
        return data
    if isinstance(data, RSAPublicKey):
        raise KeyFormatError("this is a public key, not a private key; signing needs the private key")
    if isinstance(password, str):
        password = password.encode("utf-8", "surrogatepass")
    elif password is not None and not isinstance(password, (bytes, bytearray, memoryview)):
        raise KeyFormatError("the password must be str or bytes, not %s" % _type_name(password))
    blocks = _key_blocks(data, "private key")
    kinds = [_block_kind(block) for block in blocks]
    for kind, (_, headers, der) in zip(kinds, blocks):
        if kind in _PRIVATE_KINDS:
            return _private_from_block(kind, headers, der, password)
    raise KeyFormatError(_wrong_kind_message(_most_telling(kinds), "an RSA private key"))


def load_public_key(data: "Union[str, BytesLike, RSAPublicKey, RSAPrivateKey]") -> "RSAPublicKey":
    """Read an RSA public key: PEM or DER 'PUBLIC KEY' (SubjectPublicKeyInfo), 'RSA PUBLIC KEY'
    (PKCS#1) or 'CERTIFICATE' (X.509, its subject public key); also an RSAPublicKey or
    RSAPrivateKey object, or unencrypted private-key data, whose public half it returns. The
    first usable block wins, so a file with a certificate and its key gives the same answer."""
    if isinstance(data, RSAPublicKey):
        return data
    if isinstance(data, RSAPrivateKey):
        return data.public_key()
    blocks = _key_blocks(data, "public key")
    kinds = [_block_kind(block) for block in blocks]
    readers = {"spki": _public_from_spki, "pkcs1-public": _public_from_pkcs1,
               "certificate": _public_from_certificate}
    for kind, (_, headers, der) in zip(kinds, blocks):
        if kind in readers:
            return readers[kind](der)
        if kind in _PRIVATE_KINDS:
            return _private_from_block(kind, headers, der, None).public_key()
    raise KeyFormatError(_wrong_kind_message(_most_telling(kinds), "an RSA public key or certificate"))


def _most_telling(kinds: "List[str]") -> str:
    """The kind to name when no block was usable: a known key type rather than parameters or
    unknown labels."""
    for kind in kinds:
        if not kind.startswith("label:") and kind != "unknown":
            return kind
    return "unknown"


# ------------------------------------------------------------------------------------------------
# RSA keys: RFC 8017 section 3 (key numbers), SP 800-56B rev. 2 appendix C.2 (recovering p and q)
# ------------------------------------------------------------------------------------------------

_MIN_BITS, _MAX_BITS = 1024, 16384
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


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _check_public_numbers(n: object, e: object) -> None:
    """The bounds every RSA key here must meet (RFC 8017 section 3.1, and Salesforce's sizes)."""
    if not _is_int(n) or not _is_int(e):
        raise KeyFormatError("RSA numbers must be integers")
    assert isinstance(n, int) and isinstance(e, int)
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


class _Immutable(object):
    """Key objects cannot change once built: attributes are set once, in __init__."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("%s objects are immutable" % _type_name(self))

    def __delattr__(self, name: str) -> None:
        raise AttributeError("%s objects are immutable" % _type_name(self))

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)


class RSAPublicKey(_Immutable):
    """An RSA public key (n, e) (RFC 8017 section 3.1). Equal when the numbers are equal."""

    __slots__ = ("n", "e", "bits")

    def __init__(self, n: int, e: int) -> None:
        _check_public_numbers(n, e)
        self._set("n", n)
        self._set("e", e)
        self._set("bits", n.bit_length())

    def _spki_der(self) -> bytes:
        """SubjectPublicKeyInfo (RFC 5280 section 4.1.2.7) with an RSAPublicKey (RFC 8017 A.1.1)."""
        rsa_public_key = _der_encode_sequence(_der_encode_uint(self.n), _der_encode_uint(self.e))
        return _der_encode_sequence(_RSA_ALGORITHM_DER, _der_encode(_BIT_STRING, b"\x00" + rsa_public_key))

    def to_pem(self) -> str:
        """The key as PEM 'PUBLIC KEY' (SubjectPublicKeyInfo), as `openssl pkey -pubout` writes it."""
        return _pem_wrap("PUBLIC KEY", self._spki_der())

    def fingerprint(self) -> str:
        """'SHA256:' and the unpadded base64 of SHA-256 over the SubjectPublicKeyInfo DER, the
        form `ssh-keygen -l` prints. Equal keys in any encoding give equal fingerprints."""
        digest = hashlib.sha256(self._spki_der()).digest()
        return "SHA256:" + binascii.b2a_base64(digest, newline=False).decode("ascii").rstrip("=")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RSAPublicKey):
            return NotImplemented
        return (self.n, self.e) == (other.n, other.e)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((self.n, self.e))

    def __repr__(self) -> str:
        return "<RSAPublicKey %d bits %s>" % (self.bits, self.fingerprint())


class RSAPrivateKey(_Immutable):
    """An RSA private key with its CRT values (RFC 8017 section 3.2, second representation).

    Missing p and q are recovered from (n, e, d); missing dP, dQ and qInv are computed. Numbers
    that do not belong together raise KeyFormatError. repr() and str() show the size and the
    public fingerprint only, never a secret number.
    """

    __slots__ = ("n", "e", "d", "p", "q", "dp", "dq", "qi", "bits", "_public")

    def __init__(self, n: int, e: int, d: int, p: "Optional[int]" = None, q: "Optional[int]" = None,
                 dp: "Optional[int]" = None, dq: "Optional[int]" = None, qi: "Optional[int]" = None) -> None:
        public = RSAPublicKey(n, e)
        if not all(_is_int(x) and x > 0 for x in (d, p, q, dp, dq, qi) if x is not None):
            raise KeyFormatError("RSA numbers must be positive integers")
        if not 1 < d < n:
            raise KeyFormatError("the RSA numbers are inconsistent: d is out of range")
        if p is None and q is None:
            p, q = _recover_primes(n, e, d)
        elif p is None:
            p = n // q
        elif q is None:
            q = n // p
        if not (1 < p < n and 1 < q < n and p * q == n and p != q):
            raise KeyFormatError("the RSA numbers are inconsistent: p * q is not n")
        p_1, q_1 = p - 1, q - 1
        if (e * d) % (p_1 // _gcd(p_1, q_1) * q_1) != 1:
            raise KeyFormatError("the RSA numbers are inconsistent: d is not e**-1 mod lcm(p-1, q-1)")
        if (dp is not None and dp != d % p_1) or (dq is not None and dq != d % q_1):
            raise KeyFormatError("the RSA numbers are inconsistent: a CRT exponent does not match d")
        if qi is None:
            qi = _inverse_mod(q, p)
        elif not (0 < qi < p and qi * q % p == 1):
            raise KeyFormatError("the RSA numbers are inconsistent: qInv * q is not 1 mod p")
        for name, value in (("d", d), ("p", p), ("q", q), ("dp", d % p_1), ("dq", d % q_1), ("qi", qi)):
            self._set(name, value)
        self._set("n", n)
        self._set("e", e)
        self._set("bits", public.bits)
        self._set("_public", public)

    def public_key(self) -> RSAPublicKey:
        return self._public

    def to_pem(self, format: str = "pkcs8") -> str:
        """The key as unencrypted PEM: 'PRIVATE KEY' (PKCS#8, RFC 5208, the default) or, with
        format="pkcs1", 'RSA PRIVATE KEY' (RFC 8017 A.1.2). This text is the secret itself."""
        if format == "pkcs1":
            return _pem_wrap("RSA PRIVATE KEY", self._pkcs1_der())
        if format == "pkcs8":
            return _pem_wrap("PRIVATE KEY", self._pkcs8_der())
        raise KeyFormatError("the key format must be 'pkcs8' or 'pkcs1', not %r" % (format,))

    def _pkcs1_der(self) -> bytes:
        numbers = (0, self.n, self.e, self.d, self.p, self.q, self.dp, self.dq, self.qi)
        return _der_encode_sequence(*(_der_encode_uint(x) for x in numbers))

    def _pkcs8_der(self) -> bytes:
        return _der_encode_sequence(_der_encode_uint(0), _RSA_ALGORITHM_DER,
                                    _der_encode(_OCTET_STRING, self._pkcs1_der()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RSAPrivateKey):
            return NotImplemented
        return hmac.compare_digest(self._pkcs1_der(), other._pkcs1_der())

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # secret numbers make poor dictionary keys

    def __repr__(self) -> str:
        return "<RSAPrivateKey %d bits, public key %s>" % (self.bits, self._public.fingerprint())


def _recover_primes(n: int, e: int, d: int) -> "Tuple[int, int]":
    """Factor n from (n, e, d) (SP 800-56B rev. 2 appendix C.2; RFC 8017 leaves it out).

    e*d - 1 = k is a multiple of lcm(p-1, q-1); write k = 2**t * r with r odd. For most g,
    the sequence g**r, g**2r, ... mod n meets a square root of 1 other than +-1, and
    gcd(that root - 1, n) is a prime factor. Fixed bases keep the result deterministic."""
    k = d * e - 1
    t = (k & -k).bit_length() - 1
    r = k >> t
    if t == 0:
        raise KeyFormatError("the RSA numbers are inconsistent: e*d - 1 is odd")
    for g in range(2, 202):
        y = pow(g, r, n)
        if y in (1, n - 1):
            continue
        for _ in range(t):
            x = y * y % n
            if x == 1:
                p = _gcd(y - 1, n)
                return p, n // p
            if x == n - 1:
                break
            y = x
        else:   # g**(e*d - 1) is not 1, as it would be for every g were d right: stop at once
            break
    raise KeyFormatError("the RSA numbers are inconsistent: n cannot be factored with e and d")


# ------------------------------------------------------------------------------------------------
# RSASSA-PKCS1-v1_5 with SHA-256: RFC 8017 sections 5.2 (RSASP1, RSAVP1), 8.2 (the scheme) and
# 9.2 (EMSA-PKCS1-v1_5)
# ------------------------------------------------------------------------------------------------

# The DER of DigestInfo ::= SEQUENCE { SEQUENCE { id-sha256, NULL }, OCTET STRING (32 bytes) } up to
# the digest itself, as RFC 8017 section 9.2 note 1 prints it. A constant keeps any ASN.1 encoder
# off the signing path, and lets verification compare whole encodings instead of parsing them.
_SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


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


def _blinding_pair(n: int) -> "Tuple[int, int]":
    """A random r in [2, n) and r**-1 mod n. Signing r**e * m instead of m makes the values the
    private exponent meets independent of the message (Kocher's timing attack needs them known)."""
    while True:
        r = int.from_bytes(os.urandom(_byte_length(n) + 8), "big") % n
        if r > 1:
            try:
                return r, _inverse_mod(r, n)
            except ValueError:   # r shares a factor with n: chance about 2**-1000; draw again
                continue


def _byte_length(value: int) -> int:
    return (value.bit_length() + 7) // 8


def _sign_pure(key: RSAPrivateKey, message: bytes, encoded_message: bytes) -> bytes:
    """RSASP1 (RFC 8017 section 5.2.1) in pure Python, with the CRT (step 2.b) and blinding.

    s = m**d mod n is computed as s1 = c**dP mod p and s2 = c**dQ mod q on the blinded c, joined
    by Garner's formula, then unblinded. Python's integers are not constant-time; blinding is
    what keeps the timing of pow() unrelated to the message. The caller checks the result with
    the public exponent before it leaves sign_rs256.
    """
    n, p, q = key.n, key.p, key.q
    m = int.from_bytes(encoded_message, "big")               # OS2IP(EM), section 4.2
    r, r_inverse = _blinding_pair(n)
    c = m * pow(r, key.e, n) % n
    s1 = pow(c % p, key.dp, p)                                # step 2.b.i
    s2 = pow(c % q, key.dq, q)                                # step 2.b.ii
    h = (s1 - s2) * key.qi % p                                # step 2.b.iii
    s = (s2 + q * h) * r_inverse % n                          # step 2.b.iv, then unblinded
    return s.to_bytes(_modulus_bytes(key), "big")             # I2OSP(s, k), section 4.1


# Signing backends: each turns (key, message, EMSA encoding of the message) into a signature.
_SIGNERS = {"pure": _sign_pure}   # type: Dict[str, Callable[[RSAPrivateKey, bytes, bytes], bytes]]
_BACKEND_NAMES = ("pure", "openssl", "cryptography")


def backends() -> "List[str]":
    """The signing backends usable on this host, in the order backend="auto" tries them. "pure"
    is always there."""
    return [name for name in _BACKEND_NAMES if name in _SIGNERS]


def _choose_backend(backend: object) -> str:
    if backend == "auto":
        return backends()[0]
    if backend not in _BACKEND_NAMES:
        raise BackendError("unknown backend %r; choose auto, %s" % (backend, ", ".join(_BACKEND_NAMES)))
    if backend not in backends():
        raise BackendError("the %s backend is not available on this host" % backend)
    return str(backend)


def _message_bytes(message: object) -> bytes:
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise TokenError("malformed", "the message must be bytes, not %s" % _type_name(message))
    return bytes(message)


def sign_rs256(key: "Union[RSAPrivateKey, str, BytesLike]", message: "BytesLike",
               backend: str = "auto") -> bytes:
    """RSASSA-PKCS1-v1_5 signature with SHA-256 (RFC 8017 section 8.2.1) of `message`.

    `key` is an RSAPrivateKey or unencrypted PEM/DER data. The scheme is deterministic, so every
    backend returns the same bytes. Whatever the backend, the signature is checked with the
    public exponent (RSAVP1 must give back EM) before it is returned: with the CRT, one faulty
    half of a signature reveals a prime factor of n (Boneh, DeMillo and Lipton, 1997), so a
    faulty result raises BackendError and is never released.
    """
    private_key = load_private_key(key)
    message = _message_bytes(message)
    name = _choose_backend(backend)
    k = _modulus_bytes(private_key)
    encoded_message = _emsa_pkcs1_v15_sha256(message, k)      # section 8.2.1 step 1
    signature = _SIGNERS[name](private_key, message, encoded_message)   # steps 2.a-2.c
    released = (len(signature) == k and
                pow(int.from_bytes(signature, "big"), private_key.e, private_key.n)
                == int.from_bytes(encoded_message, "big"))
    if not released:
        raise BackendError("the %s backend produced a signature that fails its check with the "
                           "public exponent; it was not released" % name)
    return signature


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
# Claims and tokens: RFC 7519 (JWT) section 4.1, RFC 7515 (JWS compact serialization) section 7.1,
# and the Telephony Integration REST API's rules (iss = org ID, sub = Call Center API name)
# ------------------------------------------------------------------------------------------------

DEFAULT_TTL = 300           # seconds; what Salesforce's own Amazon Connect lambdas use
MAX_TTL = 86400             # Salesforce refuses tokens with exp more than 24 hours after iat
_MAX_SKEW = 300
_MAX_EPOCH = 253402300799   # 9999-12-31T23:59:59Z: later times are not times
_MAX_CLAIM_STRING = 1024

# Step 1: the JOSE header (RFC 7515 section 4), as bytes. The guide shows both forms.
_HEADER_JSON = b'{"alg":"RS256","typ":"JWT"}'
_MINIMAL_HEADER_JSON = b'{"alg":"RS256"}'

_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ORG_ID_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _header_json(typ: bool = True) -> bytes:
    """Step 1: {"alg":"RS256","typ":"JWT"}, or {"alg":"RS256"} when typ is false."""
    return _HEADER_JSON if typ else _MINIMAL_HEADER_JSON


def _json_bytes(value: object) -> bytes:
    """Compact JSON (no spaces), UTF-8, keys in insertion order: the bytes that get signed."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _shown(value: object) -> str:
    """A short, safe rendering of a rejected identifier for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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


def _whole_number(value: object, what: str, low: int, high: int) -> int:
    if not _is_int(value) or not low <= value <= high:    # type: ignore[operator]
        raise ClaimsError("%s must be a whole number of seconds from %d to %d" % (what, low, high))
    assert isinstance(value, int)
    return value


def _epoch(now: object) -> float:
    """A time in seconds since the epoch: the clock when `now` is None."""
    if now is None:
        return time.time()
    if not isinstance(now, (int, float)) or isinstance(now, bool) or not 0 <= now <= _MAX_EPOCH:
        raise ClaimsError("the time must be seconds since 1970 (a number from 0 to %d)" % _MAX_EPOCH)
    return now


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


def _sign_claims(key: RSAPrivateKey, claims: "Dict[str, Any]", typ: bool, backend: str) -> str:
    """Steps 2, 4 and 5: BASE64URL(header) '.' BASE64URL(claims) '.' BASE64URL(signature)
    (RFC 7515 section 7.1), the signature over the ASCII of the first two parts (section 5.1)."""
    signing_input = b64url_encode(_header_json(typ)) + "." + b64url_encode(_json_bytes(claims))
    signature = sign_rs256(key, signing_input.encode("ascii"), backend)
    return signing_input + "." + b64url_encode(signature)


def mint(key: "Union[RSAPrivateKey, str, BytesLike]", org_id: str, call_center: str,
         ttl: int = DEFAULT_TTL, now: "Optional[float]" = None, jti: "Union[bool, str, None]" = True,
         audience: "Optional[str]" = None, typ: bool = True, skew: int = 0, backend: str = "auto") -> str:
    """A signed token (compact JWS) for the Telephony Integration REST API; send it as
    'Authorization: Bearer <token>'. `key` is an RSAPrivateKey or unencrypted PEM/DER data;
    the other arguments are those of build_claims, plus `typ` (False drops "typ":"JWT" from the
    header) and the signing backend."""
    claims = build_claims(org_id, call_center, ttl, now, jti, audience, skew)
    return _sign_claims(load_private_key(key), claims, bool(typ), backend)


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
        self._ttl = ttl
        self._refresh_margin = _whole_number(refresh_margin, "refresh_margin", 0, ttl - 1)
        if not callable(clock):
            raise ClaimsError("clock must be a function that returns the time in seconds")
        self._key = load_private_key(key)
        self._backend = _choose_backend(backend)
        self._claim_arguments = (org_id, call_center, ttl)
        self._audience, self._typ, self._skew, self._reuse, self._clock = audience, bool(typ), skew, bool(reuse), clock
        self._lock = threading.Lock()
        self._cached = None   # type: Optional[Tuple[str, int]]

    def _mint(self, jti: bool) -> "Tuple[str, int]":
        org_id, call_center, ttl = self._claim_arguments
        claims = build_claims(org_id, call_center, ttl, self._clock(), jti, self._audience, self._skew)
        return _sign_claims(self._key, claims, self._typ, self._backend), claims["exp"]

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


def _token_parts(token: object) -> "Tuple[str, str, str]":
    if isinstance(token, (bytes, bytearray, memoryview)):
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            raise TokenError("malformed", "a token is ASCII text") from None
    if not isinstance(token, str):
        raise TokenError("malformed", "a token is a str, not %s" % _type_name(token))
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


def _json_object(part: str, what: str) -> "Dict[str, Any]":
    """A base64url part holding a UTF-8 JSON object (RFC 7515 section 5.2 steps 2-4 and 7-8)."""
    raw = b64url_decode(part)
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates,
                           parse_constant=_refuse_constant)
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
    claims = _json_object(claims_part, "claims")
    b64url_decode(signature_part)
    return header, claims


class ReplayCache(object):
    """The jti values already seen, each kept until its token's exp plus the verify leeway, so
    memory holds live tokens only. Thread-safe. Give one to verify(replay_cache=...)."""

    def __init__(self) -> None:
        import heapq
        import threading
        self._heapq = heapq
        self._lock = threading.Lock()
        self._expiry = {}    # type: Dict[str, float]
        self._queue = []     # type: List[Tuple[float, str]]

    def add(self, jti: str, until: float, now: float) -> bool:
        """Remember `jti` until the time `until`; False when it is already remembered (a replay)."""
        with self._lock:
            while self._queue and self._queue[0][0] <= now:
                _, expired = self._heapq.heappop(self._queue)
                if self._expiry.get(expired, now + 1) <= now:
                    del self._expiry[expired]
            if jti in self._expiry:
                return False
            self._expiry[jti] = until
            self._heapq.heappush(self._queue, (until, jti))
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
    claims = _json_object(claims_part, "claims")
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
        if not replay_cache.add(claims["jti"], exp + leeway, current):
            raise TokenError("replay", "the token's jti was seen before; each token is used once")
    return claims


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
_SAMPLE_CLAIMS = {"now": 1767225600, "ttl": 300, "jti": "2f8c6e1a-4b7d-4c3e-9a51-6d0e8f7b2c49"}
# mint(sample key, _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER, **_SAMPLE_CLAIMS); its signature was made
# independently by `openssl dgst -sha256 -sign` and by the cryptography package, byte for byte.
_SAMPLE_TOKEN = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpYXQiOjE3NjcyMjU2MDAsImV4cCI6MTc2NzIyNTkwMCwiaXNzIjoiMDBENWUwMDAwMDFBYkNkIiwic3ViIjoiRXhhbXBsZUNhbGxDZW50ZXIiLCJqdGkiOiIyZjhjNmUxYS00YjdkLTRjM2UtOWE1MS02ZDBlOGY3YjJjNDkifQ."
    "MLmw9K06avcZlPcJscWE-pgkPmvyLTXXAHZ2Bnj8RGODqx7G-WI5K7pGnYkMSdYKxlC1DrebGbP-GFplElkcUkkvSyOZAreQ"
    "_5vjbGQXa1yej7cFVkE0r1fUOgHrfUod8gxJxFs-6FyfobxpEuzwpoNSCylxD_iE7CGvEPlH7RJOKungbY81ixMeRisrojty"
    "l7zXYQJX0Tkm7vqED-gGhdfszQSvtz5RmTLZOXyc_nNTa4__XXXz2vemCvuI49suwbCUm68AUcszYcLwnoL5zd25NoWeL7Wy"
    "JqZp0DE6ZE6SaJVbWpd6xmqWaOuY42YTHiGpIxyCOqXyoxlyyJXZxA")


class _InputError(ScvJwtError):
    """Bad command-line input: a missing option or an unreadable file (exit status 2)."""


def _sample_key() -> RSAPrivateKey:
    e = 65537
    p_1, q_1 = _SAMPLE_P - 1, _SAMPLE_Q - 1
    d = _inverse_mod(e, p_1 // _gcd(p_1, q_1) * q_1)
    return RSAPrivateKey(_SAMPLE_P * _SAMPLE_Q, e, d, _SAMPLE_P, _SAMPLE_Q)


def _warn(message: str) -> None:
    print("scvjwt: warning: " + message, file=sys.stderr)


def _read_source(source: str, what: str) -> bytes:
    """The bytes of the file `source`, or of standard input when it is '-'; at most 1 MiB."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(_MAX_KEY_INPUT + 1)
        else:
            with open(source, "rb") as handle:
                data = handle.read(_MAX_KEY_INPUT + 1)
    except OSError as error:
        raise _InputError("cannot read the %s %s: %s" % (what, source, error.strerror or error)) from None
    if len(data) > _MAX_KEY_INPUT:
        raise _InputError("the %s %s is larger than 1 MiB" % (what, source))
    return data


def _one_stdin(**sources: "Optional[str]") -> None:
    """Only one input may come from standard input."""
    from_stdin = sorted("--%s -" % name.replace("_", "-") for name, value in sources.items() if value == "-")
    if len(from_stdin) > 1:
        raise _InputError("only one input can come from standard input, not %s" % " and ".join(from_stdin))


def _read_secret_json(source: str) -> "Dict[str, Any]":
    """An Amazon Connect contact center's Secrets Manager SecretString (a JSON object), or the
    whole `aws secretsmanager get-secret-value` answer that holds it."""
    try:
        secret = json.loads(_read_source(source, "secret JSON").decode("utf-8"))
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


def _password(args: "Any") -> "Optional[str]":
    if not args.password_env:
        return None
    value = os.environ.get(args.password_env)
    if value is None:
        raise _InputError("the environment variable %s (--password-env) is not set" % args.password_env)
    return value


def _signing_inputs(args: "Any") -> "Tuple[RSAPrivateKey, str, str]":
    """The key, org ID and Call Center API name: from the options, else from --secret-json, else
    from SCVJWT_KEY_FILE, SCVJWT_ORG_ID and SCVJWT_CALL_CENTER."""
    _one_stdin(key=args.key, secret_json=args.secret_json)
    secret = _read_secret_json(args.secret_json) if args.secret_json else {}
    org_id = args.org_id or secret.get("SALESFORCE_ORG_ID") or os.environ.get("SCVJWT_ORG_ID")
    call_center = (args.call_center or secret.get("CALL_CENTER_API_NAME") or
                   os.environ.get("SCVJWT_CALL_CENTER"))
    if not org_id:
        raise _InputError("no org ID: give --org-id, --secret-json, or set SCVJWT_ORG_ID")
    if not call_center:
        raise _InputError("no Call Center API name: give --call-center, --secret-json, or set SCVJWT_CALL_CENTER")
    key_file = args.key or (None if secret else os.environ.get("SCVJWT_KEY_FILE"))
    if key_file:
        key_data = _read_source(key_file, "key file")   # type: Union[bytes, str]
    elif secret:
        key_data = _secret_private_key(secret, str(call_center))
    else:
        raise _InputError("no key: give --key PATH, --secret-json PATH, or set SCVJWT_KEY_FILE")
    key = load_private_key(key_data, _password(args))
    if key.bits < 2048:
        _warn("the key has %d bits; Salesforce is retiring keys under 2048 bits" % key.bits)
    return key, org_id, call_center


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


def _utc_text(seconds: object) -> "Optional[str]":
    if not _is_int(seconds) or not 0 <= seconds <= _MAX_EPOCH:   # type: ignore[operator]
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))   # type: ignore[arg-type]
    except (OverflowError, OSError, ValueError):   # platforms with a 32-bit time_t
        return None


def _cmd_decode(args: "Any") -> int:
    header, claims = decode_unverified(_token_argument(args.token))
    shown = {"header": header, "claims": claims}   # type: Dict[str, Any]
    for name in ("iat", "exp"):
        if _utc_text(claims.get(name)):
            shown[name + "_utc"] = _utc_text(claims.get(name))
    if "exp_utc" in shown:
        shown["seconds_left"] = claims["exp"] - int(time.time())
    _print_json(shown)
    return _EXIT_OK


def _cmd_verify(args: "Any") -> int:
    _one_stdin(token=args.token, cert=args.cert)
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


def _selftest_checks() -> "Iterator[Tuple[str, Callable[[], bool]]]":
    """Known-answer tests: (name, check) pairs; a check returns True when it passes."""
    key = _sample_key()
    yield "base64url known answers (RFC 4648 section 10, URL alphabet)", lambda: (
        b64url_encode(b"foob") == "Zm9vYg" and b64url_encode(b"\xfb\xff") == "-_8" and
        b64url_decode("-_8") == b"\xfb\xff")
    yield "18-character ID checksums (a0D30000001n7Pi -> EAI, 00558000001N0Ke -> AAK)", lambda: (
        _org_id_suffix("a0D30000001n7Pi") == "EAI" and _org_id_suffix("00558000001N0Ke") == "AAK")
    for name in backends():
        yield "%s backend: known-answer RS256 token" % name, lambda name=name: (      # type: ignore[misc]
            mint(key, _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER, backend=name, **_SAMPLE_CLAIMS) == _SAMPLE_TOKEN)
    yield "verify accepts the known-answer token", lambda: verify(
        _SAMPLE_TOKEN, key.public_key(), _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER,
        now=_SAMPLE_CLAIMS["now"])["jti"] == _SAMPLE_CLAIMS["jti"]
    yield "verify_rs256 refuses a signature with one bit changed", lambda: not verify_rs256(
        key.public_key(), _SAMPLE_TOKEN.rsplit(".", 1)[0].encode("ascii"),
        bytes([b64url_decode(_SAMPLE_TOKEN.rsplit(".", 1)[1])[0] ^ 1]) +
        b64url_decode(_SAMPLE_TOKEN.rsplit(".", 1)[1])[1:])


def _cmd_selftest(args: "Any") -> int:
    failed = 0
    checks = list(_selftest_checks())
    for name, check in checks:
        try:
            passed = check()
        except ScvJwtError as error:
            passed, name = False, "%s (%s)" % (name, error)
        failed += not passed
        print("%-4s %s" % ("ok" if passed else "FAIL", name))
    print("selftest: %d of %d checks passed on backends %s" % (len(checks) - failed, len(checks),
                                                              ", ".join(backends())))
    return _EXIT_FAILURE if failed else _EXIT_OK


def _cmd_demo(args: "Any") -> int:
    key = _sample_key()
    org_id, call_center = _SAMPLE_ORG_ID, _SAMPLE_CALL_CENTER
    header = _header_json()
    claims = build_claims(org_id, call_center)
    signing_input = b64url_encode(header) + "." + b64url_encode(_json_bytes(claims))
    signature = sign_rs256(key, signing_input.encode("ascii"))
    token = signing_input + "." + b64url_encode(signature)
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
    parser.add_argument("--password-env", metavar="VAR", help="read the key's password from this "
                        "environment variable")


def _parser() -> "Any":
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

    def command(name: str, handler: "Callable[[Any], int]", help: str) -> "Any":
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    token = command("token", _cmd_token, "print a signed token")
    _add_signing_options(token)
    token.add_argument("--format", choices=("token", "header", "json"), default="token",
                       help="token (default), header ('Authorization: Bearer ...'), or json")
    decode = command("decode", _cmd_decode, "show a token's header and claims (no signature check)")
    decode.add_argument("token", metavar="TOKEN", help="the token, or '-' to read it from standard input")
    check = command("verify", _cmd_verify, "check a token's signature and claims as Salesforce does")
    check.add_argument("token", metavar="TOKEN", help="the token, or '-' to read it from standard input")
    check.add_argument("--cert", required=True, metavar="PATH", help="certificate or public key file")
    check.add_argument("--org-id", metavar="ID", help="require this org ID as iss")
    check.add_argument("--call-center", metavar="NAME", help="require this Call Center API name as sub")
    check.add_argument("--audience", metavar="URL", help="require this aud")
    check.add_argument("--leeway", type=int, default=0, metavar="S", help="clock leeway in seconds")
    command("selftest", _cmd_selftest, "run known-answer tests on every available backend")
    command("demo", _cmd_demo, "show each step of making a token, with a built-in sample key")
    return parser


def main(argv: "Optional[List[str]]" = None) -> int:
    """The command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return _EXIT_USAGE
    try:
        return int(args.handler(args))
    except (_InputError, KeyFormatError, ClaimsError, TokenError) as error:
        print("scvjwt: error: %s" % error, file=sys.stderr)
        return _EXIT_USAGE
    except BackendError as error:
        print("scvjwt: error: %s" % error, file=sys.stderr)
        return _EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
