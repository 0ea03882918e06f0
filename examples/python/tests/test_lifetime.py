"""Callbacks calling back into the library, closing from inside a
callback, many create/close cycles, garbage collection, fork()
(tests/test_lifetime.c)."""

import ctypes
import gc
import os
import subprocess
import sys
import threading
import unittest

import libsds
from libsds import ReliabilityManager as M

from .util import Capture, Events, lib, wait_for


class TestReentrancy(unittest.TestCase):
    def test_handler_calls_back_in(self):
        """On message_ready, b replies from inside its handler and feeds
        the reply to a; later b closes itself from inside its handler."""
        ea = Events()
        with M(on_event=ea) as a:
            b = M()
            state = {"replies": 0, "close": False}

            def on_b(event):
                if event.type != "message_ready":
                    return
                state["replies"] += 1
                reply = b.wrap("c", "reply-%d" % state["replies"], b"re")
                a.unwrap(reply)
                if state["close"]:
                    b.close()

            b.set_event_handler(on_b)
            r = b.unwrap(a.wrap("c", "m1", b"hi"))
            self.assertTrue(r.delivered)
            self.assertEqual(state["replies"], 1)
            self.assertEqual([e.message_id for e in ea.of("message_ready")], ["reply-1"])
            self.assertEqual([e.message_id for e in ea.of("message_sent")], ["m1"])

            state["close"] = True
            r = b.unwrap(a.wrap("c", "m2", b"again"))  # completes normally
            self.assertTrue(r.delivered)
            self.assertEqual(state["replies"], 2)
            self.assertTrue(b.closed)
            with self.assertRaises(libsds.InvalidContextError):
                b.unwrap(a.wrap("c", "m3", b"late"))
            self.assertEqual(list(b.handler_errors), [])

    def test_provider_calls_back_in(self):
        with M() as a:
            def provider(mid):
                # A wrap on the same manager, from inside its own provider
                # (which asks the provider about the channel "elsewhere").
                if not mid.startswith("from-hint-"):
                    a.wrap("elsewhere", "from-hint-" + mid, b"h")
                return mid

            a.set_retrieval_hint_provider(provider)
            a.wrap("c", "m1", b"x")
            w = a.wrap("c", "m2", b"x")
            with M() as b:
                self.assertEqual(b.unwrap(w).missing_deps[0].retrieval_hint, b"m1")
            with self.assertRaises(libsds.OperationError):
                a.wrap("elsewhere", "from-hint-m1", b"h")  # it happened

    def test_periodic_handler_calls_back_in(self):
        """On the library's thread: answer periodic_sync with a sync
        message, as an application would."""
        syncs = []
        with M({"syncMessageIntervalMs": 10}) as a:
            a.wrap("c", "m1", b"x")

            def on_a(event):
                if event.type == "periodic_sync":
                    syncs.append(a.wrap_sync("c"))

            a.set_event_handler(on_a)
            a.start_periodic_tasks()
            self.assertTrue(wait_for(lambda: len(syncs) >= 3))
        with M() as b:
            self.assertEqual(b.unwrap(syncs[0]).kind, libsds.MessageKind.SYNC)


    def test_close_from_the_periodic_thread(self):
        closed = []
        m = M({"syncMessageIntervalMs": 10})

        def on_event(event):
            if event.type == "periodic_sync" and not closed:
                m.close()  # from the library's own thread, inside its callback
                closed.append(threading.get_ident())

        m.set_event_handler(on_event)
        m.start_periodic_tasks()
        self.assertTrue(wait_for(lambda: closed))
        self.assertNotEqual(closed[0], threading.get_ident())
        self.assertTrue(m.closed)
        with self.assertRaises(libsds.InvalidContextError):
            m.wrap("c", "m1", b"x")


class TestRawBuffers(unittest.TestCase):
    def test_sds_go_bindings_access_pattern(self):
        """Through the raw functions: keep the msg pointer in the callback
        and read it after the call returned, after more calls on another
        manager (what sds-go-bindings does)."""
        L = lib()
        kept = {}

        def keep(ret, msg, length, ud):
            kept["ret"], kept["msg"], kept["len"] = ret, msg, length

        cb = libsds._ffi.SdsCallBack(keep)
        with M() as a, M() as b:
            self.assertEqual(L.SdsWrapOutgoingMessage(a._ctx, b"hi", 2, b"m1", b"c1", cb, None), libsds.RET_OK)
            wire = libsds.parse_wire_text(ctypes.string_at(kept["msg"], kept["len"]).decode())
            self.assertEqual(L.SdsUnwrapReceivedMessage(b._ctx, wire, len(wire), cb, None), libsds.RET_OK)
            ptr, n = kept["msg"], kept["len"]
            for i in range(40):
                a.wrap_text("c1", "x%d" % i, b"x")
            self.assertEqual(ctypes.string_at(ptr, n), b'{"message":[104,105],"channelId":"c1","missingDeps":[]}')
            self.assertEqual(ctypes.string_at(ptr, n + 1)[-1:], b"\0")  # NUL-terminated


class TestLifetime(unittest.TestCase):
    def test_create_close_cycles(self):
        prev = None
        for i in range(1000):
            ev = Events()
            with M(on_event=ev) as a:
                self.assertNotEqual(a._ctx, prev)
                w = a.wrap("c", "m", b"payload")
                self.assertTrue(a.unwrap(w).duplicate)  # our own message comes back
                a.set_retrieval_hint_provider(lambda mid: b"h")
                prev = a._ctx

    def test_garbage_collected_managers_are_cleaned_up(self):
        m = M()
        ctx = m._ctx
        del m
        gc.collect()
        c = Capture()
        self.assertEqual(lib().SdsResetReliabilityManager(ctx, c.cb, None), libsds.RET_ERR)
        self.assertEqual(c.calls, 0)
        # A manager whose handler refers to it (a cycle) too.
        m = M()
        m.set_event_handler(lambda e: m.wrap("c", "x", b"y"))
        ctx = m._ctx
        del m
        gc.collect()
        self.assertEqual(lib().SdsResetReliabilityManager(ctx, c.cb, None), libsds.RET_ERR)

    def test_exit_with_periodic_tasks_running(self):
        """An interpreter that exits with managers open and the library's
        thread calling Python closes them first (atexit)."""
        code = (
            "import libsds, time\n"
            "ms = [libsds.ReliabilityManager({'syncMessageIntervalMs': 1}, on_event=lambda e: None)"
            " for _ in range(4)]\n"
            "for m in ms: m.start_periodic_tasks()\n"
            "time.sleep(0.05)\n"
            "print('bye')\n"
        )
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=here)
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual((out.returncode, out.stdout, out.stderr), (0, "bye\n", ""))

    def test_context_manager_closes_on_error(self):
        with self.assertRaises(KeyError):
            with M() as m:
                raise KeyError("x")
        self.assertTrue(m.closed)

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork()")
    def test_fork_without_exec_is_refused(self):
        m = M()
        m.wrap("c", "m1", b"x")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: every use must raise ForkError
            code = 0
            for call in (lambda: m.wrap("c", "m2", b"x"), lambda: M(), lambda: libsds.set_log_handler(None)):
                try:
                    call()
                    code |= 1
                except libsds.ForkError:
                    pass
                except BaseException:
                    code |= 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        m.wrap("c", "m2", b"x")  # the parent is unaffected
        m.close()


if __name__ == "__main__":
    unittest.main()
