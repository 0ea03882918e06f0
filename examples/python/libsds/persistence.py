"""Persistence kept by the host, in Python: the five operations of the C
ABI's ``SdsPersistence`` (include/libsds.h), and a backend on the standard
library's ``sqlite3``.

The library calls a backend from the thread of the operation that caused
the write (or its periodic-task thread) - never two calls for one channel
at once, but calls for different channels possibly at once: a backend must
be thread-safe. It must not call into the library (except through the
loader it is given). Each call must apply atomically: a call that raises
must have changed nothing. A raised exception is reported to the library as
a failure: a failed write is retried with the channel's next operation; a
failed load fails the operation that needed the channel.

All ids, keys and values are ``bytes`` (they may hold any byte).
"""

import sqlite3
import threading
from typing import List, Tuple


class Persistence:
    """The interface a persistence backend implements."""

    def save_channel_meta(self, channel: bytes, puts: List[Tuple[bytes, bytes]], deletes: List[bytes]):
        """Stores each (key, value) of puts in the channel's records
        (replacing any) and removes the keys in deletes."""
        raise NotImplementedError

    def update_history(self, channel: bytes, appends: List[Tuple[bytes, bytes]], evicts: List[bytes]):
        """Appends each (message id, wire bytes) at the end of the channel's
        history (an id already there is replaced and moves to the end),
        then removes the evicted ids and their retrieval hints."""
        raise NotImplementedError

    def load_channel(self, channel: bytes, loader):
        """Hands the channel's state to the library: loader.add_record(key,
        value) per record, loader.add_history(message) per history message,
        oldest first, loader.add_hint(message_id, hint) per hint. A channel
        never written adds nothing."""
        raise NotImplementedError

    def drop_channel(self, channel: bytes):
        """Removes everything stored for the channel."""
        raise NotImplementedError

    def save_retrieval_hint(self, channel: bytes, message_id: bytes, hint: bytes):
        """Stores the retrieval hint of a history message (empty: remove)."""
        raise NotImplementedError


class SqlitePersistence(Persistence):
    """A backend in one SQLite file (or ":memory:"). One store serves one
    live manager at a time; a manager created later over the same file
    resumes each channel where the previous one stopped."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS records (
            channel BLOB NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
            PRIMARY KEY (channel, key));
        CREATE TABLE IF NOT EXISTS history (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            channel BLOB NOT NULL, id BLOB NOT NULL, message BLOB NOT NULL,
            UNIQUE (channel, id));
        CREATE TABLE IF NOT EXISTS hints (
            channel BLOB NOT NULL, id BLOB NOT NULL, hint BLOB NOT NULL,
            PRIMARY KEY (channel, id));
    """

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(self.SCHEMA)

    def close(self):
        with self._lock:
            self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _tx(self, fn):
        """Runs fn(cursor) in one transaction, under the lock."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                out = fn(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            return out

    def save_channel_meta(self, channel, puts, deletes):
        def tx(c):
            c.executemany(
                "INSERT OR REPLACE INTO records (channel, key, value) VALUES (?, ?, ?)",
                [(channel, k, v) for k, v in puts],
            )
            c.executemany("DELETE FROM records WHERE channel = ? AND key = ?", [(channel, k) for k in deletes])

        self._tx(tx)

    def update_history(self, channel, appends, evicts):
        def tx(c):
            for mid, msg in appends:
                c.execute("DELETE FROM history WHERE channel = ? AND id = ?", (channel, mid))
                c.execute("INSERT INTO history (channel, id, message) VALUES (?, ?, ?)", (channel, mid, msg))
            for mid in evicts:
                c.execute("DELETE FROM history WHERE channel = ? AND id = ?", (channel, mid))
                c.execute("DELETE FROM hints WHERE channel = ? AND id = ?", (channel, mid))

        self._tx(tx)

    def load_channel(self, channel, loader):
        def tx(c):
            return (
                c.execute("SELECT key, value FROM records WHERE channel = ?", (channel,)).fetchall(),
                c.execute("SELECT message FROM history WHERE channel = ? ORDER BY seq", (channel,)).fetchall(),
                c.execute("SELECT id, hint FROM hints WHERE channel = ?", (channel,)).fetchall(),
            )

        records, history, hints = self._tx(tx)
        for k, v in records:
            loader.add_record(k, v)
        for (m,) in history:
            loader.add_history(m)
        for mid, h in hints:
            loader.add_hint(mid, h)

    def drop_channel(self, channel):
        def tx(c):
            for table in ("records", "history", "hints"):
                c.execute(f"DELETE FROM {table} WHERE channel = ?", (channel,))

        self._tx(tx)

    def save_retrieval_hint(self, channel, message_id, hint):
        def tx(c):
            if hint:
                c.execute(
                    "INSERT OR REPLACE INTO hints (channel, id, hint) VALUES (?, ?, ?)", (channel, message_id, hint)
                )
            else:
                c.execute("DELETE FROM hints WHERE channel = ? AND id = ?", (channel, message_id))

        self._tx(tx)

    # For inspection (tests, tools).
    def count(self, table: str, channel: bytes) -> int:
        assert table in ("records", "history", "hints")
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE channel = ?", (channel,)).fetchone()[0]
