"""Two participants through libsds from Python: a gap healed by the late
message, acknowledgements, and bob's state in SQLite surviving a restart.

    make lib && python3 examples/python/example.py
"""

import os
import queue
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libsds  # noqa: E402


def show(who, events):
    while not events.empty():
        e = events.get_nowait()
        if e.type == libsds.EventType.MISSING_DEPENDENCIES:
            print(f"  {who}: {e.message_id} waits for {', '.join(d.message_id for d in e.missing_deps)}")
        elif e.type == libsds.EventType.MESSAGE_READY:
            print(f"  {who}: delivers {e.message_id}")
        elif e.type == libsds.EventType.MESSAGE_SENT:
            print(f"  {who}: {e.message_id} acknowledged")


def expect(ok, what):
    if not ok:
        sys.exit(f"not as told: {what}")


def main():
    print(f"libsds {libsds.version()} from Python")
    with tempfile.TemporaryDirectory() as tmp:
        run(os.path.join(tmp, "bob.sqlite"))
    print("done")


def run(db):
    alice_events, bob_events = queue.Queue(), queue.Queue()
    store = libsds.SqlitePersistence(db)
    with libsds.ReliabilityManager(participant_id="alice", on_event=alice_events) as alice:
        with libsds.ReliabilityManager(participant_id="bob", on_event=bob_events, persistence=store) as bob:
            w1 = alice.wrap("room", "a1", b"hello")
            w2 = alice.wrap("room", "a2", b"how are you?")
            print("alice sends a1, a2; bob receives a2 first")
            res = bob.unwrap(w2)
            expect(not res.delivered and [d.message_id for d in res.missing_deps] == ["a1"], "a2 waits for a1")
            show("bob", bob_events)
            bob.unwrap(w1)
            show("bob", bob_events)
            print("bob replies; his message acknowledges a1 and a2")
            alice.unwrap(bob.wrap("room", "b1", b"fine"))
            show("alice", alice_events)
        print(f"bob restarts over {db}")
        with libsds.ReliabilityManager(participant_id="bob", on_event=bob_events, persistence=store) as bob:
            again = bob.unwrap(w2)
            print(f"  bob: a2 again is a duplicate: {again.duplicate}")
            expect(again.duplicate, "bob remembers a2")
            res = bob.unwrap(alice.wrap("room", "a3", b"good"))
            expect(res.delivered and not res.missing_deps, "a3 is delivered at once")
            show("bob", bob_events)
    store.close()


if __name__ == "__main__":
    main()
