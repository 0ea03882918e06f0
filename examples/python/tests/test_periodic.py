"""The time-driven work: periodic_sync, resend and failure, an SDS-R
repair between three participants (tests/test_periodic.c). Events come
from the library's own thread; the intervals are tens of milliseconds."""

import threading
import time
import unittest

import libsds
from libsds import EventType
from libsds import ReliabilityManager as M

from .util import Events, pb_fields, wait_for


class TestPeriodic(unittest.TestCase):
    def test_periodic_sync(self):
        ev = Events()
        a = M({"syncMessageIntervalMs": 20}, on_event=ev)
        a.start_periodic_tasks()
        # One at once, as Nim, then every 20 ms.
        self.assertTrue(wait_for(lambda: ev.count("periodic_sync") >= 3))
        self.assertEqual(ev.raw()[0], '{"eventType":"periodic_sync"}')
        self.assertNotIn(threading.get_ident(), ev.threads)  # the library's thread
        a.start_periodic_tasks()  # again: nothing changes
        # Closing stops them: no event after close returned.
        a.close()
        n = len(ev.events)
        time.sleep(0.06)
        self.assertEqual(len(ev.events), n)

    def test_resend_and_failure(self):
        ev = Events()
        cfg = {"resendIntervalMs": 20, "possiblyAckedResendIntervalMs": 20, "maxResendAttempts": 2,
               "bufferSweepIntervalMs": 5}
        with M(cfg, on_event=ev) as a:
            a.wrap("c", "m1", b"hello")
            a.start_periodic_tasks()
            self.assertTrue(wait_for(lambda: ev.count("message_failed") == 1))
            resends = ev.of(EventType.MESSAGE_RESEND)
            self.assertEqual([e.attempt for e in resends], [1, 2])
            for e in resends:
                self.assertEqual((e.message_id, e.channel_id), ("m1", "c"))
                # The bytes to broadcast again: our m1, as a peer can unwrap it.
                self.assertEqual(pb_fields(e.message, 1), [b"m1"])
                self.assertEqual(pb_fields(e.message, 5), [b"hello"])
            self.assertEqual(
                ev.of("message_failed")[0].raw, b'{"eventType":"message_failed","messageId":"m1","channelId":"c"}'
            )
            with M() as peer:
                self.assertEqual(peer.unwrap(resends[0].message).content, b"hello")

    def test_repair_ready(self):
        """With the RFC's rules: b misses m1 and asks for it; c, which has
        m1, answers with repair_ready carrying m1's wire bytes, which b can
        unwrap."""
        cfg = {"repairTMinMs": 200, "repairTMaxMs": 200, "repairSweepIntervalMs": 5, "repairPolicy": "rfc"}
        eb, ec = Events(), Events()
        with M(cfg, participant_id="alice") as a, M(cfg, participant_id="bob", on_event=eb) as b, \
                M(cfg, participant_id="carol", on_event=ec) as c:
            m1 = a.wrap("room", "m1", b"one")
            m2 = a.wrap("room", "m2", b"two")
            c.unwrap(m1)
            c.unwrap(m2)
            b.unwrap(m2)  # b misses m1
            self.assertEqual(eb.count("missing_dependencies"), 1)
            # T_req is exactly 200 ms when tMin == tMax; the request stays
            # valid for 200 ms more: poll with sync messages until one
            # carries it.
            req = None
            end = time.monotonic() + 5
            while req is None and time.monotonic() < end:
                s = b.wrap_sync("room")
                if pb_fields(s, 13):
                    req = s
                time.sleep(0.01)
            self.assertIsNotNone(req, "bob's repair request never fell due")
            self.assertEqual(pb_fields(pb_fields(req, 13)[0], 1), [b"m1"])
            c.start_periodic_tasks()
            c.unwrap(req)
            self.assertTrue(wait_for(lambda: ec.count("repair_ready") >= 1))
            e = ec.of(EventType.REPAIR_READY)[0]
            self.assertTrue(e.raw.startswith(b'{"eventType":"repair_ready","channelId":"room","message":"'))
            self.assertEqual(pb_fields(e.message, 1), [b"m1"])
            self.assertEqual(pb_fields(e.message, 5), [b"one"])
            b.unwrap(e.message)
            self.assertEqual([x.message_id for x in eb.of("message_ready")], ["m1", "m2"])

    def test_repair_request(self):
        """With the default rules: b misses m1 and, sending nothing, is
        handed a sync message carrying the request (repair_request) when
        T_req comes; a, m1's sender, answers it at once."""
        cfg = {"repairTMinMs": 100, "repairTMaxMs": 100}
        ea, eb = Events(), Events()
        with M(cfg, participant_id="alice", on_event=ea) as a, M(cfg, participant_id="bob", on_event=eb) as b:
            a.wrap("room", "m1", b"one")
            b.unwrap(a.wrap("room", "m2", b"two"))  # b misses m1
            b.start_periodic_tasks()
            self.assertTrue(wait_for(lambda: eb.count("repair_request") >= 1))
            e = eb.of(EventType.REPAIR_REQUEST)[0]
            self.assertEqual((e.channel_id, e.requested), ("room", ("m1",)))
            self.assertTrue(e.raw.startswith(b'{"eventType":"repair_request","messageId":"sync-'))
            self.assertEqual(pb_fields(e.message, 1), [e.message_id.encode()])
            self.assertEqual(pb_fields(pb_fields(e.message, 13)[0], 1), [b"m1"])
            a.start_periodic_tasks()
            a.unwrap(e.message)
            self.assertTrue(wait_for(lambda: ea.count("repair_ready") >= 1))
            b.unwrap(ea.of(EventType.REPAIR_READY)[0].message)
            self.assertEqual([x.message_id for x in eb.of("message_ready")], ["m1", "m2"])


if __name__ == "__main__":
    unittest.main()
