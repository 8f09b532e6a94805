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
import time
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
        status, out, err = run_cli("request", "GET", "/voiceCalls/0LQ", "--retries", "1", "--timeout", "10",
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
            status, out, err = run_cli("request", "GET", "/voiceCalls", *options, env=environment)
            self.assertEqual((status, err), (0, ""))
            self.assertEqual(server.seen[-1]["path"], "/telephony/v1%s/voiceCalls" % prefix)
        status, out, err = run_cli("request", "GET", "/voiceCalls", "--secret-json", "-",
                                   input=json.dumps(secret).encode("utf-8"))
        self.assertEqual((status, server.seen[-1]["path"]), (0, "/telephony/v1/from-secret/voiceCalls"))
        self.assertEqual([seen["error"] for seen in server.seen], [None] * 4)

    def test_data_from_file_and_standard_input(self):
        server = self.serve(CREATED)
        body_file = write_file(self.folder, "call.json", CALL_JSON)
        for data, stdin in (("@" + body_file, None), ("-", CALL_JSON.encode("ascii"))):
            status, out, err = run_cli("request", "POST", "/voiceCalls", "--data", data, "--endpoint-base",
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
        status, out, err = run_cli("request", "GET", "/voiceCalls/0LQ", "--header", "X-Trace: 42", "--no-jti",
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


if __name__ == "__main__":
    unittest.main()
