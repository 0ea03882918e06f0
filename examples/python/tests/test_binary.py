"""The binary fast path, and messages produced by the Nim library and the
TypeScript SDS (the shared vectors) through both unwrap paths
(tests/test_binary.c, tests/test_events.c)."""

import base64
import json
import os
import unittest

import libsds
from libsds import MessageKind, WireFormat
from libsds import ReliabilityManager as M

from .util import Events, pb_fields


# The vectors committed in the repository (internal/vectors/data).
VECTORS_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "internal", "vectors", "data"))


def load(name):
    with open(os.path.join(VECTORS_DIR, name)) as f:
        return json.load(f)


def js(s):
    """A JSON string as Nim's std/json writes it, for printable ASCII."""
    assert all(32 <= ord(c) < 127 for c in s), s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TestBinary(unittest.TestCase):
    def test_wrap_unwrap(self):
        ev = Events()
        with M(participant_id="alice") as a, M(on_event=ev) as b:
            w1 = a.wrap("c1", "m1", b"hello")
            self.assertGreater(len(w1), 0)
            self.assertEqual(pb_fields(w1, 1), [b"m1"])
            self.assertEqual(pb_fields(w1, 7), [b"alice"])
            # The text path gives the same shape (and names m1).
            wt = libsds.parse_wire_text(a.wrap_text("c1", "m2", b"hello"))
            self.assertGreater(len(wt), len(w1))
            self.assertEqual(len(pb_fields(wt, 3)), 1)
            w3 = a.wrap("c1", "m3", b"x")
            # b gets m3 first: m1 and m2 missing, with alice as their sender.
            r = b.unwrap(w3)
            self.assertEqual(
                (r.message_id, r.channel_id, r.sender_id, r.content, r.delivered, r.duplicate, r.kind, r.wire_format),
                ("m3", "c1", "alice", b"x", False, False, MessageKind.REGULAR, WireFormat.NIM),
            )
            self.assertEqual(r.missing_deps, (libsds.HistoryEntry("m1", b"", "alice"), libsds.HistoryEntry("m2", b"", "alice")))
            self.assertEqual(len(ev.events), 1)
            self.assertTrue(ev.events[0].raw.startswith(b'{"eventType":"missing_dependencies","messageId":"m3"'))
            # m1 and m2 arrive: delivered; m3 follows by event.
            r = b.unwrap(w1)
            self.assertEqual((r.delivered, r.missing_deps), (True, ()))
            self.assertTrue(b.unwrap(wt).delivered)
            self.assertEqual([e.message_id for e in ev.of("message_ready")], ["m1", "m2", "m3"])
            r = b.unwrap(w1)
            self.assertEqual((r.delivered, r.duplicate), (False, True))

    def test_wrap_sizes(self):
        big = b"b" * 20000
        with M() as a, M() as b:
            for i, size in enumerate((1, 1, 5000, 20000, 10, 20000, 20000)):
                w = a.wrap("c", f"s{i}", big[:size])
                self.assertEqual(pb_fields(w, 5), [big[:size]])
                r = b.unwrap(w)
                self.assertEqual((r.content, r.delivered), (big[:size], True))
            # bytearray and memoryview contents.
            for i, content in enumerate((bytearray(b"ba"), memoryview(b"mv"))):
                r = b.unwrap(a.wrap("c", f"t{i}", content))
                self.assertEqual(r.content, bytes(content))

    def test_nim_vectors(self):
        """Messages produced by the Nim library, unwrapped by a fresh
        manager: result and events byte for byte as Nim gives them, plus
        the sender of an entry that names one, which every form reports
        alike."""
        vec = load("nim_sds_vectors.json")
        self.assertGreater(len(vec["messages"]), 0)
        for m in vec["messages"]:
            with self.subTest(m["description"]):
                wire = bytes.fromhex(m["wire_hex"])
                content = bytes.fromhex(m["content_hex"])
                hist = m["causalHistory"]
                deps = "[" + ",".join(
                    '{"messageId":%s,"retrievalHint":"%s"%s}'
                    % (js(h["messageId"]), base64.b64encode(bytes.fromhex(h["retrievalHint_hex"])).decode(),
                       ',"senderId":' + js(h["senderId"]) if h["senderId"] else "")
                    for h in hist
                ) + "]"
                want = '{"message":[%s],"channelId":%s,"missingDeps":%s}' % (
                    ",".join(str(x) for x in content), js(m["channelId"]), deps)
                if hist:
                    want_ev = ['{"eventType":"missing_dependencies","messageId":%s,"channelId":%s,"missingDeps":%s}'
                               % (js(m["messageId"]), js(m["channelId"]), deps)]
                elif content:
                    want_ev = ['{"messageId":%s,"channelId":%s,"eventType":"message_ready"}'
                               % (js(m["messageId"]), js(m["channelId"]))]
                else:
                    want_ev = []  # a sync message
                ev = Events()
                with M.nim_compatible(on_event=ev) as t:
                    self.assertEqual(t.unwrap_json(wire), want)
                    self.assertEqual(ev.raw(), want_ev)
                ev2 = Events()
                with M.nim_compatible(on_event=ev2) as b:
                    r = b.unwrap(wire)
                    if hist:  # the event says what the result says
                        self.assertEqual(ev2.events[0].missing_deps, r.missing_deps)
                    self.assertEqual((r.message_id, r.channel_id, r.sender_id, r.content),
                                     (m["messageId"], m["channelId"], m["senderId"], content))
                    self.assertEqual(r.missing_deps, tuple(
                        libsds.HistoryEntry(h["messageId"], bytes.fromhex(h["retrievalHint_hex"]), h["senderId"])
                        for h in hist))
                    self.assertEqual(r.wire_format, WireFormat.NIM)
                    if content:
                        self.assertEqual((r.kind, r.delivered), (MessageKind.REGULAR, not hist))
                        self.assertTrue(b.unwrap(wire).duplicate)
                    else:
                        self.assertEqual((r.kind, r.delivered, r.duplicate), (MessageKind.SYNC, False, False))

    def test_rfc_vectors(self):
        """The TypeScript library's RFC-format messages: content, sync and
        ephemeral kinds, through both unwrap paths."""
        vec = load("js_sds_vectors.json")
        kinds = set()
        with M() as binary, M() as text:
            for m in vec["messages"]:
                with self.subTest(m["kind"]):
                    wire = bytes.fromhex(m["wire_hex"])
                    r = binary.unwrap(wire)
                    kinds.add(m["kind"])
                    self.assertEqual((r.wire_format, r.message_id, r.sender_id, r.content),
                                     (WireFormat.RFC, m["messageId"], "alice", m.get("payload", "").encode()))
                    want = {"sync": (MessageKind.SYNC, False), "ephemeral": (MessageKind.EPHEMERAL, True)}.get(
                        m["kind"], (MessageKind.REGULAR, True))
                    self.assertEqual((r.kind, r.delivered), want)
                    self.assertEqual(
                        text.unwrap_json(wire),
                        '{"message":[%s],"channelId":%s,"missingDeps":[]}'
                        % (",".join(str(x) for x in m.get("payload", "").encode()), js(r.channel_id)),
                    )
        self.assertLessEqual({"content", "sync", "ephemeral"}, kinds)


if __name__ == "__main__":
    unittest.main()
