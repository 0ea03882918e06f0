"""Event JSON, byte for byte; handlers and queues; retrieval hints;
mark-dependencies-met (tests/test_events.c)."""

import base64
import queue
import threading
import unittest

import libsds
from libsds import EventType
from libsds import ReliabilityManager as M

from .util import Events


def ready(mid, ch):
    return '{"messageId":"%s","channelId":"%s","eventType":"message_ready"}' % (mid, ch)


def sent(mid, ch):
    return '{"messageId":"%s","channelId":"%s","eventType":"message_sent"}' % (mid, ch)


class TestEvents(unittest.TestCase):
    def test_events_exact(self):
        ea, eb = Events(), Events()
        with M(on_event=ea) as a, M(on_event=eb) as b:
            w1 = a.wrap("room", "a1", b"one")
            w2 = a.wrap("room", "a2", b"two")
            self.assertEqual(ea.raw(), [])  # wrapping raises nothing

            # b gets a2 first: a1 is missing.
            self.assertEqual(
                b.unwrap_json(w2),
                '{"message":[116,119,111],"channelId":"room","missingDeps":[{"messageId":"a1","retrievalHint":""}]}',
            )
            self.assertEqual(
                eb.raw(),
                ['{"eventType":"missing_dependencies","messageId":"a2","channelId":"room",'
                 '"missingDeps":[{"messageId":"a1","retrievalHint":""}]}'],
            )
            e = eb.events[0]
            self.assertEqual(e.type, EventType.MISSING_DEPENDENCIES)
            self.assertEqual((e.message_id, e.channel_id), ("a2", "room"))
            self.assertEqual(e.missing_deps, (libsds.HistoryEntry("a1", b""),))
            # a1 arrives: both delivered, in causal order.
            r = b.unwrap(w1)
            self.assertTrue(r.delivered)
            self.assertEqual(eb.raw()[1:], [ready("a1", "room"), ready("a2", "room")])
            # b's reply names a1 and a2: a learns both were received.
            a.unwrap(b.wrap("room", "b1", b"three"))
            self.assertEqual(ea.raw(), [sent("a1", "room"), sent("a2", "room"), ready("b1", "room")])
            self.assertEqual([e.type for e in ea.events], ["message_sent", "message_sent", "message_ready"])
            # Events run on the calling thread, during the call.
            self.assertEqual(set(ea.threads), {threading.get_ident()})

            # Replacing the handler: events go to the new one; None drops them.
            other = Events()
            a.set_event_handler(other)
            a.unwrap(b.wrap("room", "b2", b"four"))
            self.assertEqual(len(ea.events), 3)
            self.assertEqual(other.raw(), [ready("b2", "room")])
            a.set_event_handler(None)
            a.unwrap(b.wrap("room", "b3", b"five"))
            self.assertEqual(len(other.events), 1)

    def test_events_to_a_queue(self):
        q = queue.Queue()
        with M() as a, M(on_event=q) as b:
            b.unwrap(a.wrap("c", "m1", b"x"))
            e = q.get_nowait()
            self.assertIsInstance(e, libsds.Event)
            self.assertEqual((e.type, e.message_id, e.channel_id), ("message_ready", "m1", "c"))
            self.assertTrue(q.empty())

    def test_handler_exceptions_stay_in_python(self):
        def boom(event):
            raise RuntimeError("handler bug")

        with M() as a, M(on_event=boom) as b:
            with self.assertLogs("libsds", "ERROR"):
                r = b.unwrap(a.wrap("c", "m1", b"x"))
            self.assertTrue(r.delivered)  # the call itself succeeded
            self.assertEqual([str(e) for e in b.handler_errors], ["handler bug"])

    def test_escaping(self):
        """Ids with quotes, control characters, UTF-8 and invalid UTF-8
        come back as Nim's std/json writes them, and parse back to the
        same ids."""
        ids = [
            'quote"back\\slash',
            "ctl\x01\x07\b\t\n\v\f\r\x0e\x1f.",
            "del\x7f utf8 \u00e9\u20ac \U0001F600",
            b"invalid utf8 \xff\xfe\xc3".decode("utf-8", "surrogateescape"),
            "</script>&'",
        ]
        ev = Events()
        with M() as a, M(on_event=ev) as b:
            for mid in ids:
                ch = "ch " + mid
                ev.clear()
                r = b.unwrap(a.wrap(ch, mid, b"x"))
                self.assertEqual((r.message_id, r.channel_id), (mid, ch))
                self.assertEqual(len(ev.events), 1)
                e = ev.events[0]
                self.assertEqual((e.message_id, e.channel_id, e.type), (mid, ch, "message_ready"))
        # The escaping itself, independently of json.loads.
        with M() as a, M(on_event=ev) as b:
            ev.clear()
            b.unwrap(a.wrap("c", ids[1], b"x"))
            self.assertEqual(
                ev.events[0].raw,
                b'{"messageId":"ctl\\u0001\\u0007\\b\\t\\n\\u000b\\f\\r\\u000E\\u001F.","channelId":"c",'
                b'"eventType":"message_ready"}',
            )

    def test_retrieval_hints(self):
        asked = []
        mode = ["text"]

        def provider(mid):
            asked.append(mid)
            return {"text": "hint-" + mid, "none": None, "empty": b"", "binary": b"\x00\xff\x80"}[mode[0]]

        ev = Events()
        with M() as a, M(on_event=ev) as b:
            a.set_retrieval_hint_provider(provider)
            a.wrap("c", "m1", b"x")
            self.assertEqual(asked, [])  # nothing logged yet
            a.wrap("c", "m2", b"y")
            self.assertEqual(asked, ["m1"])
            w3 = a.wrap("c", "m3", b"z")
            self.assertEqual(asked, ["m1", "m2"])  # m1's hint is cached

            deps = ('[{"messageId":"m1","retrievalHint":"aGludC1tMQ=="},'
                    '{"messageId":"m2","retrievalHint":"aGludC1tMg=="}]')
            self.assertEqual(b.unwrap_json(w3), '{"message":[122],"channelId":"c","missingDeps":%s}' % deps)
            self.assertEqual(
                ev.raw(),
                ['{"eventType":"missing_dependencies","messageId":"m3","channelId":"c","missingDeps":%s}' % deps],
            )
            self.assertEqual(ev.events[0].missing_deps[1].retrieval_hint, b"hint-m2")
            with M() as c:
                r = c.unwrap(w3)
                self.assertEqual(
                    r.missing_deps,
                    (libsds.HistoryEntry("m1", b"hint-m1", ""), libsds.HistoryEntry("m2", b"hint-m2", "")),
                )
            # No hint, an empty one, a binary one.
            mode[0] = "none"
            a.wrap("c", "m4", b"x")
            self.assertEqual(len(asked), 3)
            mode[0] = "empty"
            a.wrap("c", "m5", b"x")  # asks m3, m4: no hint cached
            self.assertEqual(len(asked), 5)
            mode[0] = "binary"
            w6 = a.wrap("c", "m6", b"x")  # asks m3, m4, m5
            self.assertEqual(len(asked), 8)
            with M() as d:
                self.assertIn('{"messageId":"m5","retrievalHint":"AP+A"}', d.unwrap_json(w6))
            # A failing provider gives no hint; the wrap succeeds.
            mode[0] = "missing-key"
            with self.assertLogs("libsds", "ERROR"):
                a.wrap("c", "m7", b"x")
            # Removing the provider.
            n = len(asked)
            a.set_retrieval_hint_provider(None)
            a.wrap("c", "m8", b"x")
            self.assertEqual(len(asked), n)

    def test_mark_dependencies_met(self):
        ev = Events()
        with M() as a, M(on_event=ev) as b:
            a.wrap("c", "m1", b"1")
            w2 = a.wrap("c", "m2", b"2")
            w3 = a.wrap("c", "m3", b"3")
            r = b.unwrap(w3)
            self.assertEqual([d.message_id for d in r.missing_deps], ["m1", "m2"])
            self.assertFalse(r.delivered)
            b.mark_dependencies_met("c", ["m1", "m2"])
            self.assertEqual(ev.raw()[1:], [ready("m3", "c")])
            # m1 counts as present now: not reported missing again.
            self.assertEqual(b.unwrap_json(w2), '{"message":[50],"channelId":"c","missingDeps":[]}')

    def test_event_fields(self):
        e = libsds.Event.from_json(
            b'{"eventType":"message_resend","messageId":"m1","channelId":"c","attempt":2,"message":"AAE="}'
        )
        self.assertEqual((e.type, e.attempt, e.message), ("message_resend", 2, b"\x00\x01"))
        e = libsds.Event.from_json(b'{"eventType":"dependencies_lost","messageId":"m2","channelId":"c","lost":["m1"]}')
        self.assertEqual(e.lost, ("m1",))
        e = libsds.Event.from_json(b'{"eventType":"something_new"}')
        self.assertEqual(e.type, "something_new")  # unknown types pass through
        self.assertEqual(base64.b64encode(b"hint-m1"), b"aGludC1tMQ==")


if __name__ == "__main__":
    unittest.main()
