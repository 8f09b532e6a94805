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
# Backends (issue 3): byte-identical signatures, absent or broken backends, fault checks
# ------------------------------------------------------------------------------------------------

def fake_openssl(folder, script):
    """A folder holding an executable `openssl` that runs the given shell script."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "openssl")
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n" + script + "\n")
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


class NoCryptography(object):
    """Context manager: `import cryptography` fails, as on a host without the package."""

    def __enter__(self):
        self.saved = {name: module for name, module in sys.modules.items()
                      if name == "cryptography" or name.startswith("cryptography.")}
        for name in self.saved:
            del sys.modules[name]
        sys.modules["cryptography"] = None
        scvjwt._PROBES.clear()

    def __exit__(self, *exc):
        del sys.modules["cryptography"]
        sys.modules.update(self.saved)
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
                                **scvjwt._SAMPLE_CLAIMS)
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
        self.assertEqual(len(calls), 1)
        self.assertIsNotNone(calls[0])


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
            with NoCryptography():
                self.assertEqual(scvjwt._backend_candidates("auto", key.bits, False), ["pure"])
            self.assertTrue(scvjwt.verify_rs256(key, b"m", scvjwt.sign_rs256(key, b"m")))

    def test_openssl_that_fails_gives_its_own_message(self):
        folder = fake_openssl(temp_dir(), 'echo "unable to load key: stub says no" >&2; exit 3')
        with PathWith(folder):
            self.assertNotIn("openssl", scvjwt.backends())
            with self.assertRaises(scvjwt.BackendError) as caught:
                scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend="openssl")
            self.assertIn("exit status 3", str(caught.exception))
            self.assertIn("stub says no", str(caught.exception))
            key = self.big_key()
            with NoCryptography():
                self.assertEqual(scvjwt._backend_candidates("auto", key.bits, False), ["openssl", "pure"])
                signature = scvjwt.sign_rs256(key, b"m")             # falls back to pure
            self.assertTrue(scvjwt.verify_rs256(key, b"m", signature))

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
        with NoCryptography():
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
        saved = scvjwt._SIGNERS["cryptography"]
        scvjwt._SIGNERS["cryptography"] = broken
        try:
            self.assertEqual(scvjwt._sign(SAMPLE_KEY, b"m", ["cryptography", "pure"]),
                             scvjwt.sign_rs256(SAMPLE_KEY, b"m", "pure"))
            with self.assertRaises(scvjwt.BackendError):
                scvjwt._sign(SAMPLE_KEY, b"m", ["cryptography"])
        finally:
            scvjwt._SIGNERS["cryptography"] = saved


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
        good = scvjwt.sign_rs256(SAMPLE_KEY, b"m", "pure")
        faulty = {"flipped bit": bytes([good[0] ^ 1]) + good[1:], "short": good[1:], "long": b"\x00" + good,
                  "empty": b"", "modulus plus signature": (int.from_bytes(good, "big") + SAMPLE_KEY.n).to_bytes(257, "big")}
        for backend in scvjwt.backends():
            saved = scvjwt._SIGNERS[backend]
            for label, signature in faulty.items():
                scvjwt._SIGNERS[backend] = lambda key, message, em, signature=signature: signature
                try:
                    with self.assertRaises(scvjwt.BackendError, msg=(backend, label)):
                        scvjwt.sign_rs256(SAMPLE_KEY, b"m", backend=backend)
                finally:
                    scvjwt._SIGNERS[backend] = saved


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

    def test_bench_refuses_bad_arguments(self):
        for args in (("--bits", "1000"), ("--seconds", "0"), ("--bits", "x")):
            status, out, err = run_cli("bench", *args)
            self.assertEqual(status, 2, args)
            self.assertIn("scvjwt: error:", err)
            self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main()
