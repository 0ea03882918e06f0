//! Raw declarations of `include/libsds.h`, written by hand. Every item
//! mirrors the header one for one; see the header for the contract of each
//! function (ownership of buffers, threads, return codes).

#![allow(non_camel_case_types, non_snake_case, dead_code)]

use std::os::raw::{c_char, c_int, c_void};

pub const RET_OK: c_int = 0;
pub const RET_ERR: c_int = 1;
pub const RET_MISSING_CALLBACK: c_int = 2;

pub type SdsCallBack =
    Option<unsafe extern "C" fn(callerRet: c_int, msg: *const c_char, len: usize, userData: *mut c_void)>;

pub type SdsRetrievalHintProvider = Option<
    unsafe extern "C" fn(messageId: *const c_char, hint: *mut *mut c_char, hintLen: *mut usize, userData: *mut c_void),
>;

pub const SDS_UNWRAP_DELIVERED: u32 = 1;
pub const SDS_UNWRAP_DUPLICATE: u32 = 2;

pub const SDS_MESSAGE_REGULAR: u8 = 0;
pub const SDS_MESSAGE_SYNC: u8 = 1;
pub const SDS_MESSAGE_EPHEMERAL: u8 = 2;

pub const SDS_WIRE_NIM: u8 = 0;
pub const SDS_WIRE_RFC: u8 = 1;

#[repr(C)]
pub struct SdsHistoryEntry {
    pub messageId: *const c_char,
    pub messageIdLen: usize,
    pub retrievalHint: *const u8,
    pub retrievalHintLen: usize,
    pub senderId: *const c_char,
    pub senderIdLen: usize,
}

#[repr(C)]
pub struct SdsUnwrapResult {
    pub channelId: *const c_char,
    pub channelIdLen: usize,
    pub messageId: *const c_char,
    pub messageIdLen: usize,
    pub senderId: *const c_char,
    pub senderIdLen: usize,
    pub content: *const u8,
    pub contentLen: usize,
    pub missingDeps: *const SdsHistoryEntry,
    pub missingDepsCount: usize,
    pub flags: u32,
    pub kind: u8,
    pub wireFormat: u8,
}

#[repr(C)]
pub struct SdsBytes {
    pub data: *const u8,
    pub len: usize,
}

/// Opaque; valid only during the loadChannel call it is passed to.
#[repr(C)]
pub struct SdsLoader {
    _private: [u8; 0],
}

#[repr(C)]
pub struct SdsPersistence {
    pub userData: *mut c_void,
    pub saveChannelMeta: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            channelId: *const c_char,
            channelIdLen: usize,
            putKeys: *const SdsBytes,
            putValues: *const SdsBytes,
            nPuts: usize,
            deleteKeys: *const SdsBytes,
            nDeletes: usize,
        ) -> c_int,
    >,
    pub updateHistory: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            channelId: *const c_char,
            channelIdLen: usize,
            appendIds: *const SdsBytes,
            appendMessages: *const SdsBytes,
            nAppends: usize,
            evictIds: *const SdsBytes,
            nEvicts: usize,
        ) -> c_int,
    >,
    pub loadChannel: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            channelId: *const c_char,
            channelIdLen: usize,
            loader: *mut SdsLoader,
        ) -> c_int,
    >,
    pub dropChannel:
        Option<unsafe extern "C" fn(userData: *mut c_void, channelId: *const c_char, channelIdLen: usize) -> c_int>,
    pub saveRetrievalHint: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            channelId: *const c_char,
            channelIdLen: usize,
            messageId: *const c_char,
            messageIdLen: usize,
            hint: *const u8,
            hintLen: usize,
        ) -> c_int,
    >,
}

pub const SDS_LOG_TRACE: c_int = 0;
pub const SDS_LOG_DEBUG: c_int = 1;
pub const SDS_LOG_INFO: c_int = 2;
pub const SDS_LOG_WARN: c_int = 3;
pub const SDS_LOG_ERROR: c_int = 4;

pub type SdsLogCallback =
    Option<unsafe extern "C" fn(level: c_int, msg: *const c_char, len: usize, userData: *mut c_void)>;

extern "C" {
    // ---- Part 1: the Nim libsds functions ----
    pub fn SdsNewReliabilityManager(callback: SdsCallBack, userData: *mut c_void) -> *mut c_void;
    pub fn SdsSetEventCallback(ctx: *mut c_void, callback: SdsCallBack, userData: *mut c_void);
    pub fn SdsSetRetrievalHintProvider(ctx: *mut c_void, callback: SdsRetrievalHintProvider, userData: *mut c_void);
    pub fn SdsCleanupReliabilityManager(ctx: *mut c_void, callback: SdsCallBack, userData: *mut c_void) -> c_int;
    pub fn SdsResetReliabilityManager(ctx: *mut c_void, callback: SdsCallBack, userData: *mut c_void) -> c_int;
    pub fn SdsWrapOutgoingMessage(
        ctx: *mut c_void,
        message: *mut c_void,
        messageLen: usize,
        messageId: *const c_char,
        channelId: *const c_char,
        callback: SdsCallBack,
        userData: *mut c_void,
    ) -> c_int;
    pub fn SdsUnwrapReceivedMessage(
        ctx: *mut c_void,
        message: *mut c_void,
        messageLen: usize,
        callback: SdsCallBack,
        userData: *mut c_void,
    ) -> c_int;
    pub fn SdsMarkDependenciesMet(
        ctx: *mut c_void,
        messageIDs: *mut *mut c_char,
        count: usize,
        channelId: *const c_char,
        callback: SdsCallBack,
        userData: *mut c_void,
    ) -> c_int;
    pub fn SdsStartPeriodicTasks(ctx: *mut c_void, callback: SdsCallBack, userData: *mut c_void) -> c_int;
    pub fn SdsGetStats(ctx: *mut c_void, callback: SdsCallBack, userData: *mut c_void) -> c_int;

    // ---- Part 2: additions of this library ----
    pub fn SdsVersion() -> *const c_char;
    pub fn SdsFree(p: *mut c_void);
    pub fn SdsNewReliabilityManagerWithConfig(
        configJson: *const c_char,
        callback: SdsCallBack,
        userData: *mut c_void,
    ) -> *mut c_void;
    pub fn SdsWrapOutgoingMessageBinary(
        ctx: *mut c_void,
        message: *const c_void,
        messageLen: usize,
        messageId: *const c_char,
        channelId: *const c_char,
        wire: *mut *mut u8,
        wireLen: *mut usize,
        error: *mut *mut c_char,
    ) -> c_int;
    pub fn SdsUnwrapReceivedMessageBinary(
        ctx: *mut c_void,
        message: *const c_void,
        messageLen: usize,
        result: *mut *mut SdsUnwrapResult,
        error: *mut *mut c_char,
    ) -> c_int;
    pub fn SdsWrapSyncMessage(
        ctx: *mut c_void,
        channelId: *const c_char,
        callback: SdsCallBack,
        userData: *mut c_void,
    ) -> c_int;
    pub fn SdsWrapSyncMessageBinary(
        ctx: *mut c_void,
        channelId: *const c_char,
        wire: *mut *mut u8,
        wireLen: *mut usize,
        error: *mut *mut c_char,
    ) -> c_int;
    pub fn SdsWrapEphemeralMessage(
        ctx: *mut c_void,
        message: *mut c_void,
        messageLen: usize,
        messageId: *const c_char,
        channelId: *const c_char,
        callback: SdsCallBack,
        userData: *mut c_void,
    ) -> c_int;
    pub fn SdsWrapEphemeralMessageBinary(
        ctx: *mut c_void,
        message: *const c_void,
        messageLen: usize,
        messageId: *const c_char,
        channelId: *const c_char,
        wire: *mut *mut u8,
        wireLen: *mut usize,
        error: *mut *mut c_char,
    ) -> c_int;
    pub fn SdsLoaderAddRecord(
        loader: *mut SdsLoader,
        key: *const u8,
        keyLen: usize,
        value: *const u8,
        valueLen: usize,
    ) -> c_int;
    pub fn SdsLoaderAddHistory(loader: *mut SdsLoader, message: *const u8, messageLen: usize) -> c_int;
    pub fn SdsLoaderAddHint(
        loader: *mut SdsLoader,
        messageId: *const u8,
        messageIdLen: usize,
        hint: *const u8,
        hintLen: usize,
    ) -> c_int;
    pub fn SdsNewReliabilityManagerWithPersistence(
        configJson: *const c_char,
        persistence: *const SdsPersistence,
        callback: SdsCallBack,
        userData: *mut c_void,
    ) -> *mut c_void;
    pub fn SdsSetLogCallback(callback: SdsLogCallback, userData: *mut c_void);

    // The C library's allocator: retrieval hints are handed over in a
    // malloc'd buffer the library releases with free.
    pub fn malloc(size: usize) -> *mut c_void;
}
