"""Every function, its return codes and validation errors (tests/test_api.c)."""

import ctypes
import json
import os
import queue as queue_module
import subprocess
import sys
import unittest

import libsds
from libsds import ReliabilityManager as M
from libsds import _ffi

from .util import Capture, Events, lib, pb_fields


class TestLibrary(unittest.TestCase):
    def test_version(self):
        self.assertEqual(libsds.version(), "0.1.0")
        self.assertEqual(lib().version, lib().SdsVersion().decode())
        lib().SdsFree(None)  # a no-op

    def test_library_by_path_and_env(self):
        path = _ffi.default_library_path()
        self.assertIs(libsds.load_library(path), lib())
        with M(library=path) as m:
            self.assertEqual(m.library.path, path)
        with self.assertRaises(OSError) as cm:
            libsds.load_library("/nonexistent/libsds.so")
        self.assertIn("/nonexistent/libsds.so", str(cm.exception))
        # The environment variable, in a fresh interpreter.
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = "import libsds; print(libsds.load_library().path)"
        env = dict(os.environ, LIBSDS_PATH=path, PYTHONPATH=here)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), path)
        env["LIBSDS_PATH"] = "/nonexistent/x.so"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("/nonexistent/x.so", out.stderr)

    def test_installed_library(self):
        """With no copy in the package and none in the checkout, the
        library is found as the system finds libraries (here through
        LD_LIBRARY_PATH, as for a library installed in a non-system prefix)."""
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = ("import libsds\nfrom libsds import _ffi\n"
                "_ffi.BUNDLED_LIBRARY = '/nonexistent/bundled.so'\n"
                "_ffi.default_library_path = lambda: '/nonexistent/libsds.so'\n"
                "lib = libsds.load_library(); print(lib.path, lib.version)")
        env = dict(os.environ, PYTHONPATH=here, LD_LIBRARY_PATH=os.path.dirname(lib().path))
        env.pop("LIBSDS_PATH", None)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), ["libsds.so.0", lib().version])


class TestCreate(unittest.TestCase):
    def test_nim_constructor(self):
        # SdsNewReliabilityManager: reported through the callback.
        c = Capture()
        ctx = lib().SdsNewReliabilityManager(c.cb, None)
        self.assertTrue(ctx)
        self.assertEqual((c.calls, c.ret, c.msg), (1, _ffi.RET_OK, ""))
        self.assertEqual(ctx & 7, 0)
        c2 = Capture()
        self.assertEqual(lib().SdsCleanupReliabilityManager(ctx, c2.cb, None), _ffi.RET_OK)
        self.assertEqual((c2.calls, c2.ret, c2.msg), (1, _ffi.RET_OK, None))
        self.assertIsNone(lib().SdsNewReliabilityManager(_ffi.SdsCallBack(), None))
        # Through the class: no participant id.
        with M.nim_compatible() as m:
            w = m.wrap("c1", "m1", b"x")
            self.assertEqual(pb_fields(w, 7), [])

    def test_config_keys(self):
        full = {
            "participantId": "alice", "wireFormat": "nim", "logLevel": "debug",
            "bloomFilterCapacity": 5000, "bloomFilterErrorRate": 0.01, "bloomAckThreshold": 1,
            "maxMessageHistory": 500, "maxCausalHistory": 3, "resendIntervalMs": 30000,
            "maxResendAttempts": 2, "syncMessageIntervalMs": 10000, "bufferSweepIntervalMs": 20000,
            "repairTMinMs": 1000, "repairTMaxMs": 20000, "numResponseGroups": 2,
            "maxRepairRequests": 4, "repairSweepIntervalMs": 1000, "maxContentSize": 1000,
            "possiblyAckedResendIntervalMs": 70000, "maxDependencyWaitMs": 1000,
            "onLostDependencies": "drop", "maxIncomingBuffer": 50, "maxPendingRepairs": 10,
            "rememberDelivered": 100, "persistMaxPending": 0, "storePath": "",
            "limits": {"maxMessageBytes": 100000, "maxIdBytes": 64, "maxHintBytes": 128,
                       "maxHistoryEntries": 16, "maxRepairEntries": 8, "maxBloomBytes": 65536},
        }
        with M(full) as m:
            w = m.wrap("c1", "m1", b"x")
            self.assertEqual(pb_fields(w, 7), [b"alice"])
            self.assertLess(len(pb_fields(w, 6)[0]), 10000)  # the smaller filter
            m.wrap("c1", "m2", b"x" * 1000)
            with self.assertRaises(libsds.OperationError):
                m.wrap("c1", "m3", b"x" * 1001)  # maxContentSize
            for i in range(4, 8):
                w = m.wrap("c1", f"m{i}", b"x")
            self.assertEqual(len(pb_fields(w, 3)), 3)  # maxCausalHistory
        # None, "" and the participant_id shortcut.
        for cfg in (None, {}, "", "  {}  "):
            M(cfg).close()
        with M({"wireFormat": "rfc"}, participant_id="bob") as m:
            w = m.wrap("c1", "m1", b"x")
            self.assertEqual(pb_fields(w, 2), [b"m1"])  # RFC: message id is field 2
            self.assertEqual(pb_fields(w, 1), [b"bob"])
            with M() as nim:  # every manager reads both formats
                self.assertEqual(nim.unwrap_json(w), '{"message":[120],"channelId":"c1","missingDeps":[]}')
        with self.assertRaises(ValueError):
            M("{}", participant_id="x")

    def test_config_errors(self):
        cases = [
            ('{"participantID":"x"}', 'invalid config: unknown key "participantID"'),
            ({"bogus": 1}, 'invalid config: unknown key "bogus"'),
            ('{"limits":{"maxIdBytes":1,"more":2}}', 'invalid config: unknown key "limits.more"'),
            ("[1]", "invalid config: not a JSON object"),
            ("{", "invalid config: unexpected EOF"),
            ("{} {}", "invalid config: unexpected data after the JSON object"),
            ({"participantId": 5}, "invalid config: participantId: expected a string, got JSON number"),
            ({"maxCausalHistory": 1.5}, "invalid config: maxCausalHistory: expected an integer, got JSON number 1.5"),
            ({"wireFormat": "json"}, 'invalid config: wireFormat must be "nim" or "rfc", got "json"'),
            ({"bloomFilterErrorRate": 1}, "invalid config: bloomFilterErrorRate must be in (0, 1), got 1"),
            ({"maxCausalHistory": 2000}, "invalid config: maxCausalHistory must be in [0, maxMessageHistory], got 2000"),
            ({"resendIntervalMs": 0}, "invalid config: resendIntervalMs must be positive, got 0s"),
            ({"repairTMinMs": 5000, "repairTMaxMs": 1000},
             "invalid config: need 0 <= repairTMinMs <= repairTMaxMs, got 5s and 1s"),
            ({"onLostDependencies": "keep"}, 'invalid config: onLostDependencies must be "deliver" or "drop", got "keep"'),
            ({"persistMaxPending": -1}, "invalid config: persistMaxPending must not be negative, got -1"),
            ({"storePath": 7}, "invalid config: storePath: expected a string, got JSON number"),
            ({"limits": {"maxIdBytes": 4}, "participantId": "alice"}, "invalid config: participantId longer than 4 bytes"),
        ]
        for cfg, reason in cases:
            with self.subTest(cfg=cfg):
                with self.assertRaises(libsds.ConfigError) as cm:
                    M(cfg)
                self.assertEqual(cm.exception.message, reason)
                self.assertIsInstance(cm.exception, ValueError)
        with self.assertRaises(libsds.CreationError) as cm:
            M({"storePath": "/nonexistent/dir/x.db"})
        self.assertTrue(cm.exception.message.startswith("Failed creating reliability manager"))


class TestInvalidContext(unittest.TestCase):
    def test_closed_manager(self):
        m = M()
        m.wrap("c1", "m0", b"x")
        m.close()
        self.assertTrue(m.closed)
        m.close()  # again: nothing
        for call in (
            lambda: m.wrap("c1", "m1", b"x"),
            lambda: m.wrap_text("c1", "m1", b"x"),
            lambda: m.unwrap(b"x"),
            lambda: m.unwrap_json(b"x"),
            lambda: m.mark_dependencies_met("c1", ["m1"]),
            lambda: m.reset(),
            lambda: m.start_periodic_tasks(),
            lambda: m.wrap_sync("c1"),
            lambda: m.wrap_sync_text("c1"),
            lambda: m.wrap_ephemeral("c1", "e", b"x"),
            lambda: m.wrap_ephemeral_text("c1", "e", b"x"),
        ):
            with self.assertRaises(libsds.InvalidContextError) as cm:
                call()
            self.assertEqual(cm.exception.message, "libsds error: invalid context")
        m.set_event_handler(print)  # ignored by the library
        m.set_retrieval_hint_provider(lambda i: b"")

    def test_bad_pointers(self):
        """Every int function with an invalid context: RET_ERR, no callback."""
        L = lib()
        live = M()
        local = ctypes.c_int()
        for bad in (None, 1, 0x1234, ctypes.addressof(local), live._ctx + 8 * 1000, live._ctx + 1):
            c = Capture()
            ids = (ctypes.c_char_p * 1)(b"m1")
            self.assertEqual(L.SdsCleanupReliabilityManager(bad, c.cb, None), _ffi.RET_ERR)
            self.assertEqual(L.SdsResetReliabilityManager(bad, c.cb, None), _ffi.RET_ERR)
            self.assertEqual(L.SdsWrapOutgoingMessage(bad, b"x", 1, b"m1", b"c1", c.cb, None), _ffi.RET_ERR)
            self.assertEqual(L.SdsUnwrapReceivedMessage(bad, b"x", 1, c.cb, None), _ffi.RET_ERR)
            self.assertEqual(L.SdsMarkDependenciesMet(bad, ids, 1, b"c1", c.cb, None), _ffi.RET_ERR)
            self.assertEqual(L.SdsStartPeriodicTasks(bad, c.cb, None), _ffi.RET_ERR)
            self.assertEqual(L.SdsWrapOutgoingMessage(bad, b"x", 1, b"m1", b"c1", _ffi.SdsCallBack(), None), _ffi.RET_ERR)
            L.SdsSetEventCallback(bad, c.cb, None)
            self.assertEqual(c.calls, 0)
        live.close()


class TestArguments(unittest.TestCase):
    def setUp(self):
        self.m = M()

    def tearDown(self):
        self.m.close()

    def test_missing_callback(self):
        L, ctx = lib(), self.m._ctx
        none = _ffi.SdsCallBack()
        ids = (ctypes.c_char_p * 1)(b"m1")
        self.assertEqual(L.SdsResetReliabilityManager(ctx, none, None), _ffi.RET_MISSING_CALLBACK)
        self.assertEqual(L.SdsWrapOutgoingMessage(ctx, None, 5, None, None, none, None), _ffi.RET_MISSING_CALLBACK)
        self.assertEqual(L.SdsUnwrapReceivedMessage(ctx, None, 5, none, None), _ffi.RET_MISSING_CALLBACK)
        self.assertEqual(L.SdsMarkDependenciesMet(ctx, ids, 1, b"c1", none, None), _ffi.RET_MISSING_CALLBACK)
        self.assertEqual(L.SdsStartPeriodicTasks(ctx, none, None), _ffi.RET_MISSING_CALLBACK)
        self.assertEqual(L.SdsWrapSyncMessage(ctx, b"c", none, None), _ffi.RET_MISSING_CALLBACK)
        self.assertEqual(L.SdsCleanupReliabilityManager(ctx, none, None), _ffi.RET_MISSING_CALLBACK)
        # Nothing happened: the manager is alive and m1 unused.
        self.m.wrap("c1", "m1", b"hello")

    def test_wrap_argument_errors(self):
        for fn in (self.m.wrap, self.m.wrap_text):
            for args, reason in (
                (("c1", None, b"abc"), "libsds error: message ID pointer is NULL"),
                ((None, "m1", b"abc"), "libsds error: channel ID pointer is NULL"),
                (("", "m1", b"abc"), "libsds error: channel ID is empty string"),
            ):
                with self.assertRaises(libsds.ArgumentError) as cm:
                    fn(*args)
                self.assertEqual(cm.exception.message, reason)
        # A NULL message with a length, through the C functions.
        c = Capture()
        self.assertEqual(lib().SdsWrapOutgoingMessage(self.m._ctx, None, 3, None, None, c.cb, None), _ffi.RET_ERR)
        self.assertEqual(c.msg, "libsds error: message pointer is NULL but length > 0")
        # Failures of the operation itself.
        for args in (("c1", "m1", b""), ("c1", "", b"abc")):
            with self.assertRaises(libsds.OperationError) as cm:
                self.m.wrap_text(*args)
            self.assertTrue(cm.exception.message.startswith("error processing WRAP_MESSAGE request: "))
            self.assertEqual(cm.exception.code, _ffi.RET_OK)
        self.m.wrap("c1", "m1", b"abc")
        for fn in (self.m.wrap, self.m.wrap_text):
            with self.assertRaises(libsds.OperationError) as cm:
                fn("c1", "m1", b"abc")
            self.assertIn("already used", cm.exception.message)
        with self.assertRaises(libsds.OperationError):
            self.m.wrap("c1", "m2", bytes((1 << 20) + 1))

    def test_binary_output_pointers(self):
        L, ctx = lib(), self.m._ctx
        err = ctypes.c_void_p()
        n = ctypes.c_size_t()
        self.assertEqual(L.SdsWrapOutgoingMessageBinary(ctx, b"x", 1, b"m", b"c", None, ctypes.byref(n), ctypes.byref(err)), _ffi.RET_ERR)
        self.assertEqual(ctypes.string_at(err.value), b"libsds error: output pointer is NULL")
        L.SdsFree(err)
        self.assertEqual(L.SdsUnwrapReceivedMessageBinary(ctx, b"x", 1, None, None), _ffi.RET_ERR)

    def test_unwrap_errors(self):
        c = Capture()
        self.assertEqual(lib().SdsUnwrapReceivedMessage(self.m._ctx, None, 1, c.cb, None), _ffi.RET_ERR)
        self.assertEqual(c.msg, "libsds error: message pointer is NULL but length > 0")
        for wire in (b"", b"garbage!", bytes([0x0A, 0x05, ord("m")])):
            with self.assertRaises(libsds.OperationError) as cm:
                self.m.unwrap_json(wire)
            self.assertTrue(cm.exception.message.startswith("error processing UNWRAP_MESSAGE request: "))
            with self.assertRaises(libsds.OperationError) as cm:
                self.m.unwrap(wire)
            self.assertTrue(cm.exception.message.startswith("error processing UNWRAP_MESSAGE request: "))

    def test_mark_dependencies_errors(self):
        c = Capture()
        self.assertEqual(lib().SdsMarkDependenciesMet(self.m._ctx, None, 2, b"c1", c.cb, None), _ffi.RET_ERR)
        self.assertEqual(c.msg, "libsds error: MessageIDs pointer is NULL but count > 0")
        for args, reason in (
            ((None, ["m1"]), "libsds error: channel ID pointer is NULL"),
            (("", ["m1"]), "libsds error: channel ID is empty string"),
            (("c1", ["m1", None]), "libsds error: a message ID pointer in MessageIDs is NULL"),
        ):
            with self.assertRaises(libsds.ArgumentError) as cm:
                self.m.mark_dependencies_met(*args)
            self.assertEqual(cm.exception.message, reason)
        for ids in (["m1"], []):
            with self.assertRaises(libsds.OperationError) as cm:
                self.m.mark_dependencies_met("nope", ids)
            self.assertTrue(cm.exception.message.startswith("error processing MARK_DEPENDENCIES_MET request: "))
        self.m.wrap("c1", "m0", b"x")
        self.m.mark_dependencies_met("c1", ["m1"])
        self.m.mark_dependencies_met("c1", [])


class TestTypes(unittest.TestCase):
    """Arguments of the wrong type fail at the call, with TypeError, and
    change nothing."""

    def test_event_handler(self):
        for bad in ("oops", 42, object()):
            with self.assertRaises(TypeError):
                M(on_event=bad)
            with M() as m, self.assertRaises(TypeError):
                m.set_event_handler(bad)
        with self.assertRaises(TypeError), M() as m:
            m.set_retrieval_hint_provider("hint")
        with M(on_event=Events()) as m:  # a callable, or a queue, still do
            m.set_event_handler(queue_module.Queue())
            m.set_event_handler(None)

    def test_mark_dependencies_met_swapped(self):
        with M() as m:
            m.wrap("c1", "m0", b"x")
            with self.assertRaises(TypeError):
                m.mark_dependencies_met(["m1"], "c1")
            with self.assertRaises(TypeError):
                m.mark_dependencies_met("c1", "m1")  # a str is not a list of ids
            with self.assertRaises(TypeError):
                m.mark_dependencies_met("c1", [1])
            m.mark_dependencies_met("c1", ["m1"])

    def test_contents_and_ids(self):
        with M() as m:
            for content in ("text", 3, None, ["a"]):
                with self.assertRaises(TypeError):
                    m.wrap("c1", "m1", content)
                with self.assertRaises(TypeError):
                    m.wrap_text("c1", "m1", content)
            with self.assertRaises(TypeError):
                m.wrap("c1", 7, b"x")
            with self.assertRaises(TypeError):
                m.wrap(["c1"], "m1", b"x")
            with self.assertRaises(TypeError):
                m.unwrap("not bytes")
            with self.assertRaises(TypeError):
                m.unwrap(12)
            m.wrap("c1", "m1", b"x")  # m1 was not used by the failed calls


class TestNullCallback(unittest.TestCase):
    """A constructor given no callback returns NULL; the reason goes to
    stderr until the host sets a log callback (include/libsds.h, "Logging")."""

    def run_fresh(self, code):
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=here, LIBSDS_PATH=lib().path)
        prelude = "import ctypes, libsds; L = libsds.load_library(); N = libsds._ffi.SdsCallBack()\n"
        return subprocess.run([sys.executable, "-c", prelude + code], env=env, capture_output=True, text=True,
                              check=True, timeout=60)

    def test_logged_to_stderr(self):
        out = self.run_fresh("print(L.SdsNewReliabilityManager(N, None))")
        self.assertEqual(out.stdout.strip(), "None")
        lines = out.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, out.stderr)
        line = json.loads(lines[0])
        self.assertEqual((line["level"], line["function"]), ("error", "SdsNewReliabilityManager"))
        self.assertIn("callback is NULL", line["message"])

    def test_silenced_by_log_callback(self):
        out = self.run_fresh("L.SdsSetLogCallback(libsds._ffi.SdsLogCallback(), None)\n"
                             "print(L.SdsNewReliabilityManagerWithConfig(b'{}', N, None))")
        self.assertEqual((out.stdout.strip(), out.stderr), ("None", ""))


class TestMissingDependencySender(unittest.TestCase):
    def test_same_in_result_text_and_event(self):
        ev = Events()
        with M(participant_id="alice") as a, M(on_event=ev) as b, M() as t:
            a.wrap("c", "m1", b"one")
            w2 = a.wrap("c", "m2", b"two")
            r = b.unwrap(w2)
            want = (libsds.HistoryEntry("m1", b"", "alice"),)
            self.assertEqual(r.missing_deps, want)
            self.assertEqual(ev.of("missing_dependencies")[0].missing_deps, want)
            self.assertEqual(json.loads(t.unwrap_json(w2))["missingDeps"],
                             [{"messageId": "m1", "retrievalHint": "", "senderId": "alice"}])


class TestOperations(unittest.TestCase):
    def test_reset(self):
        with M() as m:
            m.wrap("c1", "m1", b"x")
            m.reset()
            with self.assertRaises(libsds.OperationError):
                m.mark_dependencies_met("c1", ["m1"])
            m.wrap("c1", "m1", b"x")  # the id is free again
            m.start_periodic_tasks()
            m.start_periodic_tasks()  # again: nothing

    def test_wrap_text_format(self):
        with M() as m:
            text = m.wrap_text("chan-1", "msg-1", b"hello")
            self.assertRegex(text, r"^(0|[1-9][0-9]*)(,(0|[1-9][0-9]*))*$")
            wire = libsds.parse_wire_text(text)
            self.assertEqual(",".join(str(b) for b in wire), text)
            self.assertEqual(pb_fields(wire, 1), [b"msg-1"])
            self.assertEqual(pb_fields(wire, 4), [b"chan-1"])
            self.assertEqual(pb_fields(wire, 5), [b"hello"])
            self.assertLess(len(pb_fields(wire, 6)[0]), 200)  # the default filter: the window's (test_bloom.py)
            self.assertEqual(pb_fields(wire, 3), [])  # first message: no history
            # The second names the first; the binary path gives the same shape.
            w2 = m.wrap("chan-1", "msg-2", b"again")
            self.assertEqual(pb_fields(pb_fields(w2, 3)[0], 1), [b"msg-1"])

    def test_unwrap_json_format(self):
        with M() as a, M() as b:
            w = a.wrap("c1", "m1", b"hi")
            want = '{"message":[104,105],"channelId":"c1","missingDeps":[]}'
            self.assertEqual(b.unwrap_json(w), want)
            self.assertEqual(b.unwrap_json(w), want)  # a duplicate: the content again
            content = bytes(range(1, 256))
            w = a.wrap("c1", "m2", content)
            got = json.loads(b.unwrap_json(w))
            self.assertEqual(got, {"message": list(content), "channelId": "c1", "missingDeps": []})
            r = b.unwrap(a.wrap("c1", "m3", content))
            self.assertEqual(r.content, content)
            self.assertEqual((r.delivered, r.duplicate, r.kind), (True, False, libsds.MessageKind.REGULAR))

    def test_log_handler(self):
        lines = []
        libsds.set_log_handler(lambda level, line: lines.append((level, line)))
        try:
            lib().SdsSetEventCallback(0x1234, _ffi.SdsCallBack(), None)  # logged at warn
            self.assertEqual(len(lines), 1)
            level, line = lines[0]
            self.assertEqual(level, libsds.SDS_LOG_WARN)
            record = json.loads(line)
            self.assertEqual(record["level"], "warn")
            self.assertIn("invalid context", record["message"])
        finally:
            libsds.set_log_handler(None)
        lib().SdsSetEventCallback(0x1234, _ffi.SdsCallBack(), None)
        self.assertEqual(len(lines), 1)


if __name__ == "__main__":
    unittest.main()
