/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * libsds.h - C ABI of libsds, the SDS (Scalable Data Sync) library.
 *
 * Hand-written. The Go implementation (github.com/libsds-go/libsds, package
 * ffi) compiles its C entry points against this very file, so a signature
 * that drifts from what the library implements is a compile error.
 *
 * Part 1 is a drop-in for the Nim libsds (logos-messaging/nim-sds,
 * library/libsds.h): the same nine functions with the same signatures, return
 * codes, argument checks and callback payloads. A program built against the
 * Nim header runs unchanged against this library.
 *
 * Part 2 holds additions of this library, all prefixed "Sds" as well.
 *
 * Part 3 is the next generation of the Nim libsds (nim-sds branch
 * use-latest-nim-ffi, commit 05595e2, built on nim-ffi 0.2): the snake_case
 * sds_* functions, whose requests, results and events are CBOR, with a
 * registry of event listeners per context. A program built against that
 * header runs unchanged against this library. Both generations share one
 * implementation: a context of either kind works with the functions of
 * both, and two managers - one per generation - exchange messages as any
 * two managers do.
 *
 * -------------------------------------------------------------------------
 * Threading and callbacks (all parts)
 * -------------------------------------------------------------------------
 *
 * Every function may be called from any thread, on the same or on different
 * managers at once, and from inside any callback of this library (a callback
 * runs with no library lock held).
 *
 * Callbacks run synchronously, on a thread inside a call into the library,
 * before that call returns:
 *
 *  - The result callback (the SdsCallBack argument of an int-returning
 *    function) runs exactly once, on the calling thread, before the function
 *    returns - except when the function returns RET_ERR for an invalid
 *    context or RET_MISSING_CALLBACK, which call nothing. (The Nim library
 *    runs it later on its own thread; callers that wait for it work with
 *    both.)
 *  - Events run on the thread whose call caused them (an unwrap that
 *    delivers messages raises "message_ready" before its result callback).
 *    One exception keeps a channel's events in order: while one thread is
 *    delivering a channel's events, events of that channel caused meanwhile
 *    by other threads are delivered by that thread, right after. An event
 *    caused by a call made from inside an event callback is delivered after
 *    that callback returns.
 *  - The retrieval-hint provider runs on the thread that is wrapping.
 *  - Once SdsStartPeriodicTasks has run, the time-driven events
 *    (periodic_sync, repair_ready, repair_request, message_resend,
 *    message_failed, dependencies_lost) come from a thread of the
 *    library's own, outside
 *    any call of the host; their buffers follow the same rules below.
 *
 * -------------------------------------------------------------------------
 * Buffers handed to callbacks
 * -------------------------------------------------------------------------
 *
 * The msg buffer of an SdsCallBack (results, error messages and events) is
 * owned by the library: never free it. It holds len bytes followed by a NUL
 * (msg[len] == 0; the NUL is not counted in len). It stays readable after
 * the callback returns - and after the call that produced it returns - at
 * least until the same thread's next call into the library on the same
 * manager has returned. It is then released to the manager's queue, which
 * keeps the 64 most recently released buffers and, up to 8 MiB, every
 * buffer released less than 250 ms ago; older ones are freed. Cleaning the
 * manager up moves what it still holds, once no call on it is running any
 * more, to a process-wide queue with the same rules (which also keeps the
 * messages of failed creations). Copy what you need for longer.
 *
 * So the pattern of sds-go-bindings - keep the msg pointer in the callback,
 * read it once the call has returned - is safe, also when the Go scheduler
 * moves the goroutine to another thread in between and other goroutines
 * keep calling on that manager from the first one, as long as the read
 * follows within those 250 ms.
 *
 * A result with no payload is an empty, non-NULL string (len 0), except
 * SdsCleanupReliabilityManager, which passes msg == NULL (as Nim does).
 *
 * Buffers passed TO the library (message, ids, config) are only read during
 * the call; the library keeps copies of what it needs.
 */
#ifndef __libsds__
#define __libsds__

#include <stddef.h>
#include <stdint.h>

/* The values returned by the int-returning functions (and passed as
 * callerRet to callbacks). */
#define RET_OK                0
#define RET_ERR               1
#define RET_MISSING_CALLBACK  2

#ifdef __cplusplus
extern "C" {
#endif

/* callerRet is RET_OK or RET_ERR; msg/len are described above ("Buffers
 * handed to callbacks"); userData is the pointer registered with the
 * callback, passed back untouched. */
typedef void (*SdsCallBack) (int callerRet, const char* msg, size_t len, void* userData);

/* Asked, while wrapping, for the retrieval hint of a message id this
 * manager logged (for example a transport-level message hash). The host
 * stores a buffer it allocated with malloc() in *hint and its length in
 * *hintLen, or leaves *hint NULL for "no hint". The library takes ownership
 * and releases the buffer with free() (even when *hintLen is 0). messageId
 * is NUL-terminated and valid during the call only. A non-empty hint is
 * cached: the provider is asked again only for entries that got none. */
typedef void (*SdsRetrievalHintProvider) (const char* messageId, char** hint, size_t* hintLen, void* userData);


/* =========================================================================
 * Part 1: the Nim libsds functions
 * =========================================================================
 *
 * Common rules of the int-returning functions, checked in this order:
 *  1. ctx that is NULL, was never returned by a constructor, or was already
 *     cleaned up: return RET_ERR, call nothing. (A ctx value is not reused
 *     for another manager for the next 8 million creations.)
 *  2. callback NULL: return RET_MISSING_CALLBACK.
 *  3. invalid arguments: callback(RET_ERR, "<reason>"), return RET_ERR.
 *  4. the operation itself fails (duplicate message id, undecodable
 *     message, unknown channel, ...): callback(RET_ERR, "<reason>"), and the
 *     function returns RET_OK - the Nim library's behaviour, kept.
 *  5. success: callback(RET_OK, <result>), return RET_OK.
 * Should the library fail internally (a Go panic), the function returns
 * RET_ERR, and calls callback(RET_ERR, "libsds error: internal error in
 * <function>: ...") unless it already called it; the constructors return
 * NULL after that callback. The library stays usable.
 *
 * Events arrive at the event callback with callerRet RET_OK and this JSON
 * (keys in this order, no whitespace; strings escaped as Nim's std/json
 * does; byte strings in standard base64 with padding):
 *   {"messageId":"m1","channelId":"c1","eventType":"message_ready"}
 *     a received message was delivered (its dependencies are met);
 *   {"messageId":"m1","channelId":"c1","eventType":"message_sent"}
 *     a peer acknowledged our message m1;
 *   {"eventType":"missing_dependencies","messageId":"m2","channelId":"c1",
 *    "missingDeps":[{"messageId":"m1","retrievalHint":"<base64>"}]}
 *     m2 waits for messages this participant has not seen; an entry whose
 *     sender is known ends with ,"senderId":"alice" (Nim leaves it out),
 *     in the unwrap result's "missingDeps" too, as in the binary result;
 *   {"eventType":"periodic_sync"}
 *     time to broadcast a sync message (see SdsStartPeriodicTasks);
 *   {"eventType":"repair_ready","channelId":"c1","message":"<base64>"}
 *     SDS-R: broadcast these wire bytes, a message a peer asked for.
 * and, from this library only (the Nim library has no such events):
 *   {"eventType":"message_resend","messageId":"m1","channelId":"c1",
 *    "attempt":1,"message":"<base64>"}
 *     our m1 is still unacknowledged: broadcast these wire bytes again;
 *   {"eventType":"message_failed","messageId":"m1","channelId":"c1"}
 *     m1 stayed unacknowledged after maxResendAttempts rebroadcasts (the
 *     Nim library reports this as message_sent);
 *   {"eventType":"dependencies_lost","messageId":"m2","channelId":"c1",
 *    "lost":["m1"]}
 *     m2 waited maxDependencyWaitMs; m1 counts as lost, and m2 is
 *     delivered (a message_ready follows) or dropped (onLostDependencies);
 *   {"eventType":"incoming_evicted","messageId":"m2","channelId":"c1"}
 *     the incoming buffer was full: m2, the oldest there, left it
 *     undelivered;
 *   {"eventType":"persistence_backlog","channelId":"c1"}
 *     the channel's store keeps failing and more than persistMaxPending
 *     of its writes wait for retry (see "storePath");
 *   {"eventType":"repair_request","messageId":"sync-…","channelId":"c1",
 *    "requested":["m1"],"message":"<base64>"}
 *     SDS-R: our repair requests for m1 fell due: broadcast these wire
 *     bytes, a sync message (empty content, messageId its id) carrying
 *     them (see "repairRequestSync"). A host that ignores it loses
 *     nothing: the requests also ride on its next message.
 * Hosts should ignore event types they do not know.
 */

/* Creates a manager with the Nim library's defaults and an empty
 * participant id (which disables SDS-R; see
 * SdsNewReliabilityManagerWithConfig). Returns the context, after calling
 * callback(RET_OK, "", 0, userData). Returns NULL, calling nothing, when
 * callback is NULL (as Nim does); the reason is logged at SDS_LOG_ERROR
 * (see "Logging": on stderr unless SdsSetLogCallback was called). The same
 * holds for every Sds* constructor. */
void* SdsNewReliabilityManager(SdsCallBack callback, void* userData);

/* Routes this manager's events to callback with userData (NULL callback:
 * events are dropped). Takes effect for events raised after it returns.
 * Invalid ctx: ignored. */
void SdsSetEventCallback(void* ctx, SdsCallBack callback, void* userData);

/* Sets the retrieval-hint provider (NULL: no hints). Invalid ctx: ignored. */
void SdsSetRetrievalHintProvider(void* ctx, SdsRetrievalHintProvider callback, void* userData);

/* Destroys the manager: callback(RET_OK, NULL, 0, userData). The context is
 * invalid from then on; calls on it still running finish normally.
 * If state could not be written before the manager closed (its store
 * failed and the last retry failed too, or the embedded store could not
 * be closed), that state is lost: the manager is destroyed all the same,
 * callback(RET_ERR, "error cleaning up reliability manager: <reason>") is
 * called, the reason is logged at SDS_LOG_ERROR, and RET_ERR returned. */
int SdsCleanupReliabilityManager(void* ctx, SdsCallBack callback, void* userData);

/* Forgets every channel and all its state. Result: "" on success. */
int SdsResetReliabilityManager(void* ctx, SdsCallBack callback, void* userData);

/* Wraps message (messageLen bytes; must not be empty, at most 1 MiB by
 * default) for broadcast on channelId under messageId (unique on that
 * channel). The message joins the outgoing buffer until a peer
 * acknowledges it ("message_sent").
 * Argument errors: message NULL with messageLen > 0, messageId NULL,
 * channelId NULL or "".
 * Result: the wire bytes as decimal numbers joined by commas,
 * "10,2,109,49,...". See SdsWrapOutgoingMessageBinary for raw bytes. */
int SdsWrapOutgoingMessage(void* ctx,
                    void* message,
                    size_t messageLen,
                    const char* messageId,
                    const char* channelId,
                    SdsCallBack callback,
                    void* userData);

/* Processes a received wire message (either wire format). Argument error:
 * message NULL with messageLen > 0.
 * Result: JSON {"message":[104,105],"channelId":"c1",
 *   "missingDeps":[{"messageId":"m0","retrievalHint":"<base64>"}]}
 * with the content as an array of byte values; missingDeps lists the
 * dependencies this participant has not seen ([] when none), each with
 * ,"senderId":"..." after the hint when its sender is known. Delivery is
 * reported by "message_ready" events. See SdsUnwrapReceivedMessageBinary. */
int SdsUnwrapReceivedMessage(void* ctx,
                    void* message,
                    size_t messageLen,
                    SdsCallBack callback,
                    void* userData);

/* Tells the manager the host obtained these messages some other way: they
 * count as present from now on, and what waited on them is delivered.
 * Argument errors: messageIDs NULL with count > 0, a NULL entry, channelId
 * NULL or "". An unknown channel fails the operation. Result: "". */
int SdsMarkDependenciesMet(void* ctx,
                    char** messageIDs,
                    size_t count,
                    const char* channelId,
                    SdsCallBack callback,
                    void* userData);

/* Starts the time-driven work on a thread of the library's own, as the Nim
 * library does: a periodic_sync event at once and every
 * syncMessageIntervalMs, the buffer sweep (message_resend, message_failed,
 * dependencies_lost) every bufferSweepIntervalMs and the SDS-R sweep
 * (repair_ready, repair_request) every repairSweepIntervalMs and whenever
 * a repair falls due, each also once at start.
 * Starting them again does nothing; SdsCleanupReliabilityManager stops
 * them. Result: "". */
int SdsStartPeriodicTasks(void* ctx, SdsCallBack callback, void* userData);


/* =========================================================================
 * Part 2: additions of this library
 * ========================================================================= */

/* The library's version, "major.minor.patch". SdsVersion() returns the
 * version of the library actually loaded (a static string; do not free). */
#define SDS_VERSION "0.1.0"
const char* SdsVersion(void);

/* Releases a buffer this library allocated for the host: the results of the
 * *Binary functions and their error messages. NULL is ignored. Never pass
 * it a msg buffer of a callback. */
void SdsFree(void* p);

/* Creates a manager from a JSON object (NULL or "" means "{}"): every key is
 * optional, unknown keys are rejected.
 *   "participantId":         string, this participant's id (sender id on
 *                            the wire); "" (the default) disables SDS-R
 *   "wireFormat":            "nim" (default) or "rfc" - the format wrap
 *                            produces; unwrap accepts both
 *   "logLevel":              "trace", "debug", "info" (default), "warn",
 *                            "error" or "off" (see SdsSetLogCallback)
 *   "bloomFilterCapacity":   integer > 0 (10000)
 *   "bloomFilterErrorRate":  number in (0, 1) (0.001)
 *   "bloomAckThreshold":     integer > 0 (1): received bloom filters that
 *                            must contain our message to acknowledge it
 *   "fullBloomFilter":       true or false (false). false: in the "nim"
 *                            format a message carries a bloom filter of
 *                            the ids received, sent or marked met within
 *                            ackWindowMs, sized for bloomFilterErrorRate at
 *                            their number, never larger than the whole
 *                            filter (hundreds of bytes in a quiet chat).
 *                            true: every message carries the channel's
 *                            whole filter, byte for byte as the Nim libsds
 *                            (18.8 KB at the defaults). "rfc" always
 *                            carries the whole filter
 *   "ackWindowMs":           integer >= 0 (0: the longest a peer with these
 *                            settings waits for an acknowledgement,
 *                            (maxResendAttempts + 1) x (resendIntervalMs +
 *                            bufferSweepIntervalMs), plus the longer
 *                            possiblyAckedResendIntervalMs when
 *                            bloomAckThreshold > 1: 720000 at the defaults)
 *   "maxMessageHistory":     integer > 0 (1000)
 *   "maxCausalHistory":      integer in [0, maxMessageHistory] (10)
 *   "resendIntervalMs":      integer > 0 (60000)
 *   "maxResendAttempts":     integer >= 0 (5)
 *   "possiblyAckedResendIntervalMs": integer > 0 (120000), resend interval
 *                            of a message seen in fewer than
 *                            bloomAckThreshold received filters
 *   "syncMessageIntervalMs": integer > 0 (30000)
 *   "bufferSweepIntervalMs": integer > 0 (60000)
 *   "maxDependencyWaitMs":   integer > 0 (900000), how long a received
 *                            message waits for missing dependencies
 *   "onLostDependencies":    "deliver" (default) or "drop"
 *   "maxIncomingBuffer":     integer > 0 (10000), messages waiting per
 *                            channel
 *   "repairTMinMs":          integer >= 0 (500): SDS-R asks for a missing
 *                            message T_req after noticing the gap, in
 *                            [repairTMinMs, repairTMaxMs) (the RFC
 *                            formula; Nim's window is 30000-300000)
 *   "repairTMaxMs":          integer >= repairTMinMs (2000)
 *   "repairPolicy":          "prompt" (default) or "rfc": what happens
 *                            around T_req and T_resp. "prompt" retries a
 *                            request every repairRetryIntervalMs (doubling
 *                            after the first retry) until the message
 *                            arrives, lets the original sender answer at
 *                            once and the others (after
 *                            repairResponseGraceMs plus their T_resp over
 *                            repairResponseWindowMs) only a repeated
 *                            request, and answers what a peer's sync shows
 *                            missing; "rfc" follows the RFC and the Nim
 *                            library (a request is sent once; every group
 *                            member answers at T_resp over repairTMaxMs)
 *   "repairRequestSync":     true (default) or false: a due repair request
 *                            is handed out at once in a sync message of its
 *                            own (repair_request event). A Nim peer
 *                            delivers a Nim-format sync message as an empty
 *                            message: set false in groups with Nim peers
 *                            (requests then ride on the next message only)
 *   "repairRetryIntervalMs": integer > 0 (3000)
 *   "repairResponseWindowMs": integer >= 0 (10000)
 *   "repairResponseGraceMs": integer >= 0 (1500), about a network round
 *                            trip
 *   "logRetentionMs":        integer >= 0 (900000): with a participant id,
 *                            log entries younger than this stay beyond
 *                            maxMessageHistory (maxLogBytes still bounds
 *                            them), so that they can be repaired while
 *                            peers may wait for them; 0: count alone
 *   "numResponseGroups":     integer > 0 (1)
 *   "maxRepairRequests":     integer >= 0 (3)
 *   "repairSweepIntervalMs": integer > 0 (5000)
 *   "maxPendingRepairs":     integer > 0 (1000), per SDS-R buffer
 *   "rememberDelivered":     integer >= 0 (10000), ids of messages evicted
 *                            from the log still recognised as delivered
 *   "maxContentSize":        integer > 0 (1048576), largest content wrapped
 *   "maxChannels":           integer > 0 (1000), channels one manager holds;
 *                            a call naming one more fails ("too many
 *                            channels") and creates nothing
 *   "maxIncomingBytes":      integer > 0 (134217728), memory of all
 *                            channels' incoming buffers together (content
 *                            and causal history); beyond it the oldest
 *                            waiting messages are evicted
 *                            (incoming_evicted)
 *   "maxLogBytes":           integer > 0 (536870912), memory of all
 *                            channels' local logs together; beyond it a
 *                            channel's oldest log entries are evicted
 *   "storePath":             string, "" (default: state in memory only) or
 *                            the path of a file: every channel's state is
 *                            kept in an embedded durable store there
 *                            (created if needed, closed by
 *                            SdsCleanupReliabilityManager), so a manager
 *                            created later over the same file resumes
 *                            each channel where this one stopped. One
 *                            manager (and process) at a time can hold it.
 *                            A failed write never fails an operation: it
 *                            is logged and retried with the channel's next
 *                            operation. If the file cannot be opened,
 *                            creation fails: callback(RET_ERR, "Failed
 *                            creating reliability manager: <reason>").
 *   "persistMaxPending":     integer >= 0 (0: the library's default, 65536),
 *                            writes one channel keeps for retry while its
 *                            store fails; beyond it persistence_backlog
 *                            events report the channel (writes are kept)
 *   "limits":                object bounding what decoding one received
 *                            message may cost; integers > 0: maxMessageBytes
 *                            (1114112), maxIdBytes (1024), maxHintBytes
 *                            (4096), maxHistoryEntries (1024),
 *                            maxRepairEntries (256), maxBloomBytes (1048576)
 * A null value means the default. On success: callback(RET_OK, "", 0,
 * userData), returns the context. On error (bad JSON, unknown key, value
 * out of range): callback(RET_ERR, "invalid config: <reason>"), returns
 * NULL. callback NULL: returns NULL without creating anything. */
void* SdsNewReliabilityManagerWithConfig(const char* configJson, SdsCallBack callback, void* userData);

/* ---- Binary fast path --------------------------------------------------
 * Same operations as SdsWrapOutgoingMessage / SdsUnwrapReceivedMessage,
 * without text encoding and without a result callback: the result is
 * returned through out-parameters, in a buffer the host owns and releases
 * with SdsFree. Events still go to the event callback.
 * Return: RET_OK, or RET_ERR - then, if error is not NULL, *error receives a
 * NUL-terminated message (release with SdsFree) for every failure,
 * including an invalid ctx ("invalid context") and invalid arguments (the
 * same checks as the text functions, plus NULL out-parameters). Output
 * parameters are set to NULL/0 on failure. */

/* On success *wire points to the wire bytes (*wireLen of them, plus a
 * trailing NUL not counted). */
int SdsWrapOutgoingMessageBinary(void* ctx,
                    const void* message,
                    size_t messageLen,
                    const char* messageId,
                    const char* channelId,
                    uint8_t** wire,
                    size_t* wireLen,
                    char** error);

/* A causal-history entry. Strings are also NUL-terminated (the length does
 * not count the NUL); a missing hint or sender id has length 0. */
typedef struct SdsHistoryEntry {
    const char*    messageId;
    size_t         messageIdLen;
    const uint8_t* retrievalHint;
    size_t         retrievalHintLen;
    const char*    senderId;
    size_t         senderIdLen;
} SdsHistoryEntry;

/* SdsUnwrapResult.flags */
#define SDS_UNWRAP_DELIVERED  1u  /* delivered by this call (its dependencies were met) */
#define SDS_UNWRAP_DUPLICATE  2u  /* already delivered, or already waiting in the buffer */

/* SdsUnwrapResult.kind */
#define SDS_MESSAGE_REGULAR   0u  /* content message, delivered in causal order */
#define SDS_MESSAGE_SYNC      1u  /* empty content: acknowledgements only, never delivered */
#define SDS_MESSAGE_EPHEMERAL 2u  /* no Lamport timestamp (RFC format): delivered at once, no state */

/* SdsUnwrapResult.wireFormat */
#define SDS_WIRE_NIM          0u
#define SDS_WIRE_RFC          1u

/* What an unwrap learned. One allocation holds the struct, the entry array
 * and every string: SdsFree(result) releases all of it. */
typedef struct SdsUnwrapResult {
    const char*            channelId;
    size_t                 channelIdLen;
    const char*            messageId;
    size_t                 messageIdLen;
    const char*            senderId;          /* "" when the sender sent none */
    size_t                 senderIdLen;
    const uint8_t*         content;           /* the application payload */
    size_t                 contentLen;
    const SdsHistoryEntry* missingDeps;       /* as in the JSON result */
    size_t                 missingDepsCount;
    uint32_t               flags;             /* SDS_UNWRAP_* */
    uint8_t                kind;              /* SDS_MESSAGE_* */
    uint8_t                wireFormat;        /* SDS_WIRE_* */
} SdsUnwrapResult;

/* On success *result points to the result (release with SdsFree). */
int SdsUnwrapReceivedMessageBinary(void* ctx,
                    const void* message,
                    size_t messageLen,
                    SdsUnwrapResult** result,
                    char** error);

/* ---- Sync and ephemeral messages (RFC) -----------------------------------
 * Results and errors as SdsWrapOutgoingMessage (text, through the callback)
 * and SdsWrapOutgoingMessageBinary (binary) give them. */

/* A sync message for channelId, to broadcast when periodic_sync asks for
 * one: no content, the causal history and bloom filter a regular message
 * would carry (so peers learn what this participant has), and due SDS-R
 * requests. It is not buffered or logged; receivers only process its
 * acknowledgements (SDS_MESSAGE_SYNC). Argument errors: channelId NULL or
 * "". */
int SdsWrapSyncMessage(void* ctx, const char* channelId, SdsCallBack callback, void* userData);
int SdsWrapSyncMessageBinary(void* ctx,
                    const char* channelId,
                    uint8_t** wire,
                    size_t* wireLen,
                    char** error);

/* An ephemeral message: content with no Lamport timestamp, causal history
 * or bloom filter, for which no reliability is wanted; it touches no
 * channel state, and receivers deliver it at once (SDS_MESSAGE_EPHEMERAL;
 * no message_ready). Only the RFC wire format can carry one: on a manager
 * with "wireFormat":"nim" (the default) the operation fails. Arguments as
 * SdsWrapOutgoingMessage's. */
int SdsWrapEphemeralMessage(void* ctx,
                    void* message,
                    size_t messageLen,
                    const char* messageId,
                    const char* channelId,
                    SdsCallBack callback,
                    void* userData);
int SdsWrapEphemeralMessageBinary(void* ctx,
                    const void* message,
                    size_t messageLen,
                    const char* messageId,
                    const char* channelId,
                    uint8_t** wire,
                    size_t* wireLen,
                    char** error);

/* ---- Persistence kept by the host ----------------------------------------
 * A manager created with SdsNewReliabilityManagerWithPersistence keeps
 * every channel's state in a store of the host, through these functions,
 * so that a manager created later over the same store resumes each channel
 * where this one stopped (the "storePath" key does the same with a store
 * of the library's own). A channel is loaded when first used (wrap,
 * unwrap, sync wrap; SdsMarkDependenciesMet sees only loaded channels),
 * and each operation writes what it changed before its events run.
 *
 * The functions run on the thread of the call that caused them (or the
 * periodic tasks' thread), never two for one channel at once, but for
 * different channels possibly at once: they must be thread-safe. They must
 * not call into this library (except the SdsLoaderAdd* functions, from
 * loadChannel). Every pointer passed to them is owned by the library and
 * valid during the call only: copy what you keep. Byte strings (ids, keys,
 * values, messages) may contain any byte, NUL included; channel and message
 * ids are also NUL-terminated (the NUL not counted). Each function returns
 * 0 on success, anything else on failure - and a failed call must have
 * changed nothing (apply each call atomically).
 *
 * Failures: a failed write never fails the operation - it is logged and
 * retried with the channel's next operation (persistence_backlog events
 * report a channel that keeps failing; see "persistMaxPending"). A failed
 * loadChannel fails the operation that needed the channel
 * (callback(RET_ERR, "<reason>")); the next operation tries again.
 *
 * The five functions include no read of one message, and none is needed:
 * with them the library keeps every logged message in memory, as without
 * a store. With "storePath" it keeps content, causal history and all but
 * the newest maxCausalHistory ids in its own store, and reads them back
 * when a repair answer or an eviction needs them. */

typedef struct SdsBytes {
    const uint8_t* data;
    size_t         len;
} SdsBytes;

/* Opaque; valid only during the loadChannel call it is passed to. */
typedef struct SdsLoader SdsLoader;

typedef struct SdsPersistence {
    void* userData; /* passed back untouched as the first argument */

    /* Applies a change to the channel's records (a key-value map per
     * channel): stores putValues[i] under putKeys[i] (replacing any), for
     * i < nPuts, and removes deleteKeys[i] (absent keys are ignored), for
     * i < nDeletes. No key is both put and deleted. */
    int (*saveChannelMeta)(void* userData, const char* channelId, size_t channelIdLen,
                           const SdsBytes* putKeys, const SdsBytes* putValues, size_t nPuts,
                           const SdsBytes* deleteKeys, size_t nDeletes);

    /* Applies a change to the channel's history, a list of messages in the
     * order appended: first appends appendMessages[i] (wire bytes, Nim
     * format) with id appendIds[i], in order, each at the end (an id
     * already in the history is replaced and moves to the end); then
     * removes the messages evictIds[i], and their retrieval hints (absent
     * ids are ignored). */
    int (*updateHistory)(void* userData, const char* channelId, size_t channelIdLen,
                         const SdsBytes* appendIds, const SdsBytes* appendMessages, size_t nAppends,
                         const SdsBytes* evictIds, size_t nEvicts);

    /* Hands the channel's stored state to the library through loader:
     * SdsLoaderAddRecord for each record, SdsLoaderAddHistory for each
     * history message, oldest first, SdsLoaderAddHint for each hint. A
     * channel never written (or dropped) adds nothing and succeeds. */
    int (*loadChannel)(void* userData, const char* channelId, size_t channelIdLen,
                       SdsLoader* loader);

    /* Removes everything stored for the channel (an unknown channel
     * succeeds); SdsResetReliabilityManager drops channels. */
    int (*dropChannel)(void* userData, const char* channelId, size_t channelIdLen);

    /* Stores the retrieval hint of a message of the channel's history,
     * replacing any; hintLen 0 removes it. Kept until the message is
     * evicted or the channel dropped. */
    int (*saveRetrievalHint)(void* userData, const char* channelId, size_t channelIdLen,
                             const char* messageId, size_t messageIdLen,
                             const uint8_t* hint, size_t hintLen);
} SdsPersistence;

/* Called from loadChannel only, with its loader; the library copies the
 * bytes. Return RET_OK, or RET_ERR for a NULL pointer with a length > 0, a
 * loader that is not the one of a running loadChannel, or (AddHistory)
 * bytes that are not a Nim-format SDS message - the load then fails. */
int SdsLoaderAddRecord(SdsLoader* loader, const uint8_t* key, size_t keyLen,
                       const uint8_t* value, size_t valueLen);
int SdsLoaderAddHistory(SdsLoader* loader, const uint8_t* message, size_t messageLen);
int SdsLoaderAddHint(SdsLoader* loader, const uint8_t* messageId, size_t messageIdLen,
                     const uint8_t* hint, size_t hintLen);

/* As SdsNewReliabilityManagerWithConfig, with the host's persistence: the
 * struct is copied (it need not outlive the call), but userData and the
 * functions must stay valid until SdsCleanupReliabilityManager has
 * returned. persistence NULL, a NULL function in it, or "storePath" in the
 * config: callback(RET_ERR, "invalid config: <reason>"), returns NULL. One
 * store must not serve two live managers at once. */
void* SdsNewReliabilityManagerWithPersistence(const char* configJson,
                    const SdsPersistence* persistence,
                    SdsCallBack callback,
                    void* userData);

/* ---- Metrics -------------------------------------------------------------
 * What the manager counted since it was created (counters), how things
 * stand now (gauges), and how long received messages waited for their
 * dependencies (a histogram), for the whole manager and per channel.
 * Counting is always on and costs no lock of its own. Counters are kept
 * in memory: a manager over a store ("storePath", host persistence) starts
 * from zero. A channel's own figures go when the channel goes (reset); the
 * manager's counters keep what it counted, so they never go back.
 *
 * SdsGetStats answers callback(RET_OK, <JSON>) with one object (keys in
 * this order, no whitespace; numbers are integers but for the *Seconds
 * keys):
 *   {"channels":2,"persistenceEnabled":false,
 *    "counters":{...},"gauges":{...},"incomingWait":{...},
 *    "perChannel":[{"channelId":"c1","counters":{...},"gauges":{...},
 *                   "incomingWait":{...}}, ...]}
 * "channels" is the number of channels the manager holds, and
 * "perChannel" their figures, sorted by channelId; "persistenceEnabled"
 * says whether it keeps their state in a store. At the top level,
 * "counters" and "incomingWait" cover every channel, removed ones
 * included, and "gauges" add up the channels held.
 *
 * "counters" (each counts since creation; "manager only" ones are 0 in
 * perChannel, belonging to no channel):
 *   "wrappedContent"         messages wrapped (SdsWrapOutgoingMessage*)
 *   "wrappedSync"            sync messages wrapped (SdsWrapSyncMessage*)
 *   "wrappedEphemeral"       ephemeral messages wrapped (manager only)
 *   "receivedContent"        content messages unwrapped
 *   "receivedSync"           sync messages unwrapped
 *   "receivedEphemeral"      ephemeral messages unwrapped (manager only)
 *   "unwrapErrors"           unwraps that failed: undecodable, over a
 *                            limit, or refused (manager only)
 *   "delivered"              deliveries (message_ready events)
 *   "duplicates"             content messages received again (delivered,
 *                            waiting or marked met before)
 *   "acknowledgedByHistory"  our messages acknowledged (message_sent) by a
 *                            received causal history naming them
 *   "acknowledgedByBloom"    ... by received bloom filters holding them
 *   "resends"                message_resend events
 *   "failed"                 message_failed events
 *   "missingDependencyReports" missing_dependencies events
 *   "dependenciesLostReports" dependencies_lost events
 *   "dependenciesLost"       the ids those events gave up on
 *   "incomingEvicted"        incoming_evicted events
 *   "repairRequestsSent"     SDS-R repair requests in the messages this
 *                            participant made (content, sync and the
 *                            repair_request sync messages)
 *   "repairRequestRetries"   of those, requests sent again
 *   "repairRequestSyncs"     repair_request events
 *   "repairRequestsReceived" repair requests in received messages
 *   "repairsAnswered"        repair_ready events
 *   "repairsAnsweredAsSender" of those, for our own messages
 *   "repairSyncGaps"         answers planned unasked: a peer's sync message
 *                            lacked one of our messages
 *   "repairsArrived"         messages that arrived while we were asking
 *                            for them
 *   "bytesSent"              wire bytes of every message this participant
 *                            made (wraps, and the message of
 *                            message_resend, repair_ready and
 *                            repair_request events)
 *   "bloomBytesSent"         of those, the bloom filters (their fields'
 *                            bytes: tag, length and filter)
 *   "bytesReceived"          wire bytes of the messages unwrapped
 *   "bloomBytesReceived"     of those, the bloom filters
 *   "persistenceFailures"    failed writes to the store (each is retried)
 *   "persistenceBacklogs"    persistence_backlog events
 * "gauges" (now):
 *   "outgoing"               our messages waiting for acknowledgement
 *   "incoming"               received messages waiting for dependencies
 *   "incomingBytes"          their memory, as counted against
 *                            maxIncomingBytes
 *   "logEntries"             messages in the local logs
 *   "logBytes"               their memory, as counted against maxLogBytes
 *   "repairRequestsPending"  SDS-R requests waiting for their time
 *   "repairResponsesPending" SDS-R answers waiting for their time
 *   "persistencePending"     writes waiting for retry after store failures
 * "incomingWait": how long each message delivered from the incoming
 * buffer waited there (messages delivered on arrival are not counted):
 *   {"bucketsSeconds":[0.01,0.1,0.5,1,2,5,10,30,60,120,300,600,900,1800],
 *    "counts":[...],"count":7,"sumSeconds":12.5}
 *   "bucketsSeconds"         the buckets' upper bounds, in seconds (always
 *                            these)
 *   "counts"                 one more than the bounds: counts[i] counts the
 *                            waits at most bucketsSeconds[i] and longer
 *                            than the bound before (not cumulative); the
 *                            last, those longer than the largest bound
 *   "count"                  all of them; "sumSeconds" their total wait
 * Result otherwise as the other int-returning functions of Part 1 (ctx,
 * callback). The call holds each channel only while copying its counters.
 */
int SdsGetStats(void* ctx, SdsCallBack callback, void* userData);

/* ---- Logging -----------------------------------------------------------
 * The library's diagnostics, one JSON object per line as zerolog writes
 * them, e.g. {"level":"warn","ctx":"0x7f...","time":"...","message":"..."}
 * (without a trailing newline). Process-wide. Until the first call of
 * SdsSetLogCallback, lines at SDS_LOG_ERROR are written to stderr (why a
 * constructor returned NULL, state lost at cleanup, a recovered internal
 * error) and the others dropped; after SdsSetLogCallback(NULL, ...) every
 * line is dropped. Each manager filters by its "logLevel" (managers
 * created by SdsNewReliabilityManager log at "info"). The callback may run on any
 * thread, on several at once; msg is NUL-terminated and valid during the
 * callback only. Do not call the library from inside it. */
#define SDS_LOG_TRACE 0
#define SDS_LOG_DEBUG 1
#define SDS_LOG_INFO  2
#define SDS_LOG_WARN  3
#define SDS_LOG_ERROR 4

typedef void (*SdsLogCallback) (int level, const char* msg, size_t len, void* userData);

void SdsSetLogCallback(SdsLogCallback callback, void* userData);


/* =========================================================================
 * Part 3: the CBOR generation (sds_*)
 * =========================================================================
 *
 * The functions of the Nim libsds built on nim-ffi 0.2, with the same
 * names, signatures, return codes and encodings, and additions of this
 * library (sds_wrap_sync_message, sds_wrap_ephemeral_message,
 * sds_get_stats, and the extra keys of the sds_create configuration; also
 * the events named below). The types SdsCallBack and SdsRetrievalHintProvider and the RET_*
 * codes are those above.
 *
 * ---- CBOR (RFC 8949) as nim-ffi writes and reads it ----------------------
 * Objects are maps with text keys, written with definite lengths, keys in
 * the order given here; integers in their shortest form; bool as
 * 0xf4/0xf5; "bytes" is a byte string (major type 2; empty: 0x40), "tstr"
 * a text string, [T] an array (empty: 0x80). On input, indefinite lengths,
 * keys in any order and missing keys (which keep their zero value: 0, "",
 * empty) are accepted; an unknown or repeated key, a value of the wrong
 * type, a tag, trailing bytes after the request, or a request that is not
 * a map is a decoding error. Text strings are not checked for UTF-8 (Nim
 * does not check them either). Decoding is bounded: 16 levels of nesting,
 * 256 keys per map, 2^20 elements per array, 256 MiB per request.
 *
 * Each request-taking function decodes one map whose keys are the Nim
 * procedure's parameter names: {"req": {...}} for the operations,
 * {"config": {...}} for sds_create, and, for the procedures without
 * parameters (sds_reset, sds_start_periodic_tasks, sds_get_stats),
 * {"_placeholder": 0} - the empty map {} (0xa0) is accepted as well.
 * An empty request (length 0) is a decoding error, as in Nim.
 *
 * ---- Return codes and callbacks of the request-taking functions ---------
 * (sds_wrap_outgoing_message, sds_unwrap_received_message,
 * sds_mark_dependencies_met, sds_reset, sds_start_periodic_tasks,
 * sds_set_retrieval_hint_provider and the three additions), checked in this
 * order (nim-ffi's):
 *  1. callback NULL: returns RET_MISSING_CALLBACK, calls nothing.
 *  2. ctx NULL, foreign or destroyed: callback(RET_ERR, "ctx is not a
 *     valid FFI context"), returns RET_ERR.
 *  3. the request does not decode: callback(RET_ERR, "CBOR decode failed
 *     for <NimType>: <reason>"), returns RET_OK. (reqCbor NULL with
 *     reqCborLen > 0 is such a failure.) <NimType> is the procedure's
 *     request type, e.g. SdsWrapOutgoingMessageReq.
 *  4. the operation fails: callback(RET_ERR, "error processing <op>
 *     request: <reason>"), returns RET_OK; <op> is wrap, unwrap,
 *     mark-dependencies, reset, start-periodic-tasks,
 *     set-retrieval-hint-provider, wrap-sync, wrap-ephemeral or
 *     get-stats.
 *  5. success: callback(RET_OK, <CBOR result>), returns RET_OK.
 * Error messages are plain UTF-8 text, not CBOR (as in nim-ffi). A result
 * is never empty: a procedure with nothing to return answers the CBOR text
 * string "" (the single byte 0x60).
 * A Go panic inside the library: RET_ERR, and callback(RET_ERR,
 * "libsds error: internal error in <function>: ...") unless the callback
 * already ran.
 *
 * ---- Threads, callbacks and buffers --------------------------------------
 * As for the other parts (see the top of this file): every function may be
 * called from any thread and from inside callbacks; the result callback
 * runs exactly once, synchronously, on the calling thread, before the
 * function returns (nim-ffi runs it later on its own thread: programs that
 * wait for it work with both); events run on the thread whose call caused
 * them, the time-driven ones (after sds_start_periodic_tasks) on a thread
 * of the library. The msg buffers of results, errors and events belong to
 * the library and follow the rules of "Buffers handed to callbacks" above
 * (nim-ffi frees them when the callback returns; copying during the
 * callback works with both). Request buffers are only read during the
 * call.
 *
 * ---- Events ----------------------------------------------------------------
 * A listener registered for an event name receives, with callerRet
 * RET_OK, the CBOR envelope
 *   {"eventType": tstr, "payload": <object>}
 * with these payloads (eventType, then payload keys in order):
 *   "message_ready"        {messageId: tstr, channelId: tstr}
 *   "message_sent"         {messageId: tstr, channelId: tstr}
 *                          (a peer acknowledged our message)
 *   "missing_dependencies" {messageId: tstr, channelId: tstr,
 *                           missingDeps: [{messageId: tstr,
 *                                          retrievalHint: bytes,
 *                                          ? senderId: tstr}]}
 *                          (senderId, this library's, when known; the
 *                          unwrap result's missingDeps alike)
 *   "periodic_sync"        {placeholder: false}
 *   "repair_ready"         {message: bytes, channelId: tstr}
 * and, from this library only (their meaning is that of the JSON events
 * of Part 1):
 *   "message_resend"       {messageId: tstr, channelId: tstr,
 *                           attempt: uint, message: bytes}
 *   "message_failed"       {messageId: tstr, channelId: tstr}
 *   "dependencies_lost"    {messageId: tstr, channelId: tstr,
 *                           lost: [tstr]}
 *   "incoming_evicted"     {messageId: tstr, channelId: tstr}
 *   "persistence_backlog"  {channelId: tstr}
 *   "repair_request"       {messageId: tstr, channelId: tstr,
 *                           requested: [tstr], message: bytes}
 * One buffer is shared by all the listeners of one event. A context that
 * also has an SdsSetEventCallback callback gets the JSON form there too.
 */

/* Creates a manager. reqCbor: {"config": SdsConfig}, where SdsConfig is
 * Nim's {participantId: tstr} ("" disables SDS-R) and, in this library,
 * may hold every key of the JSON configuration of
 * SdsNewReliabilityManagerWithConfig, with the same names, meanings and
 * defaults: integers as CBOR integers, bloomFilterErrorRate as a float,
 * strings as text, "limits" as a map; null means the default. A missing
 * "config" (the request {}) means all defaults. One more key, of this
 * library too:
 *   "persistenceAddr": uint, the address of an SdsPersistence (Part 2):
 *                      the host's persistence, as with
 *                      SdsNewReliabilityManagerWithPersistence (the struct
 *                      is copied during the call; its functions and
 *                      userData must stay valid until sds_destroy has
 *                      returned). 0 means none; not with "storePath". The
 *                      library cannot check the address.
 * On success: callback(RET_OK, <CBOR text string of the context value in
 * decimal>) - nim-ffi's answer - then returns the context.
 * On failure returns NULL after callback(RET_ERR, msg) with msg
 * "ffiCtor: failed to decode request: <reason>" (not CBOR, unknown key,
 * wrong type), or "Failed creating reliability manager: <reason>" (a value
 * out of range, a store that cannot be opened).
 * callback may be NULL: the manager is created and nothing is called. */
void* sds_create(const uint8_t* reqCbor, size_t reqCborLen, SdsCallBack callback, void* userData);

/* Destroys the manager, as SdsCleanupReliabilityManager does (stops the
 * periodic tasks, closes a store, drops every listener); calls nothing.
 * Returns RET_OK, or RET_ERR for a NULL, foreign or destroyed ctx, and
 * RET_ERR when state could not be written before the manager closed (as
 * for SdsCleanupReliabilityManager; the manager is destroyed all the same
 * and the reason logged at SDS_LOG_ERROR). */
int sds_destroy(void* ctx);

/* Subscribes callback(RET_OK, <envelope>, len, userData) to the events
 * named eventName (one of the names above; other names are accepted and
 * never fire; NULL means ""). Several listeners may subscribe to one name;
 * each event reaches them in the order they subscribed. Returns the
 * listener id: unique within the context, never 0, never reused (1, 2, 3,
 * ...). Returns 0 for a NULL callback or an invalid ctx.
 * A listener may add or remove listeners (itself included) from inside its
 * callback; a listener removed while an event is being dispatched is not
 * called for it any more (unless its call already started on another
 * thread). */
uint64_t sds_add_event_listener(void* ctx, const char* eventName, SdsCallBack callback, void* userData);

/* Removes a listener. Returns 0 on success, 1 if the context has no such
 * listener (or ctx is invalid). */
int sds_remove_event_listener(void* ctx, uint64_t listenerId);

/* Sets the retrieval-hint provider. reqCbor:
 *   {"req": {"callbackAddr": uint, "userDataAddr": uint}}
 * the SdsRetrievalHintProvider function pointer and its user data as
 * integers (callbackAddr 0 removes the provider). The provider works as
 * with SdsSetRetrievalHintProvider: the host allocates the hint with
 * malloc() and the library releases it with free(). The library cannot
 * check the address: it must be a valid provider. Result: "" (0x60). */
int sds_set_retrieval_hint_provider(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* reqCbor: {"req": {"message": bytes, "messageId": tstr, "channelId": tstr}}
 * result:  {"message": bytes}, the wire bytes to broadcast.
 * As SdsWrapOutgoingMessage (content not empty, at most maxContentSize;
 * message ids unique per channel; channelId not empty - here these are
 * failures of the operation, step 4). */
int sds_wrap_outgoing_message(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* reqCbor: {"req": {"message": bytes}}, received wire bytes (either format)
 * result:  {"message": bytes, "channelId": tstr,
 *           "missingDeps": [{"messageId": tstr, "retrievalHint": bytes,
 *                            ? "senderId": tstr}]}
 * message is the content, missingDeps the dependencies not seen yet
 * (empty array when none; senderId when the sender is known); delivery
 * is reported by "message_ready". */
int sds_unwrap_received_message(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* reqCbor: {"req": {"messageIds": [tstr], "channelId": tstr}}
 * As SdsMarkDependenciesMet (an unknown channel fails). Result: "". */
int sds_mark_dependencies_met(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* reqCbor: {"_placeholder": 0} or {}. As SdsResetReliabilityManager.
 * Result: "". */
int sds_reset(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* reqCbor: {"_placeholder": 0} or {}. As SdsStartPeriodicTasks.
 * Result: "". */
int sds_start_periodic_tasks(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* ---- Additions of this library, in the same style ----------------------- */

/* reqCbor: {"req": {"channelId": tstr}}
 * result:  {"message": bytes}: a sync message, as SdsWrapSyncMessage. */
int sds_wrap_sync_message(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* reqCbor and result as sds_wrap_outgoing_message: an ephemeral message,
 * as SdsWrapEphemeralMessage (only with "wireFormat": "rfc"). */
int sds_wrap_ephemeral_message(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

/* reqCbor: {"_placeholder": 0} or {}.
 * result:  the manager's metrics, as SdsGetStats (Part 2) describes them:
 *          the same maps, keys, order and meanings, integers as CBOR
 *          integers, the *Seconds values as floats, true/false as CBOR
 *          bools; an error message names the operation "get-stats". */
int sds_get_stats(void* ctx, SdsCallBack callback, void* userData, const uint8_t* reqCbor, size_t reqCborLen);

#ifdef __cplusplus
}
#endif

#endif /* __libsds__ */
