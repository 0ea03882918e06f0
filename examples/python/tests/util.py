"""Helpers shared by the tests."""

import ctypes
import threading
import time

import libsds
from libsds import _ffi


class Events:
    """A thread-safe event handler that records events."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []
        self.threads = []

    def __call__(self, event):
        with self.lock:
            self.events.append(event)
            self.threads.append(threading.get_ident())

    def raw(self):
        with self.lock:
            return [e.raw.decode("utf-8", "surrogateescape") for e in self.events]

    def of(self, type_):
        with self.lock:
            return [e for e in self.events if e.type == type_]

    def count(self, type_):
        return len(self.of(type_))

    def clear(self):
        with self.lock:
            self.events.clear()
            self.threads.clear()


def wait_for(cond, timeout=5.0):
    """Polls cond until it holds (True) or timeout seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


class Capture:
    """A raw C result callback (for calls through the Library directly)."""

    def __init__(self):
        self.calls = 0
        self.ret = None
        self.msg = None
        self.cb = _ffi.SdsCallBack(self._on)

    def _on(self, ret, msg, length, ud):
        self.calls += 1
        self.ret = ret
        self.msg = None if not msg else ctypes.string_at(msg, length).decode("utf-8", "surrogateescape")


def lib():
    return libsds.load_library()


def pb_fields(b, field):
    """The length-delimited values of field in a protobuf message."""
    out, i = [], 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v

    while i < len(b):
        key = varint()
        wt = key & 7
        if wt == 0:
            varint()
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n = varint()
            if key >> 3 == field:
                out.append(bytes(b[i : i + n]))
            i += n
        else:
            raise ValueError("bad wire type")
    return out
