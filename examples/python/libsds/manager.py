"""The Pythonic layer over the C ABI: :class:`ReliabilityManager`, the
exceptions, events and typed results.

Threads: every method may be called from any thread, and from inside any
callback of the library (event handler, retrieval-hint provider, the
persistence backend's ``load_channel`` excepted). Event handlers run on
the thread whose call caused the event, or - once
:meth:`ReliabilityManager.start_periodic_tasks` ran - on a thread of the
library's own.

fork(): the library runs threads of its own (the Go runtime), which a
forked child does not inherit. Do not use it across ``fork()`` without
``exec``: create managers in the process that uses them (with
``multiprocessing``, use the "spawn" start method). Managers, and the
library itself, refuse to work in a forked child (:class:`ForkError`).
"""

import atexit
import base64
import collections
import collections.abc
import ctypes
import enum
import itertools
import json
import logging
import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Tuple, Union

from . import _ffi
from .stats import Stats, stats_from_json
from ._ffi import RET_ERR, RET_MISSING_CALLBACK, RET_OK, load_library

log = logging.getLogger("libsds")

BytesLike = Union[bytes, bytearray, memoryview]
Id = Union[str, bytes]


# ---- exceptions -----------------------------------------------------------


class SdsError(Exception):
    """A libsds failure. ``code`` is the C return code (RET_OK when the
    operation itself failed), ``message`` the library's reason."""

    def __init__(self, message, code=RET_ERR):
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidContextError(SdsError):
    """The manager was closed (or the context is not a live manager)."""


class MissingCallbackError(SdsError):
    """RET_MISSING_CALLBACK: a call without a result callback."""


class ArgumentError(SdsError, ValueError):
    """The library rejected an argument ("libsds error: ...")."""


class OperationError(SdsError):
    """The operation itself failed: duplicate message id, undecodable
    message, unknown channel... ("error processing ... request: ...")."""


class ConfigError(SdsError, ValueError):
    """The configuration was rejected ("invalid config: ...")."""


class CreationError(SdsError):
    """The manager could not be created for another reason (e.g. its
    store could not be opened)."""


class InternalError(SdsError):
    """The library failed internally (a recovered panic)."""


class ForkError(SdsError):
    """libsds was used in a child process created by fork() without exec."""


def _error_for(message, code):
    if message.startswith("libsds error: invalid context"):
        return InvalidContextError(message, code)
    if message.startswith("libsds error: internal error"):
        return InternalError(message, code)
    if message.startswith("libsds error: "):
        return ArgumentError(message, code)
    if message.startswith("invalid config: "):
        return ConfigError(message, code)
    if message.startswith("Failed creating"):
        return CreationError(message, code)
    return OperationError(message, code)


# ---- fork ---------------------------------------------------------------------

_forked = False


def _after_fork_in_child():
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_fork():
    if _forked:
        raise ForkError(
            "libsds cannot be used in a process forked from the one that loaded it "
            "(use fork+exec, or multiprocessing's 'spawn' start method)"
        )


# ---- typed values ---------------------------------------------------------------


def _enc(s: Optional[Id], what: str = "an id") -> Optional[bytes]:
    """An id for C: str as UTF-8 (surrogate escapes give back any byte).
    None passes (the library rejects it with its own reason)."""
    if s is None or isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8", "surrogateescape")
    raise TypeError(f"{what} must be str or bytes, not {type(s).__name__}")


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _content(data, what: str = "content") -> bytes:
    """Bytes-like data (bytes, bytearray, memoryview, ...) as bytes; a str
    is refused, as its encoding would be a guess."""
    if not isinstance(data, str):
        try:
            return memoryview(data).tobytes()
        except TypeError:
            pass
    raise TypeError(f"{what} must be bytes-like (bytes, bytearray, memoryview), not {type(data).__name__}")


def _check_handler(handler):
    if handler is not None and not callable(handler) and not callable(getattr(handler, "put", None)):
        raise TypeError(
            f"an event handler must be a callable, a queue (an object with put()) or None, not {type(handler).__name__}"
        )


def _at(p, n) -> bytes:
    return ctypes.string_at(p, n) if n else b""


class EventType(str, enum.Enum):
    """Event types; ``Event.type`` is a plain string (hosts must ignore
    types they do not know), comparable with these."""

    MESSAGE_READY = "message_ready"
    MESSAGE_SENT = "message_sent"
    MISSING_DEPENDENCIES = "missing_dependencies"
    PERIODIC_SYNC = "periodic_sync"
    REPAIR_READY = "repair_ready"
    MESSAGE_RESEND = "message_resend"
    MESSAGE_FAILED = "message_failed"
    DEPENDENCIES_LOST = "dependencies_lost"
    INCOMING_EVICTED = "incoming_evicted"
    PERSISTENCE_BACKLOG = "persistence_backlog"
    REPAIR_REQUEST = "repair_request"


class MessageKind(enum.IntEnum):
    REGULAR = 0  # content, delivered in causal order
    SYNC = 1  # acknowledgements only, never delivered
    EPHEMERAL = 2  # no state: delivered at once


class WireFormat(enum.IntEnum):
    NIM = 0
    RFC = 1


@dataclass(frozen=True)
class HistoryEntry:
    """A causal-history entry: a message this participant has not seen
    (``missing_deps``), with the participant id of its sender ("" when the
    entry names none), in unwrap results and events alike."""

    message_id: str
    retrieval_hint: bytes = b""
    sender_id: str = ""


@dataclass(frozen=True)
class Event:
    """An event of a manager. ``raw`` is the library's JSON, byte for
    byte; the other fields are parsed from it (absent ones are None or
    empty). ``message`` holds the wire bytes to broadcast for
    ``repair_ready``, ``message_resend`` and ``repair_request`` (a sync
    message carrying the repair requests for ``requested``)."""

    type: str
    message_id: Optional[str] = None
    channel_id: Optional[str] = None
    missing_deps: Tuple[HistoryEntry, ...] = ()
    message: Optional[bytes] = None
    attempt: Optional[int] = None
    lost: Tuple[str, ...] = ()
    requested: Tuple[str, ...] = ()
    raw: bytes = b""

    @classmethod
    def from_json(cls, raw: bytes) -> "Event":
        d = json.loads(_dec(raw))
        msg = d.get("message")
        return cls(
            type=d.get("eventType", ""),
            message_id=d.get("messageId"),
            channel_id=d.get("channelId"),
            missing_deps=tuple(
                HistoryEntry(e["messageId"], base64.b64decode(e.get("retrievalHint", "")), e.get("senderId", ""))
                for e in d.get("missingDeps", ())
            ),
            message=base64.b64decode(msg) if isinstance(msg, str) else None,
            attempt=d.get("attempt"),
            lost=tuple(d.get("lost", ())),
            requested=tuple(d.get("requested", ())),
            raw=raw,
        )


@dataclass(frozen=True)
class UnwrapResult:
    """What an unwrap learned (binary path)."""

    channel_id: str
    message_id: str
    sender_id: str
    content: bytes
    missing_deps: Tuple[HistoryEntry, ...]
    delivered: bool  # delivered by this call (its dependencies were met)
    duplicate: bool  # already delivered, or already waiting
    kind: MessageKind
    wire_format: WireFormat


def parse_wire_text(text: str) -> bytes:
    """The wire bytes of a text wrap result ("10,2,109,...")."""
    return bytes(int(x) for x in text.split(",")) if text else b""


# ---- result callbacks -----------------------------------------------------------
# One C callback for every result: userData is a key into _slots, where the
# call's result lands (the callback runs on the calling thread, before the
# C function returns).


class _Slot:
    __slots__ = ("called", "ret", "msg")

    def __init__(self):
        self.called = 0
        self.ret = None
        self.msg = None


_slots = {}
_keys = itertools.count(1)


def _on_result(ret, msg, length, user_data):
    slot = _slots.get(user_data)
    if slot is not None:
        slot.called += 1
        slot.ret = ret
        slot.msg = None if not msg else ctypes.string_at(msg, length)


_RESULT_CB = _ffi.SdsCallBack(_on_result)


def _call(fn, *args):
    """Calls fn(*args, callback, userData); returns (return code, slot)."""
    key = next(_keys)
    slot = _slots[key] = _Slot()
    try:
        ret = fn(*args, _RESULT_CB, key)
    finally:
        del _slots[key]
    return ret, slot


def _check(ret, slot) -> bytes:
    """The result of a text call, or the exception its codes stand for."""
    if ret == RET_MISSING_CALLBACK:
        raise MissingCallbackError("missing callback", ret)
    if ret == RET_ERR and not slot.called:
        raise InvalidContextError("libsds error: invalid context", ret)
    if slot.called and slot.ret != RET_OK:
        raise _error_for(_dec(slot.msg or b""), ret)
    if ret != RET_OK:
        raise SdsError("libsds: unexpected return code %d" % ret, ret)
    return slot.msg or b""


# Callback objects (ctypes thunks) C may still be running when a manager
# closes or a callback is replaced - e.g. a handler that closes its own
# manager - are retired here rather than freed at once.
_retired = collections.deque(maxlen=1024)
_live = weakref.WeakSet()


def _binary_error(lib, err: ctypes.c_void_p) -> SdsError:
    if not err.value:
        return SdsError("libsds: call failed")
    try:
        message = _dec(ctypes.string_at(err.value))
    finally:
        lib.SdsFree(err)
    return _error_for(message, RET_ERR)


# ---- persistence adapter ---------------------------------------------------------


class Loader:
    """Hands stored state to the library during ``load_channel``."""

    def __init__(self, lib, ptr):
        self._lib = lib
        self._ptr = ptr

    def _add(self, fn, *parts):
        args = []
        for p in parts:
            p = bytes(p)
            args += [p, len(p)]
        if fn(self._ptr, *args) != RET_OK:
            raise SdsError("the library refused the loaded state")

    def add_record(self, key: bytes, value: bytes):
        self._add(self._lib.SdsLoaderAddRecord, key, value)

    def add_history(self, message: bytes):
        """A history message (Nim-format wire bytes), oldest first."""
        self._add(self._lib.SdsLoaderAddHistory, message)

    def add_hint(self, message_id: bytes, hint: bytes):
        self._add(self._lib.SdsLoaderAddHint, message_id, hint)


def _pairs(keys, values, n):
    return [(_at(keys[i].data, keys[i].len), _at(values[i].data, values[i].len)) for i in range(n)]


def _list(arr, n):
    return [_at(arr[i].data, arr[i].len) for i in range(n)]


class _PersistenceAdapter:
    """The SdsPersistence struct for a Python backend (see
    :class:`libsds.Persistence`); keeps its thunks alive."""

    def __init__(self, lib, backend):
        self.backend = backend

        def guard(name, fn):
            def call(*args):
                try:
                    fn(*args)
                    return 0
                except Exception:
                    log.exception("persistence %s failed", name)
                    return 1

            return call

        b = backend
        self.thunks = [
            _ffi.SaveChannelMeta(guard("save_channel_meta", lambda ud, ch, chl, pk, pv, np_, dk, nd: b.save_channel_meta(
                _at(ch, chl), _pairs(pk, pv, np_), _list(dk, nd)))),
            _ffi.UpdateHistory(guard("update_history", lambda ud, ch, chl, ai, am, na, ei, ne: b.update_history(
                _at(ch, chl), _pairs(ai, am, na), _list(ei, ne)))),
            _ffi.LoadChannel(guard("load_channel", lambda ud, ch, chl, loader: b.load_channel(
                _at(ch, chl), Loader(lib, loader)))),
            _ffi.DropChannel(guard("drop_channel", lambda ud, ch, chl: b.drop_channel(_at(ch, chl)))),
            _ffi.SaveRetrievalHint(guard("save_retrieval_hint", lambda ud, ch, chl, mid, midl, h, hl: b.save_retrieval_hint(
                _at(ch, chl), _at(mid, midl), _at(h, hl)))),
        ]
        self.struct = _ffi.SdsPersistence(None, *self.thunks)


# ---- the manager ----------------------------------------------------------------

Handler = Union[Callable[[Event], Any], Any]  # a callable, or an object with put()


class ReliabilityManager:
    """One SDS participant (a libsds manager): wraps outgoing messages,
    unwraps received ones, raises events.

    ``config`` is a dict of the configuration keys of
    ``SdsNewReliabilityManagerWithConfig`` (``participantId``,
    ``resendIntervalMs``, ``storePath``, ...; see include/libsds.h), or a
    JSON string. ``participant_id`` is a shortcut for the key of that name
    (it enables SDS-R). ``on_event`` receives :class:`Event` objects: a
    callable, or a queue (anything with ``put``). ``persistence`` is a
    :class:`libsds.Persistence` backend (e.g. :class:`libsds.SqlitePersistence`).
    ``library`` is a path to libsds.so (default: ``$LIBSDS_PATH``, then
    this checkout's ``build/libsds.so``).

    Use it as a context manager, or call :meth:`close`. Do not use it
    across fork() without exec (see the module documentation).
    """

    def __init__(
        self,
        config: Union[dict, str, None] = None,
        *,
        participant_id: Optional[str] = None,
        on_event: Optional[Handler] = None,
        persistence=None,
        library: Optional[str] = None,
        _nim: bool = False,
    ):
        self._ctx = None
        self._closed = True  # until created
        _check_handler(on_event)
        _check_fork()
        self._lib = load_library(library)
        self._lock = threading.Lock()
        self._handler = None
        self._thunks = []  # everything C may call, kept alive
        self.handler_errors = collections.deque(maxlen=100)

        if isinstance(config, str):
            cfg = config
            if participant_id is not None:
                raise ValueError("participant_id with a JSON string config: put it in the JSON")
        else:
            d = dict(config or {})
            if participant_id is not None:
                d["participantId"] = participant_id
            cfg = json.dumps(d)

        self._persistence = None
        if _nim:
            ret_slot = self._create(lambda cb, key: self._lib.SdsNewReliabilityManager(cb, key))
        elif persistence is not None:
            self._persistence = _PersistenceAdapter(self._lib, persistence)
            self._thunks.append(self._persistence)
            ret_slot = self._create(
                lambda cb, key: self._lib.SdsNewReliabilityManagerWithPersistence(
                    cfg.encode(), ctypes.byref(self._persistence.struct), cb, key
                )
            )
        else:
            ret_slot = self._create(
                lambda cb, key: self._lib.SdsNewReliabilityManagerWithConfig(cfg.encode(), cb, key)
            )
        ctx, slot = ret_slot
        if not ctx:
            raise _error_for(_dec(slot.msg or b"creation failed"), RET_ERR)
        self._ctx = ctx
        self._closed = False

        wself = weakref.ref(self)

        def on_event_c(ret, msg, length, user_data):
            m = wself()
            if m is not None and msg:
                m._dispatch(ctypes.string_at(msg, length))

        self._event_thunk = _ffi.SdsCallBack(on_event_c)
        self._thunks.append(self._event_thunk)
        _live.add(self)
        if on_event is not None:
            self.set_event_handler(on_event)

    @classmethod
    def nim_compatible(cls, *, on_event=None, library=None) -> "ReliabilityManager":
        """A manager made by the Nim libsds constructor,
        ``SdsNewReliabilityManager``: Nim's defaults and no participant id
        (which disables SDS-R)."""
        return cls(on_event=on_event, library=library, _nim=True)

    def _create(self, make):
        key = next(_keys)
        slot = _slots[key] = _Slot()
        try:
            ctx = make(_RESULT_CB, key)
        finally:
            del _slots[key]
        return ctx, slot

    # -- life cycle

    @property
    def library(self):
        return self._lib

    @property
    def closed(self) -> bool:
        return self._closed

    def _h(self):
        _check_fork()
        return self._ctx

    def close(self):
        """Destroys the manager (SdsCleanupReliabilityManager). Closing a
        closed manager does nothing. May be called from inside the
        manager's own event handler."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _live.discard(self)
        if _forked:
            return
        try:
            _check(*_call(self._lib.SdsCleanupReliabilityManager, self._ctx))
        finally:
            # C calls nothing of ours any more - except a callback still
            # on the stack (a handler that closed its own manager).
            _retired.append(self._thunks)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if not getattr(self, "_closed", True):
                self.close()
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self._closed else "open"
        return f"<ReliabilityManager {state} ctx=0x{self._ctx or 0:x}>"

    # -- events

    def set_event_handler(self, handler: Optional[Handler]):
        """Routes events to handler (a callable taking an :class:`Event`,
        or a queue), or drops them (None)."""
        _check_handler(handler)
        self._handler = handler
        if handler is None:
            self._lib.SdsSetEventCallback(self._h(), _ffi.SdsCallBack(), None)
        else:
            self._lib.SdsSetEventCallback(self._h(), self._event_thunk, None)

    def _dispatch(self, raw: bytes):
        handler = self._handler
        if handler is None:
            return
        try:
            event = Event.from_json(raw)
            put = getattr(handler, "put", None)
            if put is not None:
                put(event)
            else:
                handler(event)
        except Exception as e:  # it cannot propagate through C
            self.handler_errors.append(e)
            log.exception("libsds event handler failed")

    def set_retrieval_hint_provider(self, provider: Optional[Callable[[str], Optional[BytesLike]]]):
        """provider(message_id) returns the retrieval hint (bytes or str)
        of a message this manager sent or delivered, or None."""
        if provider is not None and not callable(provider):
            raise TypeError(f"a retrieval hint provider must be callable or None, not {type(provider).__name__}")
        if provider is None:
            self._lib.SdsSetRetrievalHintProvider(self._h(), _ffi.SdsRetrievalHintProvider(), None)
            return

        def on_hint(message_id, hint, hint_len, user_data):
            try:
                h = provider(_dec(message_id))
                if h is None:
                    return
                h = h.encode("utf-8") if isinstance(h, str) else _content(h, "a retrieval hint")
                hint[0] = _ffi.c_malloc_copy(h)  # the library frees it
                hint_len[0] = len(h)
            except Exception as e:
                self.handler_errors.append(e)
                log.exception("libsds retrieval-hint provider failed")

        thunk = _ffi.SdsRetrievalHintProvider(on_hint)
        self._thunks.append(thunk)
        self._lib.SdsSetRetrievalHintProvider(self._h(), thunk, None)

    # -- the binary fast path

    def _wire(self, fn, *args) -> bytes:
        wire, n, err = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
        ret = fn(self._h(), *args, ctypes.byref(wire), ctypes.byref(n), ctypes.byref(err))
        if ret != RET_OK:
            raise _binary_error(self._lib, err)
        try:
            return ctypes.string_at(wire, n.value)
        finally:
            self._lib.SdsFree(wire)

    def wrap(self, channel_id: Optional[Id], message_id: Optional[Id], content: BytesLike) -> bytes:
        """Wraps content for broadcast on channel_id: returns the wire
        bytes. The message waits for acknowledgement (``message_sent``)."""
        data = _content(content)
        return self._wire(self._lib.SdsWrapOutgoingMessageBinary, data, len(data), _enc(message_id), _enc(channel_id))

    def wrap_sync(self, channel_id: Optional[Id]) -> bytes:
        """A sync message: acknowledgements and due SDS-R requests, no
        content (broadcast it when ``periodic_sync`` asks)."""
        return self._wire(self._lib.SdsWrapSyncMessageBinary, _enc(channel_id))

    def wrap_ephemeral(self, channel_id: Optional[Id], message_id: Optional[Id], content: BytesLike) -> bytes:
        """Content with no reliability (RFC wire format only)."""
        data = _content(content)
        return self._wire(self._lib.SdsWrapEphemeralMessageBinary, data, len(data), _enc(message_id), _enc(channel_id))

    def unwrap(self, wire: BytesLike) -> UnwrapResult:
        """Processes a received message; delivery is reported by
        ``message_ready`` events (and ``delivered`` for this one)."""
        data = _content(wire, "wire")
        res = ctypes.POINTER(_ffi.SdsUnwrapResult)()
        err = ctypes.c_void_p()
        ret = self._lib.SdsUnwrapReceivedMessageBinary(self._h(), data, len(data), ctypes.byref(res), ctypes.byref(err))
        if ret != RET_OK:
            raise _binary_error(self._lib, err)
        try:
            r = res.contents
            deps = tuple(
                HistoryEntry(
                    _dec(_at(e.messageId, e.messageIdLen)),
                    _at(e.retrievalHint, e.retrievalHintLen),
                    _dec(_at(e.senderId, e.senderIdLen)),
                )
                for e in (r.missingDeps[i] for i in range(r.missingDepsCount))
            )
            return UnwrapResult(
                channel_id=_dec(_at(r.channelId, r.channelIdLen)),
                message_id=_dec(_at(r.messageId, r.messageIdLen)),
                sender_id=_dec(_at(r.senderId, r.senderIdLen)),
                content=_at(r.content, r.contentLen),
                missing_deps=deps,
                delivered=bool(r.flags & _ffi.SDS_UNWRAP_DELIVERED),
                duplicate=bool(r.flags & _ffi.SDS_UNWRAP_DUPLICATE),
                kind=MessageKind(r.kind),
                wire_format=WireFormat(r.wireFormat),
            )
        finally:
            self._lib.SdsFree(res)

    # -- the Nim text results (what the Nim libsds returns)

    def wrap_text(self, channel_id: Optional[Id], message_id: Optional[Id], content: BytesLike) -> str:
        """As :meth:`wrap`, through SdsWrapOutgoingMessage: the wire bytes
        as decimal numbers joined by commas (see :func:`parse_wire_text`)."""
        data = _content(content)
        return _dec(_check(*_call(self._lib.SdsWrapOutgoingMessage, self._h(), data, len(data), _enc(message_id), _enc(channel_id))))

    def wrap_sync_text(self, channel_id: Optional[Id]) -> str:
        return _dec(_check(*_call(self._lib.SdsWrapSyncMessage, self._h(), _enc(channel_id))))

    def wrap_ephemeral_text(self, channel_id: Optional[Id], message_id: Optional[Id], content: BytesLike) -> str:
        data = _content(content)
        return _dec(_check(*_call(self._lib.SdsWrapEphemeralMessage, self._h(), data, len(data), _enc(message_id), _enc(channel_id))))

    def unwrap_json(self, wire: BytesLike) -> str:
        """As :meth:`unwrap`, through SdsUnwrapReceivedMessage: the JSON
        {"message":[...],"channelId":...,"missingDeps":[...]}."""
        data = _content(wire, "wire")
        return _dec(_check(*_call(self._lib.SdsUnwrapReceivedMessage, self._h(), data, len(data))))

    # -- the rest

    def mark_dependencies_met(self, channel_id: Optional[Id], message_ids: Sequence[Optional[Id]]):
        """The application obtained these messages some other way: what
        waited on them is delivered. Fails for an unknown channel."""
        if isinstance(message_ids, (str, bytes)) or not isinstance(message_ids, collections.abc.Iterable):
            raise TypeError(f"message_ids must be a sequence of ids, not {type(message_ids).__name__}")
        channel = _enc(channel_id, "channel_id")
        ids = [_enc(i, "a message id") for i in message_ids]
        arr = (ctypes.c_char_p * max(len(ids), 1))(*ids)
        _check(*_call(self._lib.SdsMarkDependenciesMet, self._h(), arr, len(ids), channel))

    def reset(self):
        """Forgets every channel and all its state (persisted state too)."""
        _check(*_call(self._lib.SdsResetReliabilityManager, self._h()))

    def start_periodic_tasks(self):
        """Starts resends, the periodic sync signal and SDS-R answers on a
        thread of the library's own (events then come from it too)."""
        _check(*_call(self._lib.SdsStartPeriodicTasks, self._h()))

    def stats(self) -> Stats:
        """The manager's metrics (SdsGetStats): counters, gauges and the
        incoming-wait histogram, overall and per channel."""
        return stats_from_json(json.loads(_dec(_check(*_call(self._lib.SdsGetStats, self._h())))))


# ---- process-wide -----------------------------------------------------------------

_log_thunk = None


def set_log_handler(handler: Optional[Callable[[int, str], Any]], library: Optional[str] = None):
    """Routes the library's diagnostics (process-wide) to handler(level,
    json_line), levels SDS_LOG_TRACE..SDS_LOG_ERROR; None drops them. The
    handler must not call the library."""
    global _log_thunk
    _check_fork()
    lib = load_library(library)
    if handler is None:
        lib.SdsSetLogCallback(_ffi.SdsLogCallback(), None)
        return

    def on_log(level, msg, length, user_data):
        try:
            handler(level, _dec(ctypes.string_at(msg, length)))
        except Exception:
            pass

    thunk = _ffi.SdsLogCallback(on_log)
    lib.SdsSetLogCallback(thunk, None)
    if _log_thunk is not None:
        _retired.append(_log_thunk)
    _log_thunk = thunk


def log_to_logging(library: Optional[str] = None, logger: Optional[logging.Logger] = None):
    """Routes the library's diagnostics to a ``logging`` logger ("libsds")."""
    lg = logger or log
    levels = [logging.DEBUG, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]
    set_log_handler(lambda level, line: lg.log(levels[min(max(level, 0), 4)], "%s", line), library)


def version(library: Optional[str] = None) -> str:
    """The version of the library loaded ("major.minor.patch")."""
    return load_library(library).version


@atexit.register
def _close_all():
    # Stop periodic-task threads before the interpreter goes away.
    if _forked:
        return
    for m in list(_live):
        try:
            m.close()
        except Exception:
            pass
    if _log_thunk is not None:
        for lib in list(_ffi._libs.values()):
            lib.SdsSetLogCallback(_ffi.SdsLogCallback(), None)
