package prom

import "github.com/libsds-go/libsds/sds"

// counterSpec names one counter of sds.Counters. Counters of one metric
// differ by the value of an extra label (messages wrapped, by kind).
type counterSpec struct {
	name, help   string
	label, value string // the extra label and its value, if any
	field        func(*sds.Counters) *uint64
}

func (s *counterSpec) get(c *sds.Counters) uint64 { return *s.field(c) }

// counterSpecs covers every field of sds.Counters (a test checks).
var counterSpecs = []counterSpec{
	{"sds_messages_wrapped_total", "Messages this participant made, by kind.", "kind", "content", func(c *sds.Counters) *uint64 { return &c.WrappedContent }},
	{"sds_messages_wrapped_total", "", "kind", "sync", func(c *sds.Counters) *uint64 { return &c.WrappedSync }},
	{"sds_messages_wrapped_total", "", "kind", "ephemeral", func(c *sds.Counters) *uint64 { return &c.WrappedEphemeral }},
	{"sds_messages_received_total", "Messages unwrapped, by kind.", "kind", "content", func(c *sds.Counters) *uint64 { return &c.ReceivedContent }},
	{"sds_messages_received_total", "", "kind", "sync", func(c *sds.Counters) *uint64 { return &c.ReceivedSync }},
	{"sds_messages_received_total", "", "kind", "ephemeral", func(c *sds.Counters) *uint64 { return &c.ReceivedEphemeral }},
	{"sds_unwrap_errors_total", "Unwraps that failed: undecodable, over a limit, or refused.", "", "", func(c *sds.Counters) *uint64 { return &c.UnwrapErrors }},
	{"sds_messages_delivered_total", "Messages delivered in causal order.", "", "", func(c *sds.Counters) *uint64 { return &c.Delivered }},
	{"sds_messages_duplicate_total", "Content messages received again.", "", "", func(c *sds.Counters) *uint64 { return &c.Duplicates }},
	{"sds_messages_acknowledged_total", "Our messages acknowledged, by what acknowledged them.", "by", "causal_history", func(c *sds.Counters) *uint64 { return &c.AcknowledgedByHistory }},
	{"sds_messages_acknowledged_total", "", "by", "bloom_filter", func(c *sds.Counters) *uint64 { return &c.AcknowledgedByBloom }},
	{"sds_messages_resent_total", "Our unacknowledged messages handed back for rebroadcast.", "", "", func(c *sds.Counters) *uint64 { return &c.Resends }},
	{"sds_messages_failed_total", "Our messages unacknowledged after the last resend.", "", "", func(c *sds.Counters) *uint64 { return &c.Failed }},
	{"sds_missing_dependency_reports_total", "Received messages that had to wait for missing dependencies.", "", "", func(c *sds.Counters) *uint64 { return &c.MissingDependencyReports }},
	{"sds_dependencies_lost_reports_total", "Waiting messages that gave up on their dependencies.", "", "", func(c *sds.Counters) *uint64 { return &c.DependenciesLostReports }},
	{"sds_dependencies_lost_total", "Dependencies given up on.", "", "", func(c *sds.Counters) *uint64 { return &c.DependenciesLost }},
	{"sds_incoming_evicted_total", "Waiting messages dropped from a full incoming buffer.", "", "", func(c *sds.Counters) *uint64 { return &c.IncomingEvicted }},
	{"sds_repair_requests_sent_total", "SDS-R repair requests in the messages this participant made.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairRequestsSent }},
	{"sds_repair_request_retries_total", "Repair requests sent again.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairRequestRetries }},
	{"sds_repair_request_syncs_total", "Sync messages made to carry repair requests.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairRequestSyncs }},
	{"sds_repair_requests_received_total", "Repair requests in received messages.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairRequestsReceived }},
	{"sds_repairs_answered_total", "Repairs handed out for rebroadcast.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairsAnswered }},
	{"sds_repairs_answered_as_sender_total", "Repairs handed out of our own messages.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairsAnsweredAsSender }},
	{"sds_repair_sync_gaps_total", "Repairs planned unasked: a peer's sync lacked one of our messages.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairSyncGaps }},
	{"sds_repairs_arrived_total", "Messages that arrived while we were asking for them.", "", "", func(c *sds.Counters) *uint64 { return &c.RepairsArrived }},
	{"sds_sent_bytes_total", "Wire bytes of the messages this participant made.", "", "", func(c *sds.Counters) *uint64 { return &c.BytesSent }},
	{"sds_bloom_filter_sent_bytes_total", "Of the bytes sent, the bloom filter fields.", "", "", func(c *sds.Counters) *uint64 { return &c.BloomBytesSent }},
	{"sds_received_bytes_total", "Wire bytes of the messages unwrapped.", "", "", func(c *sds.Counters) *uint64 { return &c.BytesReceived }},
	{"sds_bloom_filter_received_bytes_total", "Of the bytes received, the bloom filter fields.", "", "", func(c *sds.Counters) *uint64 { return &c.BloomBytesReceived }},
	{"sds_persistence_failures_total", "Failed writes to the store (each is retried).", "", "", func(c *sds.Counters) *uint64 { return &c.PersistenceFailures }},
	{"sds_persistence_backlogs_total", "Times the pending writes went over their bound.", "", "", func(c *sds.Counters) *uint64 { return &c.PersistenceBacklogs }},
}

// gaugeSpec names one gauge of sds.Gauges.
type gaugeSpec struct {
	name, help string
	get        func(*sds.Gauges) int64
}

var gaugeSpecs = []gaugeSpec{
	{"sds_outgoing_unacknowledged", "Our messages waiting for acknowledgement.", func(g *sds.Gauges) int64 { return g.Outgoing }},
	{"sds_incoming_buffered", "Received messages waiting for their dependencies.", func(g *sds.Gauges) int64 { return g.Incoming }},
	{"sds_incoming_buffered_bytes", "Memory of the waiting messages, as counted against the incoming budget.", func(g *sds.Gauges) int64 { return g.IncomingBytes }},
	{"sds_log_entries", "Messages in the local logs.", func(g *sds.Gauges) int64 { return g.LogEntries }},
	{"sds_log_bytes", "Memory of the local logs, as counted against their budget.", func(g *sds.Gauges) int64 { return g.LogBytes }},
	{"sds_repair_requests_pending", "SDS-R repair requests waiting for their time.", func(g *sds.Gauges) int64 { return g.RepairRequestsPending }},
	{"sds_repair_responses_pending", "SDS-R answers waiting for their time.", func(g *sds.Gauges) int64 { return g.RepairResponsesPending }},
	{"sds_persistence_pending_writes", "Writes waiting for retry after store failures.", func(g *sds.Gauges) int64 { return g.PersistencePending }},
}
