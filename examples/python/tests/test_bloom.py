"""The bloom filter a message carries (include/libsds.h, "fullBloomFilter"
and "ackWindowMs"): by default the acknowledgement window's, sized for its
ids; Nim's whole 18.8 KB filter with fullBloomFilter."""

import time
import unittest

import libsds
from libsds import ReliabilityManager as M

from .util import Events, pb_fields

LINE = b"a chat line of forty bytes, or about it"


class TestBloomFilter(unittest.TestCase):
    def exchange(self, a, b, n):
        for i in range(n):
            b.unwrap(a.wrap("room", f"a-{i}", LINE))
            a.unwrap(b.wrap("room", f"b-{i}", LINE))

    def test_compact_by_default(self):
        with M(participant_id="alice") as a, M(participant_id="bob") as b:
            self.exchange(a, b, 100)
            w = a.wrap("room", "a-next", LINE)
            self.assertLessEqual(len(w), 2000)
        with M({"fullBloomFilter": True}, participant_id="alice") as a, \
                M({"fullBloomFilter": True}, participant_id="bob") as b:
            self.exchange(a, b, 100)
            w = a.wrap("room", "a-next", LINE)
            self.assertGreater(len(pb_fields(w, 6)[0]), 18000)  # Nim's filter

    def test_filter_only_acknowledgement(self):
        ev = Events()
        with M(participant_id="alice", on_event=ev) as a, \
                M({"maxCausalHistory": 0}, participant_id="bob") as b:
            b.unwrap(a.wrap("room", "a-1", LINE))
            w = b.wrap("room", "b-1", LINE)
            self.assertEqual(pb_fields(w, 3), [])  # no causal history: the filter alone
            a.unwrap(w)
            self.assertEqual([e.message_id for e in ev.of("message_sent")], ["a-1"])

    def test_ack_window(self):
        with M({"ackWindowMs": 1}) as a, M() as b:
            for i in range(300):
                a.unwrap(b.wrap("room", f"b-{i}", LINE))
            time.sleep(0.005)  # the ids left the one-millisecond window
            small = len(pb_fields(a.wrap("room", "a-1", LINE), 6)[0])
        with M() as a, M() as b:
            for i in range(300):
                a.unwrap(b.wrap("room", f"b-{i}", LINE))
            held = len(pb_fields(a.wrap("room", "a-1", LINE), 6)[0])
        self.assertLess(small, 100)
        self.assertGreater(held, 500)  # 300 ids at 0.1%

    def test_config_errors(self):
        for cfg, reason in [
            ({"ackWindowMs": -5}, "invalid config: ackWindowMs must not be negative, got -5ms"),
            ({"fullBloomFilter": "yes"}, "invalid config: fullBloomFilter: expected true or false, got JSON string"),
        ]:
            with self.subTest(cfg=cfg):
                with self.assertRaises(libsds.ConfigError) as cm:
                    M(cfg)
                self.assertEqual(cm.exception.message, reason)


if __name__ == "__main__":
    unittest.main()
