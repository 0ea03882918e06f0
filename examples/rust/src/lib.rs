//! A safe Rust binding of libsds, the SDS (Scalable Data Sync) library, over
//! its C ABI (`include/libsds.h`, declared by hand in [`ffi`]). Std only.
//!
//! ```no_run
//! use libsds::{Config, Event, Manager};
//!
//! let alice = Manager::with_config(&Config::new().participant_id("alice"))?;
//! let bob = Manager::new()?;
//! bob.set_event_handler(|e: &Event| {
//!     if let Event::MessageReady { message_id, .. } = e {
//!         println!("bob has {message_id}");
//!     }
//! });
//! let wire = alice.wrap(b"hello", "m1", "room")?; // broadcast these bytes
//! let got = bob.unwrap(&wire)?;                   // on receipt
//! assert_eq!(got.content, b"hello");
//! # Ok::<(), libsds::Error>(())
//! ```
//!
//! A [`Manager`] owns one library context and releases it on drop. Event
//! handlers and the retrieval-hint provider are closures; they run on the
//! thread whose call caused the event, or (periodic tasks) on a thread of
//! the library's own, with no library lock held, so they may call back into
//! the manager. A panic inside a handler is caught at the C boundary and
//! raised again when the call that caused it returns (on the library's own
//! thread it is printed and dropped).

pub mod ffi;
mod json;
mod stats;

pub use stats::{ChannelStats, Counters, Gauges, Histogram, Stats};

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::{Arc, RwLock};

/// What can go wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The library reported a failure; the text is its reason.
    Sds(String),
    /// The library returned this code without saying why (e.g.
    /// `RET_MISSING_CALLBACK`).
    Code(i32),
    /// A string argument contains a NUL byte, which the C API cannot carry.
    Nul,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sds(m) => write!(f, "libsds: {m}"),
            Error::Code(c) => write!(f, "libsds: return code {c}"),
            Error::Nul => write!(f, "libsds: string argument contains a NUL byte"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// A causal-history entry: a message id, the retrieval hint its sender
/// attached (empty if none) and the id of its sender ("" when the entry
/// names none), the same in unwrap results and events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryEntry {
    pub message_id: String,
    pub retrieval_hint: Vec<u8>,
    pub sender_id: String,
}

/// What kind of message an unwrap saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Content, delivered in causal order.
    Regular,
    /// A sync message: acknowledgements only, never delivered.
    Sync,
    /// An ephemeral message (RFC format): delivered at once, no state.
    Ephemeral,
}

/// What an unwrap learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    pub channel_id: String,
    pub message_id: String,
    /// The sender's participant id ("" if it sent none).
    pub sender_id: String,
    /// The application payload.
    pub content: Vec<u8>,
    /// Dependencies this participant has not seen; the message waits for
    /// them (empty: it was delivered, or is a duplicate).
    pub missing_deps: Vec<HistoryEntry>,
    /// Delivered by this call.
    pub delivered: bool,
    /// Already delivered, or already waiting.
    pub duplicate: bool,
    pub kind: MessageKind,
    /// The wire format it came in: true for the RFC format, false for Nim's.
    pub rfc_format: bool,
}

/// An event of a manager (the JSON events of `include/libsds.h`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A received message was delivered (its dependencies are met).
    MessageReady { message_id: String, channel_id: String },
    /// A peer acknowledged our message.
    MessageSent { message_id: String, channel_id: String },
    /// A received message waits for messages this participant lacks.
    MissingDependencies {
        message_id: String,
        channel_id: String,
        missing_deps: Vec<HistoryEntry>,
    },
    /// Time to broadcast a sync message ([`Manager::wrap_sync`]).
    PeriodicSync,
    /// SDS-R: broadcast these wire bytes, a message a peer asked for.
    RepairReady { channel_id: String, message: Vec<u8> },
    /// Our message is still unacknowledged: broadcast these bytes again.
    MessageResend {
        message_id: String,
        channel_id: String,
        attempt: u64,
        message: Vec<u8>,
    },
    /// Our message stayed unacknowledged after the last resend.
    MessageFailed { message_id: String, channel_id: String },
    /// A received message stopped waiting for `lost`.
    DependenciesLost {
        message_id: String,
        channel_id: String,
        lost: Vec<String>,
    },
    /// The incoming buffer was full; this message left it undelivered.
    IncomingEvicted { message_id: String, channel_id: String },
    /// The channel's store keeps failing.
    PersistenceBacklog { channel_id: String },
    /// SDS-R: our repair requests for `requested` fell due; broadcast these
    /// wire bytes, a sync message carrying them.
    RepairRequest {
        message_id: String,
        channel_id: String,
        requested: Vec<String>,
        message: Vec<u8>,
    },
    /// An event this binding does not know (its JSON text).
    Unknown(String),
}

impl Event {
    /// Parses an event's JSON text as the library sends it.
    pub fn from_json(text: &str) -> Event {
        Self::parse(text).unwrap_or_else(|| Event::Unknown(text.to_string()))
    }

    fn parse(text: &str) -> Option<Event> {
        let v = json::parse(text)?;
        let s = |k: &str| v.get(k).and_then(json::Value::as_str).map(str::to_string);
        let id = || s("messageId");
        let ch = || s("channelId");
        let bytes = |k: &str| json::base64_decode(v.get(k)?.as_str()?);
        let strings = |k: &str| -> Option<Vec<String>> {
            v.get(k)?
                .as_array()?
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect()
        };
        Some(match v.get("eventType")?.as_str()? {
            "message_ready" => Event::MessageReady {
                message_id: id()?,
                channel_id: ch()?,
            },
            "message_sent" => Event::MessageSent {
                message_id: id()?,
                channel_id: ch()?,
            },
            "missing_dependencies" => {
                let mut deps = Vec::new();
                for d in v.get("missingDeps")?.as_array()? {
                    deps.push(HistoryEntry {
                        message_id: d.get("messageId")?.as_str()?.to_string(),
                        retrieval_hint: json::base64_decode(d.get("retrievalHint")?.as_str()?)?,
                        sender_id: match d.get("senderId") {
                            Some(s) => s.as_str()?.to_string(),
                            None => String::new(),
                        },
                    });
                }
                Event::MissingDependencies {
                    message_id: id()?,
                    channel_id: ch()?,
                    missing_deps: deps,
                }
            }
            "periodic_sync" => Event::PeriodicSync,
            "repair_ready" => Event::RepairReady {
                channel_id: ch()?,
                message: bytes("message")?,
            },
            "message_resend" => Event::MessageResend {
                message_id: id()?,
                channel_id: ch()?,
                attempt: v.get("attempt")?.as_u64()?,
                message: bytes("message")?,
            },
            "message_failed" => Event::MessageFailed {
                message_id: id()?,
                channel_id: ch()?,
            },
            "dependencies_lost" => Event::DependenciesLost {
                message_id: id()?,
                channel_id: ch()?,
                lost: strings("lost")?,
            },
            "incoming_evicted" => Event::IncomingEvicted {
                message_id: id()?,
                channel_id: ch()?,
            },
            "persistence_backlog" => Event::PersistenceBacklog { channel_id: ch()? },
            "repair_request" => Event::RepairRequest {
                message_id: id()?,
                channel_id: ch()?,
                requested: strings("requested")?,
                message: bytes("message")?,
            },
            _ => return None,
        })
    }
}

/// The configuration of [`Manager::with_config`]: the JSON object of
/// `SdsNewReliabilityManagerWithConfig`, built key by key (see the header
/// for every key; unknown keys are rejected by the library).
#[derive(Debug, Clone, Default)]
pub struct Config {
    fields: Vec<(String, String)>,
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }
    /// This participant's id; enables SDS-R repair.
    pub fn participant_id(self, id: &str) -> Self {
        self.string("participantId", id)
    }
    /// Keeps every channel's state in the library's embedded store at path.
    pub fn store_path(self, path: &str) -> Self {
        self.string("storePath", path)
    }
    /// Any key with a string value.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.fields.push((key.to_string(), json::quote(value)));
        self
    }
    /// Any key with an integer value (the `...Ms` durations, sizes).
    pub fn int(mut self, key: &str, value: i64) -> Self {
        self.fields.push((key.to_string(), value.to_string()));
        self
    }
    /// Any key with a number value.
    pub fn number(mut self, key: &str, value: f64) -> Self {
        self.fields.push((key.to_string(), value.to_string()));
        self
    }
    /// The JSON text handed to the library.
    pub fn to_json(&self) -> String {
        let body: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| format!("{}:{}", json::quote(k), v))
            .collect();
        format!("{{{}}}", body.join(","))
    }
}

type Handler = Arc<dyn Fn(&Event) + Send + Sync>;
type HintProvider = Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// Where the library's callbacks find the closures: registered once, at a
/// fixed heap address, for the manager's lifetime; setting a handler only
/// swaps what is inside.
#[derive(Default)]
struct Slots {
    events: RwLock<Option<Handler>>,
    hints: RwLock<Option<HintProvider>>,
}

/// An SDS manager: any number of channels, one library context.
pub struct Manager {
    ctx: NonNull<c_void>,
    slots: Box<Slots>,
}

// The library is thread-safe: every function may be called from any thread
// on the same manager, and the closures it calls are Send + Sync.
unsafe impl Send for Manager {}
unsafe impl Sync for Manager {}

thread_local! {
    /// A handler's panic, caught at the C boundary, to raise again once the
    /// library call returns on this thread.
    static PANIC: RefCell<Option<Box<dyn Any + Send>>> = const { RefCell::new(None) };
}

fn guard<R>(f: impl FnOnce() -> R) -> Option<R> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(p) => {
            PANIC.with(|slot| {
                let mut slot = slot.borrow_mut();
                if slot.is_none() {
                    *slot = Some(p);
                }
            });
            None
        }
    }
}

/// Raises a panic a handler left on this thread.
fn resume_panic() {
    if let Some(p) = PANIC.with(|slot| slot.borrow_mut().take()) {
        panic::resume_unwind(p);
    }
}

unsafe fn bytes_of<'a>(p: *const u8, len: usize) -> &'a [u8] {
    if p.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, len)
    }
}

unsafe fn string_of(p: *const c_char, len: usize) -> String {
    String::from_utf8_lossy(bytes_of(p.cast(), len)).into_owned()
}

unsafe extern "C" fn on_event(_ret: c_int, msg: *const c_char, len: usize, user_data: *mut c_void) {
    if user_data.is_null() || msg.is_null() {
        return;
    }
    let slots = &*(user_data as *const Slots);
    let handler = slots.events.read().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(h) = handler {
        let event = Event::from_json(&string_of(msg, len));
        guard(|| h(&event));
    }
}

unsafe extern "C" fn on_hint(id: *const c_char, hint: *mut *mut c_char, hint_len: *mut usize, user_data: *mut c_void) {
    if user_data.is_null() || id.is_null() || hint.is_null() || hint_len.is_null() {
        return;
    }
    let slots = &*(user_data as *const Slots);
    let provider = slots.hints.read().unwrap_or_else(|e| e.into_inner()).clone();
    let p = match provider {
        Some(p) => p,
        None => return,
    };
    let id = CStr::from_ptr(id).to_string_lossy();
    if let Some(Some(bytes)) = guard(|| p(&id)) {
        if bytes.is_empty() {
            return;
        }
        // The library takes the buffer and frees it with free().
        let buf = ffi::malloc(bytes.len()) as *mut u8;
        if buf.is_null() {
            return;
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        *hint = buf.cast();
        *hint_len = bytes.len();
    }
}

/// A result callback's report; the library calls it before returning.
struct Reply {
    called: bool,
    code: c_int,
    msg: Option<Vec<u8>>,
}

unsafe extern "C" fn on_reply(ret: c_int, msg: *const c_char, len: usize, user_data: *mut c_void) {
    let r = &mut *(user_data as *mut Reply);
    r.called = true;
    r.code = ret;
    r.msg = (!msg.is_null()).then(|| bytes_of(msg.cast(), len).to_vec());
}

/// Runs a text-API call with a result callback and turns its report into
/// a Result.
fn call(f: impl FnOnce(ffi::SdsCallBack, *mut c_void) -> c_int) -> Result<Vec<u8>> {
    let mut r = Reply {
        called: false,
        code: 0,
        msg: None,
    };
    let rc = f(Some(on_reply), &mut r as *mut Reply as *mut c_void);
    resume_panic();
    match (r.called, r.code, rc) {
        (true, ffi::RET_OK, ffi::RET_OK) => Ok(r.msg.unwrap_or_default()),
        (true, _, _) => Err(Error::Sds(
            String::from_utf8_lossy(&r.msg.unwrap_or_default()).into_owned(),
        )),
        (false, _, rc) => Err(Error::Code(rc)),
    }
}

/// Takes a library-allocated error message.
unsafe fn take_error(err: *mut c_char, rc: c_int) -> Error {
    if err.is_null() {
        return Error::Code(rc);
    }
    let text = CStr::from_ptr(err).to_string_lossy().into_owned();
    ffi::SdsFree(err.cast());
    Error::Sds(text)
}

/// Runs a binary wrap and takes its bytes.
fn binary_wrap(f: impl FnOnce(*mut *mut u8, *mut usize, *mut *mut c_char) -> c_int) -> Result<Vec<u8>> {
    let (mut out, mut len, mut err) = (ptr::null_mut(), 0usize, ptr::null_mut());
    let rc = f(&mut out, &mut len, &mut err);
    resume_panic();
    unsafe {
        if rc != ffi::RET_OK {
            return Err(take_error(err, rc));
        }
        let v = bytes_of(out, len).to_vec();
        ffi::SdsFree(out.cast());
        Ok(v)
    }
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Nul)
}

impl Manager {
    /// A manager with the Nim library's defaults and no participant id
    /// (`SdsNewReliabilityManager`; SDS-R disabled).
    pub fn new() -> Result<Manager> {
        Self::create(|cb, ud| unsafe { ffi::SdsNewReliabilityManager(cb, ud) })
    }

    /// A manager configured by `config` (`SdsNewReliabilityManagerWithConfig`).
    pub fn with_config(config: &Config) -> Result<Manager> {
        let text = cstring(&config.to_json())?;
        Self::create(|cb, ud| unsafe { ffi::SdsNewReliabilityManagerWithConfig(text.as_ptr(), cb, ud) })
    }

    fn create(f: impl FnOnce(ffi::SdsCallBack, *mut c_void) -> *mut c_void) -> Result<Manager> {
        let mut r = Reply {
            called: false,
            code: 0,
            msg: None,
        };
        let ctx = f(Some(on_reply), &mut r as *mut Reply as *mut c_void);
        let ctx = match NonNull::new(ctx) {
            Some(ctx) => ctx,
            None => {
                return Err(match r.msg {
                    Some(m) if r.called => Error::Sds(String::from_utf8_lossy(&m).into_owned()),
                    _ => Error::Code(ffi::RET_ERR),
                })
            }
        };
        let slots = Box::<Slots>::default();
        let ud = &*slots as *const Slots as *mut c_void;
        unsafe {
            ffi::SdsSetEventCallback(ctx.as_ptr(), Some(on_event), ud);
            ffi::SdsSetRetrievalHintProvider(ctx.as_ptr(), Some(on_hint), ud);
        }
        Ok(Manager { ctx, slots })
    }

    fn ctx(&self) -> *mut c_void {
        self.ctx.as_ptr()
    }

    /// Routes events to `handler`, replacing any previous one.
    pub fn set_event_handler(&self, handler: impl Fn(&Event) + Send + Sync + 'static) {
        *self.slots.events.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
    }

    /// Drops events from now on.
    pub fn clear_event_handler(&self) {
        *self.slots.events.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Sets the provider asked, while wrapping, for the retrieval hint of
    /// one of our logged message ids (None or empty: no hint).
    pub fn set_retrieval_hint_provider(&self, provider: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static) {
        *self.slots.hints.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(provider));
    }

    /// Wraps `message` for broadcast on `channel_id` under `message_id`
    /// (unique on the channel); returns the wire bytes.
    pub fn wrap(&self, message: &[u8], message_id: &str, channel_id: &str) -> Result<Vec<u8>> {
        let (id, ch) = (cstring(message_id)?, cstring(channel_id)?);
        binary_wrap(|out, len, err| unsafe {
            ffi::SdsWrapOutgoingMessageBinary(
                self.ctx(),
                message.as_ptr().cast(),
                message.len(),
                id.as_ptr(),
                ch.as_ptr(),
                out,
                len,
                err,
            )
        })
    }

    /// A sync message for `channel_id` (acknowledgements only), to
    /// broadcast on [`Event::PeriodicSync`].
    pub fn wrap_sync(&self, channel_id: &str) -> Result<Vec<u8>> {
        let ch = cstring(channel_id)?;
        binary_wrap(|out, len, err| unsafe { ffi::SdsWrapSyncMessageBinary(self.ctx(), ch.as_ptr(), out, len, err) })
    }

    /// Processes received wire bytes. Delivery is reported by
    /// [`Event::MessageReady`], raised before this returns.
    pub fn unwrap(&self, wire: &[u8]) -> Result<Unwrapped> {
        let (mut res, mut err) = (ptr::null_mut::<ffi::SdsUnwrapResult>(), ptr::null_mut());
        let rc = unsafe {
            ffi::SdsUnwrapReceivedMessageBinary(self.ctx(), wire.as_ptr().cast(), wire.len(), &mut res, &mut err)
        };
        resume_panic();
        unsafe {
            if rc != ffi::RET_OK || res.is_null() {
                return Err(take_error(err, rc));
            }
            let r = &*res;
            let deps = if r.missingDeps.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(r.missingDeps, r.missingDepsCount)
            };
            let out = Unwrapped {
                channel_id: string_of(r.channelId, r.channelIdLen),
                message_id: string_of(r.messageId, r.messageIdLen),
                sender_id: string_of(r.senderId, r.senderIdLen),
                content: bytes_of(r.content, r.contentLen).to_vec(),
                missing_deps: deps
                    .iter()
                    .map(|d| HistoryEntry {
                        message_id: string_of(d.messageId, d.messageIdLen),
                        retrieval_hint: bytes_of(d.retrievalHint, d.retrievalHintLen).to_vec(),
                        sender_id: string_of(d.senderId, d.senderIdLen),
                    })
                    .collect(),
                delivered: r.flags & ffi::SDS_UNWRAP_DELIVERED != 0,
                duplicate: r.flags & ffi::SDS_UNWRAP_DUPLICATE != 0,
                kind: match r.kind {
                    ffi::SDS_MESSAGE_SYNC => MessageKind::Sync,
                    ffi::SDS_MESSAGE_EPHEMERAL => MessageKind::Ephemeral,
                    _ => MessageKind::Regular,
                },
                rfc_format: r.wireFormat == ffi::SDS_WIRE_RFC,
            };
            ffi::SdsFree(res.cast());
            Ok(out)
        }
    }

    /// Tells the manager these messages of `channel_id` were obtained some
    /// other way; what waited on them is delivered before this returns.
    pub fn mark_dependencies_met(&self, message_ids: &[&str], channel_id: &str) -> Result<()> {
        let ids = message_ids.iter().map(|s| cstring(s)).collect::<Result<Vec<_>>>()?;
        let mut ptrs: Vec<*mut c_char> = ids.iter().map(|s| s.as_ptr() as *mut c_char).collect();
        let ch = cstring(channel_id)?;
        call(|cb, ud| unsafe {
            ffi::SdsMarkDependenciesMet(self.ctx(), ptrs.as_mut_ptr(), ptrs.len(), ch.as_ptr(), cb, ud)
        })
        .map(drop)
    }

    /// Forgets every channel and all its state.
    pub fn reset(&self) -> Result<()> {
        call(|cb, ud| unsafe { ffi::SdsResetReliabilityManager(self.ctx(), cb, ud) }).map(drop)
    }

    /// Starts the time-driven work on a thread of the library's own:
    /// [`Event::PeriodicSync`] at once and at each interval, resends and
    /// repairs. Stopped when the manager is dropped.
    pub fn start_periodic_tasks(&self) -> Result<()> {
        call(|cb, ud| unsafe { ffi::SdsStartPeriodicTasks(self.ctx(), cb, ud) }).map(drop)
    }

    /// The manager's metrics (`SdsGetStats`): counters, gauges and the
    /// incoming-wait histogram, overall and per channel.
    pub fn stats(&self) -> Result<Stats> {
        let text = call(|cb, ud| unsafe { ffi::SdsGetStats(self.ctx(), cb, ud) })?;
        std::str::from_utf8(&text)
            .ok()
            .and_then(json::parse)
            .and_then(|v| Stats::from_json(&v))
            .ok_or_else(|| {
                Error::Sds(format!(
                    "SdsGetStats: unexpected JSON: {}",
                    String::from_utf8_lossy(&text)
                ))
            })
    }
}

impl Drop for Manager {
    /// Cleans the context up; the library calls none of our closures after
    /// this (it stops the periodic tasks first), so the slots go with it.
    fn drop(&mut self) {
        // Not through call(): a drop must not raise a handler's panic.
        let mut r = Reply {
            called: false,
            code: 0,
            msg: None,
        };
        unsafe { ffi::SdsCleanupReliabilityManager(self.ctx(), Some(on_reply), &mut r as *mut Reply as *mut c_void) };
    }
}

/// The version of the library loaded.
pub fn version() -> String {
    unsafe { CStr::from_ptr(ffi::SdsVersion()).to_string_lossy().into_owned() }
}
