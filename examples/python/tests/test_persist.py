"""Persistence: a backend in Python on sqlite3, through the SdsPersistence
function pointers, and the embedded store ("storePath")
(tests/test_persist.c)."""

import os
import tempfile
import unittest

import libsds
from libsds import ReliabilityManager as M
from libsds import SqlitePersistence


def seen_by_fresh(m, mid):
    """Wraps mid on c1 and unwraps it on a fresh manager: its missing
    dependencies are the causal history m sent."""
    w = m.wrap("c1", mid, b"x")
    with M() as fresh:
        return {d.message_id: d.retrieval_hint for d in fresh.unwrap(w).missing_deps}


class Flaky(SqlitePersistence):
    fail_save = fail_load = False
    saves = loads = 0

    def save_channel_meta(self, channel, puts, deletes):
        self.saves += 1
        if self.fail_save:
            raise IOError("disk full")
        super().save_channel_meta(channel, puts, deletes)

    def load_channel(self, channel, loader):
        self.loads += 1
        if self.fail_load:
            raise IOError("unreadable")
        super().load_channel(channel, loader)


class TestCloseReportsLoss(unittest.TestCase):
    """State that could not be written by the time the manager closes is
    lost: close() raises, and the manager is closed all the same."""

    def test_close_raises(self):
        with tempfile.TemporaryDirectory() as d:
            store = Flaky(os.path.join(d, "sds.sqlite"))
            m = M(participant_id="alice", persistence=store)
            m.wrap("c1", "m1", b"one")
            store.fail_save = True
            m.wrap("c1", "m2", b"two")  # its save waits for a retry
            with self.assertRaises(libsds.OperationError) as cm:
                m.close()
            self.assertTrue(cm.exception.message.startswith("error cleaning up reliability manager: "))
            self.assertIn("writes lost", cm.exception.message)
            self.assertTrue(m.closed)
            m.close()  # closing again does nothing
            store.close()


class TestSqlitePersistence(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "sds.sqlite")

    def tearDown(self):
        self.dir.cleanup()

    def test_survives_restart(self):
        store = Flaky(self.path)
        with M(participant_id="alice", persistence=store) as a:
            a.set_retrieval_hint_provider(lambda mid: "hash-" + mid)
            a.wrap("c1", "m1", b"one")
            w2 = a.wrap("c1", "m2", b"two")
            self.assertTrue(a.unwrap(w2).duplicate)  # our own message: nothing changes
            self.assertGreater(store.saves, 0)
            self.assertGreater(store.count("records", b"c1"), 0)
            self.assertEqual(store.count("history", b"c1"), 2)
        store.close()

        # A new manager over a new connection to the same file resumes c1:
        # its next message names m1 and m2, with m1's hint.
        store = Flaky(self.path)
        with M(participant_id="alice", persistence=store) as b:
            deps = seen_by_fresh(b, "m3")
            self.assertEqual(store.loads, 1)
            self.assertEqual(set(deps), {"m1", "m2"})
            self.assertEqual(deps["m1"], b"hash-m1")  # the hint survived too
            self.assertEqual(store.count("history", b"c1"), 3)
            # m1 is still known: wrapping it again fails.
            with self.assertRaises(libsds.OperationError) as cm:
                b.wrap("c1", "m1", b"y")
            self.assertIn("already used", cm.exception.message)
            # Reset drops the channel from the store.
            b.reset()
            self.assertEqual(store.count("history", b"c1"), 0)
            self.assertEqual(store.count("records", b"c1"), 0)
        store.close()

    def test_received_messages_survive(self):
        with SqlitePersistence(self.path) as store, M() as a:
            with M(participant_id="bob", persistence=store) as b:
                w1 = a.wrap("c1", "m1", b"one")
                b.unwrap(w1)
            with M(participant_id="bob", persistence=store) as b:
                self.assertTrue(b.unwrap(w1).duplicate)  # remembered
                r = b.unwrap(a.wrap("c1", "m2", b"two"))
                self.assertTrue(r.delivered)  # m1 counts as delivered
                self.assertEqual(r.missing_deps, ())

    def test_failures(self):
        store = Flaky(self.path)
        with M(persistence=store) as a:
            # A failing save does not fail the wrap; it is retried later.
            store.fail_save = True
            with self.assertLogs("libsds", "ERROR"):
                a.wrap("c1", "m1", b"one")
            self.assertGreater(store.saves, 0)
            self.assertEqual(store.count("records", b"c1"), 0)
            store.fail_save = False
            a.wrap("c1", "m2", b"two")
            self.assertGreater(store.count("records", b"c1"), 0)
            # A failing load fails the operation that needs the channel.
            store.fail_load = True
            with self.assertLogs("libsds", "ERROR"), self.assertRaises(libsds.OperationError) as cm:
                a.wrap("c2", "m1", b"z")
            self.assertIn("loadChannel", cm.exception.message)
            store.fail_load = False
            a.wrap("c2", "m1", b"z")
        store.close()

    def test_unimplemented_backend_fails_loads(self):
        with M(persistence=libsds.Persistence()) as a:
            with self.assertLogs("libsds", "ERROR"), self.assertRaises(libsds.OperationError):
                a.wrap("c1", "m1", b"x")

    def test_invalid(self):
        with SqlitePersistence(":memory:") as store:
            with self.assertRaises(libsds.ConfigError) as cm:
                M({"storePath": os.path.join(self.dir.name, "x")}, persistence=store)
            self.assertIn("storePath", cm.exception.message)
            with self.assertRaises(libsds.ConfigError) as cm:
                M({"maxCausalHistory": -1}, persistence=store)
            self.assertIn("maxCausalHistory", cm.exception.message)
        # A loader outside loadChannel is refused.
        loader = libsds.Loader(libsds.load_library(), None)
        with self.assertRaises(libsds.SdsError):
            loader.add_record(b"k", b"v")
        with self.assertRaises(libsds.SdsError):
            libsds.Loader(libsds.load_library(), 8).add_history(b"v")

    def test_store_path(self):
        cfg = {"storePath": os.path.join(self.dir.name, "embedded.db"), "persistMaxPending": 10}
        with M(cfg) as a:
            a.wrap("c1", "m1", b"one")
        with M(cfg) as b:
            self.assertIn("m1", seen_by_fresh(b, "m2"))
        with self.assertRaises(libsds.CreationError) as cm:
            M({"storePath": "/nonexistent/dir/x.db"})
        self.assertIn("Failed creating reliability manager", cm.exception.message)


if __name__ == "__main__":
    unittest.main()
