"""ReliabilityManager.stats(): SdsGetStats as dataclasses (tests/test_stats.c
moves every counter through the C ABI; here, the Python view of them)."""

import dataclasses
import json
import unittest

import libsds
from libsds import ReliabilityManager as M

from .util import Capture, lib, pb_fields


def bloom_field_bytes(wire):
    """The bloom_filter field (Nim format: field 6) as the library counts
    it: tag, length and filter; 0 when absent or empty."""
    f = [v for v in pb_fields(wire, 6) if v]
    if not f:
        return 0
    n = len(f[0])
    return 1 + (1 if n < 128 else 2 if n < 16384 else 3) + n


class TestStats(unittest.TestCase):
    def test_fields_are_the_library_keys(self):
        with M(participant_id="alice") as a:
            a.wrap("room", "a1", b"x")
            c = Capture()
            lib().SdsGetStats(a._h(), c.cb, None)
            raw = json.loads(c.msg)
        self.assertEqual(c.ret, libsds.RET_OK)

        def keys(cls):
            return {f.name.replace("_", "") for f in dataclasses.fields(cls)}

        def raw_keys(d):
            return {k.lower() for k in d}

        self.assertEqual(raw_keys(raw["counters"]), keys(libsds.Counters))
        self.assertEqual(raw_keys(raw["gauges"]), keys(libsds.Gauges))
        self.assertEqual(raw_keys(raw["incomingWait"]), keys(libsds.Histogram))
        self.assertEqual(raw_keys(raw["perChannel"][0]), keys(libsds.ChannelStats))
        self.assertEqual(raw_keys(raw), keys(libsds.Stats))

    def test_exchange(self):
        with M(participant_id="alice") as a, M({"maxCausalHistory": 1}, participant_id="bob") as b:
            w1, w2 = a.wrap("room", "a1", b"one"), a.wrap("room", "a2", b"two")
            for w in (w1, w2, w1):  # the second w1 is a duplicate
                b.unwrap(w)
            with self.assertRaises(libsds.OperationError):
                b.unwrap(b"junk")
            # bob's message names a2 and carries a1 in its bloom filter.
            wb = b.wrap("room", "b1", b"three")
            a.unwrap(wb)
            sa, sb = a.stats(), b.stats()

        self.assertIsInstance(sa, libsds.Stats)
        c = sa.counters
        self.assertEqual((c.wrapped_content, c.received_content, c.delivered), (2, 1, 1))
        self.assertEqual((c.acknowledged_by_history, c.acknowledged_by_bloom), (1, 1))
        self.assertEqual(c.bytes_sent, len(w1) + len(w2))
        self.assertEqual(c.bloom_bytes_sent, bloom_field_bytes(w1) + bloom_field_bytes(w2))
        self.assertEqual(c.bytes_received, len(wb))
        self.assertEqual(c.bloom_bytes_received, bloom_field_bytes(wb))
        self.assertEqual((sa.gauges.outgoing, sa.gauges.log_entries), (0, 3))
        c = sb.counters
        self.assertEqual((c.received_content, c.delivered, c.duplicates, c.unwrap_errors), (3, 2, 1, 1))
        self.assertEqual(c.bytes_received, 2 * len(w1) + len(w2))
        self.assertEqual(sb.gauges.outgoing, 1)
        self.assertEqual(sb.counters.failed, 0)

        # The channel's own figures; unwrap errors belong to no channel.
        self.assertEqual((sb.channels, sb.persistence_enabled), (1, False))
        room = sb.channel("room")
        self.assertEqual(room.channel_id, "room")
        self.assertEqual(room.counters.duplicates, 1)
        self.assertEqual(room.counters.unwrap_errors, 0)
        self.assertEqual(room.gauges, sb.gauges)
        with self.assertRaises(KeyError):
            sb.channel("elsewhere")

    def test_incoming_wait(self):
        with M() as a, M() as b:
            w1 = a.wrap("room", "a1", b"one")
            r = b.unwrap(a.wrap("room", "a2", b"two"))
            self.assertEqual([d.message_id for d in r.missing_deps], ["a1"])
            waiting = b.stats()
            b.unwrap(w1)
            h = b.stats().incoming_wait
        self.assertEqual(waiting.gauges.incoming, 1)
        self.assertGreater(waiting.gauges.incoming_bytes, 0)
        self.assertEqual(waiting.counters.missing_dependency_reports, 1)
        self.assertEqual(h.buckets_seconds[0], 0.01)
        self.assertEqual(len(h.counts), len(h.buckets_seconds) + 1)
        self.assertEqual((h.count, sum(h.counts)), (1, 1))
        self.assertGreaterEqual(h.sum_seconds, 0)

    def test_closed(self):
        a = M()
        a.close()
        with self.assertRaises(libsds.InvalidContextError):
            a.stats()


if __name__ == "__main__":
    unittest.main()
