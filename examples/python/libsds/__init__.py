"""libsds for Python: SDS (Scalable Data Sync) through the libsds C ABI,
with ctypes only (no compiled extension).

    import libsds
    with libsds.ReliabilityManager(participant_id="alice", on_event=print) as m:
        wire = m.wrap("room", "msg-1", b"hello")      # broadcast these bytes
        res = m.unwrap(received)                       # res.content, res.missing_deps

The library is found by the ``library`` argument, the ``LIBSDS_PATH``
environment variable, the copy an installed package carries, this
checkout's ``build/libsds.so``, or the installed library (``make install``).

Do not use the library across fork() without exec: it runs threads of its
own that a forked child does not have. In a forked child every call raises
:class:`ForkError`; with multiprocessing use the "spawn" start method.
"""

from ._ffi import (
    ENV_VAR,
    RET_ERR,
    RET_MISSING_CALLBACK,
    RET_OK,
    SDS_LOG_DEBUG,
    SDS_LOG_ERROR,
    SDS_LOG_INFO,
    SDS_LOG_TRACE,
    SDS_LOG_WARN,
    Library,
    default_library_path,
    find_library,
    load_library,
)
from .manager import (
    ArgumentError,
    ConfigError,
    CreationError,
    Event,
    EventType,
    ForkError,
    HistoryEntry,
    InternalError,
    InvalidContextError,
    Loader,
    MessageKind,
    MissingCallbackError,
    OperationError,
    ReliabilityManager,
    SdsError,
    UnwrapResult,
    WireFormat,
    log_to_logging,
    parse_wire_text,
    set_log_handler,
    version,
)
from .persistence import Persistence, SqlitePersistence
from .stats import ChannelStats, Counters, Gauges, Histogram, Stats

__all__ = [name for name in dir() if not name.startswith("_")]
