//! The manager's metrics ([`Manager::stats`](crate::Manager::stats), from
//! `SdsGetStats`): fields named after the library's JSON keys in snake
//! case; `include/libsds.h` says what each counts.

use crate::json::Value;

/// Declares a struct of numeric fields, each read from its JSON key.
macro_rules! figures {
    ($(#[$doc:meta])* $name:ident, $ty:ty, $conv:ident { $($field:ident: $key:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name {
            $(pub $field: $ty,)*
        }

        impl $name {
            /// The JSON keys, in the order of the fields.
            pub const KEYS: &'static [&'static str] = &[$($key,)*];

            fn from_json(v: &Value) -> Option<Self> {
                Some(Self { $($field: v.get($key)?.$conv()?,)* })
            }
        }
    };
}

figures! {
    /// What happened since the manager was created (per channel: since
    /// the channel was loaded).
    Counters, u64, as_u64 {
        wrapped_content: "wrappedContent",
        wrapped_sync: "wrappedSync",
        wrapped_ephemeral: "wrappedEphemeral",
        received_content: "receivedContent",
        received_sync: "receivedSync",
        received_ephemeral: "receivedEphemeral",
        unwrap_errors: "unwrapErrors",
        delivered: "delivered",
        duplicates: "duplicates",
        acknowledged_by_history: "acknowledgedByHistory",
        acknowledged_by_bloom: "acknowledgedByBloom",
        resends: "resends",
        failed: "failed",
        missing_dependency_reports: "missingDependencyReports",
        dependencies_lost_reports: "dependenciesLostReports",
        dependencies_lost: "dependenciesLost",
        incoming_evicted: "incomingEvicted",
        repair_requests_sent: "repairRequestsSent",
        repair_request_retries: "repairRequestRetries",
        repair_request_syncs: "repairRequestSyncs",
        repair_requests_received: "repairRequestsReceived",
        repairs_answered: "repairsAnswered",
        repairs_answered_as_sender: "repairsAnsweredAsSender",
        repair_sync_gaps: "repairSyncGaps",
        repairs_arrived: "repairsArrived",
        bytes_sent: "bytesSent",
        bloom_bytes_sent: "bloomBytesSent",
        bytes_received: "bytesReceived",
        bloom_bytes_received: "bloomBytesReceived",
        persistence_failures: "persistenceFailures",
        persistence_backlogs: "persistenceBacklogs",
    }
}

figures! {
    /// How things stand now (in [`Stats`], summed over the channels).
    Gauges, i64, as_i64 {
        outgoing: "outgoing",
        incoming: "incoming",
        incoming_bytes: "incomingBytes",
        log_entries: "logEntries",
        log_bytes: "logBytes",
        repair_requests_pending: "repairRequestsPending",
        repair_responses_pending: "repairResponsesPending",
        persistence_pending: "persistencePending",
    }
}

/// How long delivered messages waited in the incoming buffer: `counts[i]`
/// those at most `buckets_seconds[i]` and longer than the bound before
/// (not cumulative); the last count, those longer than the largest bound.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub buckets_seconds: Vec<f64>,
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

/// The array under key, each element read by item (None if any is not).
fn array_of<T>(v: &Value, key: &str, item: fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    v.get(key)?.as_array()?.iter().map(item).collect()
}

impl Histogram {
    fn from_json(v: &Value) -> Option<Self> {
        Some(Histogram {
            buckets_seconds: array_of(v, "bucketsSeconds", Value::as_f64)?,
            counts: array_of(v, "counts", Value::as_u64)?,
            count: v.get("count")?.as_u64()?,
            sum_seconds: v.get("sumSeconds")?.as_f64()?,
        })
    }
}

/// One channel's figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelStats {
    pub channel_id: String,
    pub counters: Counters,
    pub gauges: Gauges,
    pub incoming_wait: Histogram,
}

/// A manager's metrics: counters and the histogram over every channel
/// (removed ones included), gauges summed over the channels held, and
/// each channel's own in `per_channel` (sorted by id).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    pub channels: u64,
    pub persistence_enabled: bool,
    pub counters: Counters,
    pub gauges: Gauges,
    pub incoming_wait: Histogram,
    pub per_channel: Vec<ChannelStats>,
}

impl Stats {
    /// The figures of one channel the manager holds.
    pub fn channel(&self, channel_id: &str) -> Option<&ChannelStats> {
        self.per_channel.iter().find(|c| c.channel_id == channel_id)
    }

    pub(crate) fn from_json(v: &Value) -> Option<Self> {
        let channel = |c: &Value| {
            Some(ChannelStats {
                channel_id: c.get("channelId")?.as_str()?.to_string(),
                counters: Counters::from_json(c.get("counters")?)?,
                gauges: Gauges::from_json(c.get("gauges")?)?,
                incoming_wait: Histogram::from_json(c.get("incomingWait")?)?,
            })
        };
        Some(Stats {
            channels: v.get("channels")?.as_u64()?,
            persistence_enabled: matches!(v.get("persistenceEnabled")?, Value::Bool(true)),
            counters: Counters::from_json(v.get("counters")?)?,
            gauges: Gauges::from_json(v.get("gauges")?)?,
            incoming_wait: Histogram::from_json(v.get("incomingWait")?)?,
            per_channel: v
                .get("perChannel")?
                .as_array()?
                .iter()
                .map(channel)
                .collect::<Option<_>>()?,
        })
    }
}
