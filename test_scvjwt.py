"""Tests of scvjwt. Run: python3 -m unittest test_scvjwt (pytest runs them too).

Differential tests compare with the cryptography package and the openssl tool where they are
present; tests that need them, or ../shared (Wycheproof vectors, the key corpus script), skip
with a reason when they are absent.
"""

import atexit
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

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


def write_file(folder, name, data):
    path = os.path.join(folder, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)
    return path


SAMPLE_KEY = scvjwt._sample_key()


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


def certificate_der(pem):
    return scvjwt._certificate_der(pem)


def crypto_not_valid(cert):
    """(not_valid_before, not_valid_after) as naive UTC datetimes, for old and new cryptography."""
    if hasattr(cert, "not_valid_before_utc"):
        return (cert.not_valid_before_utc.replace(tzinfo=None), cert.not_valid_after_utc.replace(tzinfo=None))
    return cert.not_valid_before, cert.not_valid_after


def run_openssl(*args, **kwargs):
    completed = subprocess.run([OPENSSL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               **kwargs)
    return (completed.returncode, completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"))


class TestGeneratePrivateKey(unittest.TestCase):
    """generate_private_key: FIPS 186-5 A.1.1 criteria, checked independently."""

    def assert_fips_criteria(self, key, bits):
        half = bits // 2
        self.assertEqual(key.bits, bits)
        self.assertEqual(key.n.bit_length(), bits)
        self.assertEqual(key.e, 65537)
        for prime in (key.p, key.q):
            self.assertEqual(prime.bit_length(), half)
            self.assertEqual(prime >> (half - 2), 3, "the top two bits of p and q are set")
            self.assertEqual(scvjwt._gcd(key.e, prime - 1), 1)
            self.assertTrue(independent_miller_rabin(prime), "an independent test calls a generated prime composite")
        self.assertEqual(key.p * key.q, key.n)
        self.assertGreater(abs(key.p - key.q), 2 ** (half - 100))
        lcm = (key.p - 1) * (key.q - 1) // scvjwt._gcd(key.p - 1, key.q - 1)
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
        self.assertEqual(key.e * key.d % ((key.p - 1) * (key.q - 1) // scvjwt._gcd(key.p - 1, key.q - 1)), 1)

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
            status, out, err = run_openssl("rsa", "-check", "-noout", input=key.to_pem(fmt).encode("ascii"))
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


class TestKeyToPem(unittest.TestCase):
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
        _, pkcs1, _ = run_openssl("rsa", "-traditional", input=pem)
        self.assertEqual(key.to_pem("pkcs1"), pkcs1)
        _, public, _ = run_openssl("pkey", "-pubout", input=pem)
        self.assertEqual(key.public_key().to_pem(), public)

    @needs_openssl
    def test_openssl_reads_what_scvjwt_writes(self):
        key = generated_key(2048)
        folder = temp_dir()
        for fmt in ("pkcs8", "pkcs1"):
            path = write_file(folder, fmt + ".pem", key.to_pem(fmt))
            status, out, err = run_openssl("pkey", "-in", path, "-pubout")
            self.assertEqual(status, 0, err)
            self.assertEqual(out, key.public_key().to_pem())
        path = write_file(folder, "public.pem", key.public_key().to_pem())
        status, out, err = run_openssl("pkey", "-pubin", "-in", path, "-pubout")
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


class TestSelfSignedCertificate(unittest.TestCase):
    """self_signed_certificate, and the certificate reader `check` uses."""

    @classmethod
    def setUpClass(cls):
        cls.pem = scvjwt.self_signed_certificate(SAMPLE_KEY, CALL_CENTER, days=365, now=NOW)
        cls.der = certificate_der(cls.pem)

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
        serials = {scvjwt._certificate_fields(certificate_der(
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
            status, out, err = run_openssl("verify", "-attime", str(NOW + 3600), "-CAfile", path, path)
            self.assertEqual(status, 0, out + err)
            self.assertIn(": OK", out)
            status, out, err = run_openssl("verify", "-x509_strict", "-attime", str(NOW + 3600), "-CAfile", path, path)
            self.assertEqual(status, 0, out + err)
        path = write_file(folder, "cert.pem", self.pem)
        status, text, err = run_openssl("x509", "-in", path, "-noout", "-text")
        self.assertEqual(status, 0, err)
        for expected in ("Version: 3 (0x2)", "Signature Algorithm: sha256WithRSAEncryption",
                         "Issuer: CN = " + CALL_CENTER, "Subject: CN = " + CALL_CENTER,
                         "Not Before: Jan  1 00:00:00 2026 GMT", "Not After : Jan  1 00:00:00 2027 GMT",
                         "X509v3 Basic Constraints: critical", "CA:FALSE", "X509v3 Subject Key Identifier"):
            self.assertIn(expected, text)
        status, _, err = run_openssl("verify", "-attime", str(NOW + 400 * 86400), "-CAfile", path, path)
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
        self.assertEqual(scvjwt._certificate_subject(certificate_der(
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
            der = certificate_der(scvjwt.self_signed_certificate(SAMPLE_KEY, "t", days=days, now=now))
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
        status, out, err = run_openssl("x509", "-in", path, "-noout", "-dates")
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
        self.assertEqual(self.subject_text([(cn, 0x1E, "Zürich".encode("utf-16-be"))]), "CN=Zürich")
        self.assertEqual(self.subject_text([(cn, 0x14, b"Z\xfcrich")]), "CN=Zürich")
        self.assertEqual(self.subject_text([(unknown, 0x04, b"\x01\x02")]), "1.2.3.4=#04020102")
        self.assertEqual(self.subject_text(), "")
        for value in ((cn, 0x0C, b"\xff\xfe"), (cn, 0x13, b"caf\xe9"), (cn, 0x1E, b"\x00")):
            with self.assertRaises(scvjwt.KeyFormatError):
                self.subject_text([value])

    @needs_openssl
    def test_subject_of_an_openssl_certificate(self):
        folder = temp_dir()
        key = write_file(folder, "k.pem", SAMPLE_KEY.to_pem())
        status, out, err = run_openssl("req", "-x509", "-key", key, "-days", "1", "-subj",
                                       "/C=US/ST=CA/O=Acme, Inc./OU=Voice/CN=scv.example.com/emailAddress=a@b.example")
        self.assertEqual(status, 0, err)
        self.assertEqual(scvjwt._certificate_subject(certificate_der(out)),
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


def key_file(folder, name, pem, mode=0o600):
    path = write_file(folder, name, pem)
    os.chmod(path, mode)
    return path


def umask_zero():
    os.umask(0)


class TestKeygenCommand(unittest.TestCase):
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
        before, after = scvjwt._certificate_validity(certificate_der(cert))
        self.assertEqual(after - before, 365 * 86400)
        if OPENSSL:
            status, out, err = run_openssl("verify", "-CAfile", cert_path, cert_path)
            self.assertEqual(status, 0, out + err)
            status, out, err = run_openssl("rsa", "-check", "-noout", "-in", key_path)
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


class TestCheckCommand(unittest.TestCase):
    """`check --key --cert`: exit 0 when they belong together, 1 when not, warnings about dates."""

    @classmethod
    def setUpClass(cls):
        cls.folder = temp_dir()
        cls.key = key_file(cls.folder, "key.pem", SAMPLE_KEY.to_pem())

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
        status, out, _ = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertIn("not before:   2026-01-01T00:00:00Z", out)
        self.assertIn("not after:    2027-01-01T00:00:00Z", out)

    def test_mismatched_pair(self):
        cert = self.cert("other.pem", time.time(), key=generated_key(2048))
        status, out, err = run_cli("check", "--key", self.key, "--cert", cert)
        self.assertEqual(status, 1)
        self.assertIn("match:        no", out)
        self.assertIn(generated_key(2048).public_key().fingerprint(), out)
        self.assertIn("scvjwt: error: the key does not belong to this certificate", err)

    def test_public_key_file(self):
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
        status, out, err = run_cli("check", "--key", "-", "--cert", cert, input=SAMPLE_KEY.to_pem().encode("ascii"))
        self.assertEqual(status, 0, err)
        with open(cert, "rb") as handle:
            status, out, err = run_cli("check", "--key", self.key, "--cert", "-", input=handle.read())
        self.assertEqual(status, 0, err)
        status, _, err = run_cli("check", "--key", "-", "--cert", "-")
        self.assertEqual(status, 2)
        self.assertIn("only one input", err)
        garbage = write_file(self.folder, "garbage.pem", "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n")
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
class TestKeyFilePermissionWarning(unittest.TestCase):
    """The CLI warns, as ssh does, when a private key file is open to group or others."""

    def token(self, path, **kwargs):
        return run_cli("token", "--key", path, "--org-id", ORG_ID, "--call-center", CALL_CENTER, **kwargs)

    def test_token_and_check(self):
        folder = temp_dir()
        cert = write_file(folder, "cert.pem", scvjwt.self_signed_certificate(SAMPLE_KEY, "a"))
        for mode in (0o644, 0o620):
            path = key_file(folder, "open-%o.pem" % mode, SAMPLE_KEY.to_pem(), mode)
            for status, _, err in (self.token(path), run_cli("check", "--key", path, "--cert", cert)):
                self.assertEqual(status, 0, err)
                self.assertIn("scvjwt: warning: the private key file %s can be read or changed by group or "
                              "others (permissions 0%o)" % (path, mode), err)
                self.assertIn("chmod 600", err)
        for mode in (0o600,):
            path = key_file(folder, "closed-%o.pem" % mode, SAMPLE_KEY.to_pem(), mode)
            for status, _, err in (self.token(path), run_cli("check", "--key", path, "--cert", cert)):
                self.assertEqual((status, err), (0, ""))

    def test_environment_key_file_and_stdin(self):
        folder = temp_dir()
        path = key_file(folder, "key.pem", SAMPLE_KEY.to_pem(), 0o644)
        status, _, err = run_cli("token", "--org-id", ORG_ID, "--call-center", CALL_CENTER,
                                 env={"SCVJWT_KEY_FILE": path})
        self.assertEqual(status, 0, err)
        self.assertIn("can be read or changed by group or others", err)
        status, _, err = self.token("-", input=SAMPLE_KEY.to_pem().encode("ascii"))
        self.assertEqual((status, err), (0, ""))


if __name__ == "__main__":
    unittest.main()
