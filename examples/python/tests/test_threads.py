"""Many threads: eight share two managers while others create and close
managers and use closed ones; closing races with calls
(tests/test_threads.c)."""

import re
import threading
import unittest

import libsds
from libsds import ReliabilityManager as M

from .util import Capture, lib

WORKERS = 8
ITERATIONS = 150


class Counter:
    """message_ready events of channel ch<i> arrive in order, t<i>-<k>."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next = [0] * WORKERS
        self.ready = 0
        self.bad = []

    def __call__(self, e):
        m = re.fullmatch(r"t(\d+)-(\d+)", e.message_id or "")
        with self.lock:
            if e.type != "message_ready" or not m or e.channel_id != "ch" + m.group(1):
                self.bad.append(e.raw)
                return
            i, k = int(m.group(1)), int(m.group(2))
            if self.next[i] != k:
                self.bad.append(e.raw)
            self.next[i] = k + 1
            self.ready += 1


class TestThreads(unittest.TestCase):
    def test_threads_share_managers(self):
        counts = [Counter(), Counter()]
        mgr = [M(on_event=counts[0]), M(on_event=counts[1])]
        failures = []
        go = threading.Event()
        stop = threading.Event()
        stale = []

        def worker(i):
            go.wait()
            send, recv = mgr[i % 2], mgr[(i + 1) % 2]
            try:
                for k in range(ITERATIONS):
                    mid, ch = "t%d-%d" % (i, k), "ch%d" % i
                    if k % 4 == 3:  # the text path
                        w = libsds.parse_wire_text(send.wrap_text(ch, mid, b"payload"))
                        res = recv.unwrap_json(w)
                        if not res.startswith('{"message":[112,97,121,108,111,97,100],"channelId":"ch'):
                            failures.append(res)
                    else:
                        r = recv.unwrap(send.wrap(ch, mid, b"payload"))
                        if not r.delivered or r.content != b"payload":
                            failures.append(r)
                    if k % 16 == 0:
                        send.mark_dependencies_met(ch, [])
            except Exception as e:
                failures.append(e)

        def churner():
            while not stop.is_set():
                with M() as m:
                    m.wrap("c", "m", b"x")
                stale.append(m)

        def stale_user():
            while not stop.is_set():
                for m in list(stale[-8:]):
                    try:
                        m.wrap("c", "m", b"x")
                        failures.append("a closed manager worked")
                    except libsds.InvalidContextError:
                        pass

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
        extra = [threading.Thread(target=churner), threading.Thread(target=stale_user)]
        for t in threads + extra:
            t.start()
        go.set()
        for t in threads:
            t.join()
        stop.set()
        for t in extra:
            t.join()
        self.assertEqual(failures, [])
        self.assertGreater(len(stale), 0)
        for c in counts:
            self.assertEqual(c.bad, [])
            self.assertEqual(c.ready, WORKERS // 2 * ITERATIONS)
        for m in mgr:
            m.close()

    def test_close_races_with_calls(self):
        for round_ in range(10):
            m = M()
            go = threading.Event()
            outcomes = []

            def racer(i):
                go.wait()
                for k in range(200):
                    try:
                        m.wrap("c", "r%d-%d" % (i, k), b"x")
                        outcomes.append("ok")
                    except libsds.InvalidContextError:
                        outcomes.append("closed")
                        return
                    except libsds.OperationError as e:
                        outcomes.append("closed" if "closed" in e.message else e)
                        return

            # Two raw cleanups at once: exactly one succeeds.
            results = []

            def cleaner():
                go.wait()
                c = Capture()
                results.append((lib().SdsCleanupReliabilityManager(m._ctx, c.cb, None), c.calls, c.ret))

            ts = [threading.Thread(target=racer, args=(i,)) for i in range(4)]
            ts += [threading.Thread(target=cleaner) for _ in range(2)]
            for t in ts:
                t.start()
            go.set()
            for t in ts:
                t.join()
            self.assertEqual([o for o in outcomes if o not in ("ok", "closed")], [])
            self.assertEqual(sum(1 for r in results if r == (libsds.RET_OK, 1, libsds.RET_OK)), 1)
            loser = [r for r in results if r[0] != libsds.RET_OK]
            self.assertEqual(len(loser), 1)
            self.assertEqual(loser[0][0], libsds.RET_ERR)
            self.assertTrue(loser[0][1] == 0 or loser[0][2] == libsds.RET_ERR)
            m._closed = True  # cleaned up behind its back


if __name__ == "__main__":
    unittest.main()
