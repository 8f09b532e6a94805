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


if __name__ == "__main__":
    unittest.main()
