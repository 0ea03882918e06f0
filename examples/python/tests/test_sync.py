"""Sync and ephemeral messages, text and binary (tests/test_sync.c)."""

import unittest

import libsds
from libsds import MessageKind, WireFormat
from libsds import ReliabilityManager as M

from .util import Events, pb_fields


class TestSync(unittest.TestCase):
    def test_sync_messages(self):
        ea = Events()
        with M(on_event=ea) as a, M() as b:
            b.unwrap(a.wrap("c", "m1", b"x"))
            # b's sync message acknowledges m1; it carries no content.
            s = libsds.parse_wire_text(b.wrap_sync_text("c"))
            self.assertEqual(pb_fields(s, 5), [b""])
            self.assertEqual(len(pb_fields(s, 3)), 1)  # names m1
            self.assertEqual(a.unwrap_json(s), '{"message":[],"channelId":"c","missingDeps":[]}')
            self.assertEqual(ea.raw(), ['{"messageId":"m1","channelId":"c","eventType":"message_sent"}'])
            # Binary: the receiver sees a sync message, never delivered.
            r = a.unwrap(b.wrap_sync("c"))
            self.assertEqual((r.kind, r.delivered, r.duplicate, r.content), (MessageKind.SYNC, False, False, b""))
            # Argument errors.
            for fn in (b.wrap_sync, b.wrap_sync_text):
                with self.assertRaises(libsds.ArgumentError) as cm:
                    fn(None)
                self.assertEqual(cm.exception.message, "libsds error: channel ID pointer is NULL")
                with self.assertRaises(libsds.ArgumentError) as cm:
                    fn("")
                self.assertEqual(cm.exception.message, "libsds error: channel ID is empty string")

    def test_ephemeral_messages(self):
        eb = Events()
        with M() as nim, M({"wireFormat": "rfc"}, participant_id="eve") as rfc, M(on_event=eb) as b:
            # The Nim wire format cannot carry one.
            for fn in (nim.wrap_ephemeral, nim.wrap_ephemeral_text):
                with self.assertRaises(libsds.OperationError) as cm:
                    fn("c", "e1", b"hi")
                self.assertTrue(cm.exception.message.startswith("error processing WRAP_EPHEMERAL_MESSAGE request: "))
            # The RFC format: delivered at once, no event, no state.
            e = libsds.parse_wire_text(rfc.wrap_ephemeral_text("c", "e1", b"hi"))
            self.assertEqual(b.unwrap_json(e), '{"message":[104,105],"channelId":"c","missingDeps":[]}')
            self.assertEqual(eb.raw(), [])
            r = b.unwrap(rfc.wrap_ephemeral("c", "e2", b"yo"))
            self.assertEqual(
                (r.kind, r.delivered, r.wire_format, r.content, r.sender_id),
                (MessageKind.EPHEMERAL, True, WireFormat.RFC, b"yo", "eve"),
            )
            self.assertEqual(eb.raw(), [])
            # Argument errors as for a regular wrap.
            with self.assertRaises(libsds.ArgumentError) as cm:
                rfc.wrap_ephemeral_text("c", None, b"x")
            self.assertEqual(cm.exception.message, "libsds error: message ID pointer is NULL")
            with self.assertRaises(libsds.ArgumentError) as cm:
                rfc.wrap_ephemeral("", "e3", b"x")
            self.assertEqual(cm.exception.message, "libsds error: channel ID is empty string")


if __name__ == "__main__":
    unittest.main()
