"""Tests of scvjwt. Run: python3 -m unittest test_scvjwt (pytest runs them too).

Differential tests compare with the cryptography package and the openssl tool where they are
present; tests that need them, or ../shared (Wycheproof vectors, the key corpus script), skip
with a reason when they are absent.
"""

import atexit
import base64
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest
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
def no_cryptography():
    """`import cryptography...` fails inside, as on a host without the package (every
    cryptography module already imported is hidden, not only the top one)."""
    hidden = {name: module for name, module in sys.modules.items()
              if name == "cryptography" or name.startswith("cryptography.")}
    sys.modules.update(dict.fromkeys(list(hidden) + ["cryptography"]))
    try:
        yield
    finally:
        for name in [name for name in sys.modules if name == "cryptography" or name.startswith("cryptography.")]:
            del sys.modules[name]
        sys.modules.update(hidden)


@contextlib.contextmanager
def no_openssl_tool():
    """The openssl tool is not on PATH inside."""
    with mock.patch.dict(os.environ, {"PATH": temp_dir()}):
        yield


@contextlib.contextmanager
def no_third_party():
    with no_cryptography(), no_openssl_tool():
        yield


def openssl_run(args, data=None):
    """stdout of the openssl tool run with ARGS (throwaway test keys and passwords only)."""
    return subprocess.run([OPENSSL] + list(args), input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True).stdout


def openssl_pkcs8(pem, *options, password=PASSWORD):
    """The key encrypted by `openssl pkcs8 -topk8 OPTIONS`, as PEM bytes."""
    return openssl_run(["pkcs8", "-topk8", "-passout", "pass:" + password] + list(options), pem)


def openssl_legacy(pem, cipher_option, password=PASSWORD):
    """The key as legacy encrypted PEM, as `openssl rsa -traditional -aes256` etc. write it."""
    return openssl_run(["rsa", "-traditional", cipher_option, "-passout", "pass:" + password], pem)


def pem_der(pem):
    """The DER in the first PEM block of `pem` (no headers)."""
    lines = pem.decode("ascii").strip().splitlines()
    return base64.b64decode("".join(lines[1:-1]))


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


class TestAesKnownAnswers(unittest.TestCase):
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
                key, iv = bytes(rng.getrandbits(8) for _ in range(key_bytes)), bytes(rng.getrandbits(8) for _ in range(16))
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
class TestEncryptedPkcs8(unittest.TestCase):
    """ENCRYPTED PRIVATE KEY (PBES2) as `openssl pkcs8 -topk8 -v2 ...` writes it, read in pure Python."""

    @classmethod
    def setUpClass(cls):
        cls.plain_pem = openssl_key_pem(1024)
        cls.expected = scvjwt.load_private_key(cls.plain_pem)

    def test_every_cipher_and_prf_in_pem_and_der_with_no_third_party_package(self):
        for cipher in AES_CIPHERS:
            for prf in PRFS:
                pem = openssl_pkcs8(self.plain_pem, "-v2", cipher, "-v2prf", prf)
                der = pem_der(pem)
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
        der = pem_der(openssl_pkcs8(self.plain_pem, "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"))
        salt, iterations, iv, ciphertext = pbes2_pieces(der)
        self.assertEqual(pbes2_der(salt, iterations, iv, ciphertext), der)   # the builder is faithful
        sha1 = der_seq(der_oid(OID_HMAC_SHA1), b"\x05\x00")
        for variant in (dict(prf=sha1), dict(key_length=16), dict(key_length=16, prf=sha1),
                        dict(prf=der_seq(der_oid(OID_HMAC_SHA1)))):
            with self.subTest(**{k: v.hex() if isinstance(v, bytes) else v for k, v in variant.items()}):
                self.assertEqual(scvjwt.load_private_key(pbes2_der(salt, iterations, iv, ciphertext, **variant),
                                                         PASSWORD), self.expected)

    def test_key_of_another_type_is_named_after_decryption(self):
        ec_pem = openssl_run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        encrypted = openssl_pkcs8(ec_pem, "-v2", "aes-128-cbc")
        with self.assertRaises(scvjwt.KeyFormatError) as caught:
            scvjwt.load_private_key(encrypted, PASSWORD)
        self.assertIn("EC key", str(caught.exception))


@needs_openssl
class TestLegacyEncryptedPem(unittest.TestCase):
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
        dek_info = [line for line in text.splitlines() if line.startswith("DEK-Info:")][0]
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
class TestEncryptedByCryptography(unittest.TestCase):
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
class TestEncryptedKeyCorpus(unittest.TestCase):
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
class TestDes3ThroughBackends(unittest.TestCase):
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
                    self.assertIn("bad decrypt", str(caught.exception))
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
        self.assertEqual(len(calls), 1)
        args, kwargs = calls[0]
        command_line = " ".join(args)
        self.assertNotIn(PASSWORD, command_line)
        self.assertNotIn("BEGIN", command_line)
        self.assertNotIn("env", kwargs)
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
        salt, _, iv, ciphertext = pbes2_pieces(pem_der(self.keys["PBES2 des3"]))
        crafted = pbes2_der(salt, 10000001, iv, ciphertext, cipher="1.2.840.113549.3.7")
        with mock.patch.object(subprocess, "Popen", side_effect=AssertionError("openssl ran")), \
                mock.patch.object(scvjwt, "_decrypt_with_cryptography", side_effect=AssertionError("ran")):
            with self.assertRaises(scvjwt.KeyFormatError) as caught:
                scvjwt.load_private_key(crafted, PASSWORD)
        self.assertIn("10,000,000", str(caught.exception))


@needs_openssl
class TestEncryptedKeyErrors(unittest.TestCase):
    """Wrong and missing passwords, truncated, tampered and crafted encrypted keys: always a
    KeyFormatError with a clear message, never noise taken for a key, never another exception."""

    @classmethod
    def setUpClass(cls):
        cls.plain_pem = openssl_key_pem(1024)
        cls.expected = scvjwt.load_private_key(cls.plain_pem)
        cls.pkcs8_pem = openssl_pkcs8(cls.plain_pem, "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256")
        cls.pkcs8_der = pem_der(cls.pkcs8_pem)
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
        ciphertext = scvjwt._key_blocks(text, "test")[0][2]
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
class TestPasswordOptions(unittest.TestCase):
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


if __name__ == "__main__":
    unittest.main()
