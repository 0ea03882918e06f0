"""The manager's metrics (SdsGetStats) as dataclasses:
:meth:`ReliabilityManager.stats` returns a :class:`Stats`. Field names are
the library's JSON keys in snake case; include/libsds.h says what each
counts."""

import dataclasses
import re
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Counters:
    """What happened since the manager was created (per channel: since the
    channel was loaded)."""

    wrapped_content: int = 0
    wrapped_sync: int = 0
    wrapped_ephemeral: int = 0
    received_content: int = 0
    received_sync: int = 0
    received_ephemeral: int = 0
    unwrap_errors: int = 0
    delivered: int = 0
    duplicates: int = 0
    acknowledged_by_history: int = 0
    acknowledged_by_bloom: int = 0
    resends: int = 0
    failed: int = 0
    missing_dependency_reports: int = 0
    dependencies_lost_reports: int = 0
    dependencies_lost: int = 0
    incoming_evicted: int = 0
    repair_requests_sent: int = 0
    repair_request_retries: int = 0
    repair_request_syncs: int = 0
    repair_requests_received: int = 0
    repairs_answered: int = 0
    repairs_answered_as_sender: int = 0
    repair_sync_gaps: int = 0
    repairs_arrived: int = 0
    bytes_sent: int = 0
    bloom_bytes_sent: int = 0
    bytes_received: int = 0
    bloom_bytes_received: int = 0
    persistence_failures: int = 0
    persistence_backlogs: int = 0


@dataclass(frozen=True)
class Gauges:
    """How things stand now (in :class:`Stats`, summed over the channels)."""

    outgoing: int = 0
    incoming: int = 0
    incoming_bytes: int = 0
    log_entries: int = 0
    log_bytes: int = 0
    repair_requests_pending: int = 0
    repair_responses_pending: int = 0
    persistence_pending: int = 0


@dataclass(frozen=True)
class Histogram:
    """How long delivered messages waited in the incoming buffer:
    ``counts[i]`` those at most ``buckets_seconds[i]`` and longer than the
    bound before (not cumulative); the last count those longer than the
    largest bound."""

    buckets_seconds: Tuple[float, ...] = ()
    counts: Tuple[int, ...] = ()
    count: int = 0
    sum_seconds: float = 0.0


@dataclass(frozen=True)
class ChannelStats:
    channel_id: str
    counters: Counters
    gauges: Gauges
    incoming_wait: Histogram


@dataclass(frozen=True)
class Stats:
    """A manager's metrics: counters and the histogram over every channel
    (removed ones included), gauges summed over the channels held, and each
    channel's own in ``per_channel`` (sorted by id)."""

    channels: int
    persistence_enabled: bool
    counters: Counters
    gauges: Gauges
    incoming_wait: Histogram
    per_channel: Tuple[ChannelStats, ...]

    def channel(self, channel_id: str) -> ChannelStats:
        """The figures of one channel the manager holds (KeyError if none)."""
        for c in self.per_channel:
            if c.channel_id == channel_id:
                return c
        raise KeyError(channel_id)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _build(cls, d: dict):
    # Keys a newer library added are left out rather than refused.
    names = {f.name for f in dataclasses.fields(cls)}
    args = {_snake(k): v for k, v in d.items() if _snake(k) in names}
    if cls is Histogram:
        args["buckets_seconds"] = tuple(args.get("buckets_seconds", ()))
        args["counts"] = tuple(args.get("counts", ()))
    return cls(**args)


def _channel(d: dict) -> ChannelStats:
    return ChannelStats(
        channel_id=d["channelId"],
        counters=_build(Counters, d["counters"]),
        gauges=_build(Gauges, d["gauges"]),
        incoming_wait=_build(Histogram, d["incomingWait"]),
    )


def stats_from_json(d: dict) -> Stats:
    """A :class:`Stats` from SdsGetStats's parsed JSON."""
    return Stats(
        channels=d["channels"],
        persistence_enabled=d["persistenceEnabled"],
        counters=_build(Counters, d["counters"]),
        gauges=_build(Gauges, d["gauges"]),
        incoming_wait=_build(Histogram, d["incomingWait"]),
        per_channel=tuple(_channel(c) for c in d.get("perChannel") or ()),
    )
