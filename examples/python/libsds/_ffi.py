"""Loading libsds and declaring its C functions (include/libsds.h) for ctypes.

Nothing here is specific to one manager: :func:`load_library` returns the
same :class:`Library` for the same path, with every function's argument
and result types declared, so a wrong call is a ``ctypes.ArgumentError``
rather than a crash.
"""

import ctypes
import ctypes.util
import os
import threading

RET_OK = 0
RET_ERR = 1
RET_MISSING_CALLBACK = 2

SDS_UNWRAP_DELIVERED = 1
SDS_UNWRAP_DUPLICATE = 2

SDS_LOG_TRACE, SDS_LOG_DEBUG, SDS_LOG_INFO, SDS_LOG_WARN, SDS_LOG_ERROR = range(5)

ENV_VAR = "LIBSDS_PATH"

c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_size_t = ctypes.c_size_t
c_int = ctypes.c_int
c_uint8_p = ctypes.POINTER(ctypes.c_uint8)

# typedef void (*SdsCallBack)(int callerRet, const char* msg, size_t len, void* userData);
# msg is declared as c_void_p: it may hold NUL bytes and may be NULL.
SdsCallBack = ctypes.CFUNCTYPE(None, c_int, c_void_p, c_size_t, c_void_p)
# typedef void (*SdsRetrievalHintProvider)(const char* messageId, char** hint, size_t* hintLen, void* userData);
SdsRetrievalHintProvider = ctypes.CFUNCTYPE(
    None, c_char_p, ctypes.POINTER(c_void_p), ctypes.POINTER(c_size_t), c_void_p
)
# typedef void (*SdsLogCallback)(int level, const char* msg, size_t len, void* userData);
SdsLogCallback = ctypes.CFUNCTYPE(None, c_int, c_void_p, c_size_t, c_void_p)


class SdsHistoryEntry(ctypes.Structure):
    _fields_ = [
        ("messageId", c_void_p),
        ("messageIdLen", c_size_t),
        ("retrievalHint", c_void_p),
        ("retrievalHintLen", c_size_t),
        ("senderId", c_void_p),
        ("senderIdLen", c_size_t),
    ]


class SdsUnwrapResult(ctypes.Structure):
    _fields_ = [
        ("channelId", c_void_p),
        ("channelIdLen", c_size_t),
        ("messageId", c_void_p),
        ("messageIdLen", c_size_t),
        ("senderId", c_void_p),
        ("senderIdLen", c_size_t),
        ("content", c_void_p),
        ("contentLen", c_size_t),
        ("missingDeps", ctypes.POINTER(SdsHistoryEntry)),
        ("missingDepsCount", c_size_t),
        ("flags", ctypes.c_uint32),
        ("kind", ctypes.c_uint8),
        ("wireFormat", ctypes.c_uint8),
    ]


class SdsBytes(ctypes.Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t)]


SdsBytesP = ctypes.POINTER(SdsBytes)

SaveChannelMeta = ctypes.CFUNCTYPE(
    c_int, c_void_p, c_void_p, c_size_t, SdsBytesP, SdsBytesP, c_size_t, SdsBytesP, c_size_t
)
UpdateHistory = ctypes.CFUNCTYPE(
    c_int, c_void_p, c_void_p, c_size_t, SdsBytesP, SdsBytesP, c_size_t, SdsBytesP, c_size_t
)
LoadChannel = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
DropChannel = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
SaveRetrievalHint = ctypes.CFUNCTYPE(
    c_int, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t
)


class SdsPersistence(ctypes.Structure):
    _fields_ = [
        ("userData", c_void_p),
        ("saveChannelMeta", SaveChannelMeta),
        ("updateHistory", UpdateHistory),
        ("loadChannel", LoadChannel),
        ("dropChannel", DropChannel),
        ("saveRetrievalHint", SaveRetrievalHint),
    ]


_PROTOTYPES = {
    # Part 1: the Nim libsds functions.
    "SdsNewReliabilityManager": (c_void_p, [SdsCallBack, c_void_p]),
    "SdsSetEventCallback": (None, [c_void_p, SdsCallBack, c_void_p]),
    "SdsSetRetrievalHintProvider": (None, [c_void_p, SdsRetrievalHintProvider, c_void_p]),
    "SdsCleanupReliabilityManager": (c_int, [c_void_p, SdsCallBack, c_void_p]),
    "SdsResetReliabilityManager": (c_int, [c_void_p, SdsCallBack, c_void_p]),
    "SdsWrapOutgoingMessage": (
        c_int,
        [c_void_p, c_void_p, c_size_t, c_char_p, c_char_p, SdsCallBack, c_void_p],
    ),
    "SdsUnwrapReceivedMessage": (c_int, [c_void_p, c_void_p, c_size_t, SdsCallBack, c_void_p]),
    "SdsMarkDependenciesMet": (
        c_int,
        [c_void_p, ctypes.POINTER(c_char_p), c_size_t, c_char_p, SdsCallBack, c_void_p],
    ),
    "SdsStartPeriodicTasks": (c_int, [c_void_p, SdsCallBack, c_void_p]),
    # Part 2: additions.
    "SdsVersion": (c_char_p, []),
    "SdsFree": (None, [c_void_p]),
    "SdsNewReliabilityManagerWithConfig": (c_void_p, [c_char_p, SdsCallBack, c_void_p]),
    "SdsWrapOutgoingMessageBinary": (
        c_int,
        [
            c_void_p, c_void_p, c_size_t, c_char_p, c_char_p,
            ctypes.POINTER(c_void_p), ctypes.POINTER(c_size_t), ctypes.POINTER(c_void_p),
        ],
    ),
    "SdsUnwrapReceivedMessageBinary": (
        c_int,
        [
            c_void_p, c_void_p, c_size_t,
            ctypes.POINTER(ctypes.POINTER(SdsUnwrapResult)), ctypes.POINTER(c_void_p),
        ],
    ),
    "SdsWrapSyncMessage": (c_int, [c_void_p, c_char_p, SdsCallBack, c_void_p]),
    "SdsWrapSyncMessageBinary": (
        c_int,
        [c_void_p, c_char_p, ctypes.POINTER(c_void_p), ctypes.POINTER(c_size_t), ctypes.POINTER(c_void_p)],
    ),
    "SdsWrapEphemeralMessage": (
        c_int,
        [c_void_p, c_void_p, c_size_t, c_char_p, c_char_p, SdsCallBack, c_void_p],
    ),
    "SdsWrapEphemeralMessageBinary": (
        c_int,
        [
            c_void_p, c_void_p, c_size_t, c_char_p, c_char_p,
            ctypes.POINTER(c_void_p), ctypes.POINTER(c_size_t), ctypes.POINTER(c_void_p),
        ],
    ),
    "SdsLoaderAddRecord": (c_int, [c_void_p, c_void_p, c_size_t, c_void_p, c_size_t]),
    "SdsLoaderAddHistory": (c_int, [c_void_p, c_void_p, c_size_t]),
    "SdsLoaderAddHint": (c_int, [c_void_p, c_void_p, c_size_t, c_void_p, c_size_t]),
    "SdsNewReliabilityManagerWithPersistence": (
        c_void_p,
        [c_char_p, ctypes.POINTER(SdsPersistence), SdsCallBack, c_void_p],
    ),
    "SdsSetLogCallback": (None, [SdsLogCallback, c_void_p]),
    "SdsGetStats": (c_int, [c_void_p, SdsCallBack, c_void_p]),
}


_HERE = os.path.dirname(os.path.abspath(__file__))

# The copy of build/libsds.so an installed package carries (setup.py).
BUNDLED_LIBRARY = os.path.join(_HERE, "libsds.so")


def default_library_path():
    """The library this checkout builds: ``<repo>/build/libsds.so``."""
    return os.path.normpath(os.path.join(_HERE, "..", "..", "..", "build", "libsds.so"))


def find_library():
    """Where libsds is: the copy this package carries, else this
    checkout's ``build/libsds.so``, else the installed library (``make
    install``, found as the system finds libraries: its name, e.g.
    ``libsds.so.0``), else None."""
    for path in (BUNDLED_LIBRARY, default_library_path()):
        if os.path.exists(path):
            return path
    return ctypes.util.find_library("sds")


class Library:
    """A loaded libsds: ``lib.SdsWrapOutgoingMessage(...)`` and so on, with
    declared types. Obtain one through :func:`load_library`."""

    def __init__(self, path):
        self.path = path
        self.cdll = ctypes.CDLL(path)
        for name, (restype, argtypes) in _PROTOTYPES.items():
            fn = getattr(self.cdll, name)
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        self.version = self.SdsVersion().decode()

    def __repr__(self):
        return f"<libsds {self.version} from {self.path}>"


_libs = {}
_libs_lock = threading.Lock()


def load_library(path=None):
    """Loads libsds once per path and returns it.

    The path is, in this order: the argument, the environment variable
    ``LIBSDS_PATH``, then :func:`find_library`."""
    path = path or os.environ.get(ENV_VAR)
    if path:
        path = os.path.abspath(path)
        if not os.path.exists(path):
            raise OSError(f"libsds not found at {path}")
    else:
        path = find_library()
        if path is None:
            raise OSError(
                f"libsds not found: not in this package, not at {default_library_path()}, "
                f"not installed (make install); build it with `make`, or set {ENV_VAR}"
            )
    with _libs_lock:
        lib = _libs.get(path)
        if lib is None:
            lib = _libs[path] = Library(path)
        return lib


# The C library frees what a retrieval-hint provider hands it with free():
# such buffers must come from the C allocator.
_libc = ctypes.CDLL(None)
_libc.malloc.restype = c_void_p
_libc.malloc.argtypes = [c_size_t]


def c_malloc_copy(data):
    """A malloc'd copy of data (the caller hands it to C, which frees it)."""
    p = _libc.malloc(max(len(data), 1))
    if not p:
        raise MemoryError("malloc failed")
    ctypes.memmove(p, data, len(data))
    return p
