## Nim binding of libsds over its C ABI: the functions and types of
## include/libsds.h imported with `importc` (the C compiler checks every
## call against the header), and a small wrapper - a `Manager` ref owning
## one context, events to a Nim closure, errors as `SdsError`.
##
## Compile with the header and library on the paths, e.g.
##   nim c --threads:on --passC:-I../../include \
##     --passL:"-L../../build -lsds -Wl,-rpath,$PWD/../../build" two_managers.nim
##
## Events of the periodic tasks come from a thread of the library's own;
## this wrapper hands them to the same closure, so a program that starts
## them must give a closure that is safe to run there.

import std/json

const sdsHeader = "libsds.h"

{.pragma: sds, importc, header: sdsHeader, cdecl.}

const
  RET_OK* = 0.cint
  RET_ERR* = 1.cint
  RET_MISSING_CALLBACK* = 2.cint
  SDS_UNWRAP_DELIVERED* = 1'u32
  SDS_UNWRAP_DUPLICATE* = 2'u32

type
  SdsCallBack* {.importc: "SdsCallBack", header: sdsHeader.} =
    proc (callerRet: cint, msg: cstring, len: csize_t, userData: pointer) {.cdecl, gcsafe.}
  SdsRetrievalHintProvider* {.importc: "SdsRetrievalHintProvider", header: sdsHeader.} =
    proc (messageId: cstring, hint: ptr cstring, hintLen: ptr csize_t, userData: pointer) {.cdecl, gcsafe.}

  SdsHistoryEntry* {.importc: "SdsHistoryEntry", header: sdsHeader, bycopy.} = object
    messageId*: cstring
    messageIdLen*: csize_t
    retrievalHint*: ptr uint8
    retrievalHintLen*: csize_t
    senderId*: cstring
    senderIdLen*: csize_t

  SdsUnwrapResult* {.importc: "SdsUnwrapResult", header: sdsHeader, bycopy.} = object
    channelId*: cstring
    channelIdLen*: csize_t
    messageId*: cstring
    messageIdLen*: csize_t
    senderId*: cstring
    senderIdLen*: csize_t
    content*: ptr uint8
    contentLen*: csize_t
    missingDeps*: ptr UncheckedArray[SdsHistoryEntry]
    missingDepsCount*: csize_t
    flags*: uint32
    kind*: uint8
    wireFormat*: uint8

# Part 1: the Nim libsds functions.
proc SdsNewReliabilityManager*(callback: SdsCallBack, userData: pointer): pointer {.sds.}
proc SdsSetEventCallback*(ctx: pointer, callback: SdsCallBack, userData: pointer) {.sds.}
proc SdsSetRetrievalHintProvider*(ctx: pointer, callback: SdsRetrievalHintProvider, userData: pointer) {.sds.}
proc SdsCleanupReliabilityManager*(ctx: pointer, callback: SdsCallBack, userData: pointer): cint {.sds.}
proc SdsResetReliabilityManager*(ctx: pointer, callback: SdsCallBack, userData: pointer): cint {.sds.}
proc SdsWrapOutgoingMessage*(ctx: pointer, message: pointer, messageLen: csize_t, messageId: cstring,
    channelId: cstring, callback: SdsCallBack, userData: pointer): cint {.sds.}
proc SdsUnwrapReceivedMessage*(ctx: pointer, message: pointer, messageLen: csize_t,
    callback: SdsCallBack, userData: pointer): cint {.sds.}
proc SdsMarkDependenciesMet*(ctx: pointer, messageIDs: ptr cstring, count: csize_t, channelId: cstring,
    callback: SdsCallBack, userData: pointer): cint {.sds.}
proc SdsStartPeriodicTasks*(ctx: pointer, callback: SdsCallBack, userData: pointer): cint {.sds.}

# Part 2: additions of this library (those this binding uses).
proc SdsVersion*(): cstring {.sds.}
proc SdsFree*(p: pointer) {.sds.}
proc SdsNewReliabilityManagerWithConfig*(configJson: cstring, callback: SdsCallBack, userData: pointer): pointer {.sds.}
proc SdsWrapOutgoingMessageBinary*(ctx: pointer, message: pointer, messageLen: csize_t, messageId: cstring,
    channelId: cstring, wire: ptr ptr uint8, wireLen: ptr csize_t, error: ptr cstring): cint {.sds.}
proc SdsUnwrapReceivedMessageBinary*(ctx: pointer, message: pointer, messageLen: csize_t,
    result: ptr ptr SdsUnwrapResult, error: ptr cstring): cint {.sds.}
proc SdsWrapSyncMessageBinary*(ctx: pointer, channelId: cstring, wire: ptr ptr uint8, wireLen: ptr csize_t,
    error: ptr cstring): cint {.sds.}

# ---- The wrapper -----------------------------------------------------------

type
  SdsError* = object of CatchableError

  HistoryEntry* = object
    messageId*: string
    retrievalHint*: seq[byte]
    senderId*: string

  Unwrapped* = object
    channelId*, messageId*, senderId*: string
    content*: seq[byte]
    missingDeps*: seq[HistoryEntry]
    delivered*, duplicate*: bool

  Event* = object
    eventType*: string      ## "message_ready", "message_sent", "missing_dependencies", ...
    messageId*: string
    channelId*: string
    missingDeps*: seq[string] ## ids, for "missing_dependencies"
    json*: JsonNode           ## the whole event

  EventHandler* = proc (e: Event) {.closure, gcsafe.}

  Manager* = ref object
    ctx: pointer
    handler: EventHandler

  Reply = object
    called: bool
    code: cint
    msg: string

proc toString(p: pointer, n: csize_t): string =
  result = newString(n.int)
  if n > 0: copyMem(addr result[0], p, n.int)

proc toBytes(p: pointer, n: csize_t): seq[byte] =
  result = newSeq[byte](n.int)
  if n > 0: copyMem(addr result[0], p, n.int)

proc onReply(ret: cint, msg: cstring, len: csize_t, userData: pointer) {.cdecl, gcsafe.} =
  let r = cast[ptr Reply](userData)
  r.called = true
  r.code = ret
  if msg != nil: r.msg = toString(msg, len)

proc onEvent(ret: cint, msg: cstring, len: csize_t, userData: pointer) {.cdecl, gcsafe.} =
  when compileOption("threads"):
    setupForeignThreadGc() # a library thread (periodic tasks); cheap when set up
  let m = cast[Manager](userData)
  if m == nil or m.handler == nil or msg == nil: return
  try:
    let j = parseJson(toString(msg, len))
    var e = Event(eventType: j{"eventType"}.getStr, messageId: j{"messageId"}.getStr,
                  channelId: j{"channelId"}.getStr, json: j)
    for d in j{"missingDeps"}.getElems:
      e.missingDeps.add d{"messageId"}.getStr
    m.handler(e)
  except CatchableError:
    discard # an exception must not cross into the library

proc check(r: Reply, rc: cint, what: string) =
  if not r.called:
    raise newException(SdsError, what & ": return code " & $rc)
  if r.code != RET_OK or rc != RET_OK:
    raise newException(SdsError, what & ": " & r.msg)

proc takeError(err: cstring, rc: cint, what: string): ref SdsError =
  var text = "return code " & $rc
  if err != nil:
    text = $err
    SdsFree(err)
  newException(SdsError, what & ": " & text)

proc version*(): string = $SdsVersion()

proc newManager*(configJson = ""): Manager =
  ## A manager; configJson is the JSON of SdsNewReliabilityManagerWithConfig
  ## ("" for SdsNewReliabilityManager's defaults).
  var r: Reply
  let ctx =
    if configJson.len == 0: SdsNewReliabilityManager(cast[SdsCallBack](onReply), addr r)
    else: SdsNewReliabilityManagerWithConfig(configJson.cstring, cast[SdsCallBack](onReply), addr r)
  if ctx == nil:
    raise newException(SdsError, "creating a manager: " & r.msg)
  result = Manager(ctx: ctx)
  GC_ref(result) # the library holds it as userData until close
  SdsSetEventCallback(ctx, cast[SdsCallBack](onEvent), cast[pointer](result))

proc close*(m: Manager) =
  ## Cleans the context up; no event arrives after this.
  if m.ctx == nil: return
  var r: Reply
  discard SdsCleanupReliabilityManager(m.ctx, cast[SdsCallBack](onReply), addr r)
  m.ctx = nil
  GC_unref(m)

proc onEvent*(m: Manager, handler: EventHandler) =
  ## Routes the manager's events to handler.
  m.handler = handler

proc wrap*(m: Manager, content: openArray[byte], messageId, channelId: string): seq[byte] =
  ## The wire bytes of content for channelId (binary fast path).
  var wire: ptr uint8
  var wireLen: csize_t
  var err: cstring
  let p = if content.len > 0: unsafeAddr content[0] else: nil
  let rc = SdsWrapOutgoingMessageBinary(m.ctx, p, content.len.csize_t, messageId.cstring, channelId.cstring,
                                        addr wire, addr wireLen, addr err)
  if rc != RET_OK: raise takeError(err, rc, "wrap")
  result = toBytes(wire, wireLen)
  SdsFree(wire)

proc wrapText*(m: Manager, content: string, messageId, channelId: string): string =
  ## The Nim libsds form of wrap: the wire bytes as comma-separated numbers.
  var r: Reply
  let p = if content.len > 0: unsafeAddr content[0] else: nil
  let rc = SdsWrapOutgoingMessage(m.ctx, p, content.len.csize_t, messageId.cstring, channelId.cstring,
                                  cast[SdsCallBack](onReply), addr r)
  check(r, rc, "wrap")
  r.msg

proc unwrap*(m: Manager, wire: openArray[byte]): Unwrapped =
  ## Processes received wire bytes (binary fast path).
  var res: ptr SdsUnwrapResult
  var err: cstring
  let p = if wire.len > 0: unsafeAddr wire[0] else: nil
  let rc = SdsUnwrapReceivedMessageBinary(m.ctx, p, wire.len.csize_t, addr res, addr err)
  if rc != RET_OK: raise takeError(err, rc, "unwrap")
  result = Unwrapped(
    channelId: toString(res.channelId, res.channelIdLen),
    messageId: toString(res.messageId, res.messageIdLen),
    senderId: toString(res.senderId, res.senderIdLen),
    content: toBytes(res.content, res.contentLen),
    delivered: (res.flags and SDS_UNWRAP_DELIVERED) != 0,
    duplicate: (res.flags and SDS_UNWRAP_DUPLICATE) != 0)
  for i in 0 ..< res.missingDepsCount.int:
    let d = res.missingDeps[i]
    result.missingDeps.add HistoryEntry(messageId: toString(d.messageId, d.messageIdLen),
                                        retrievalHint: toBytes(d.retrievalHint, d.retrievalHintLen),
                                        senderId: toString(d.senderId, d.senderIdLen))
  SdsFree(res)

proc unwrapText*(m: Manager, wire: openArray[byte]): JsonNode =
  ## The Nim libsds form of unwrap: its JSON result.
  var r: Reply
  let p = if wire.len > 0: unsafeAddr wire[0] else: nil
  let rc = SdsUnwrapReceivedMessage(m.ctx, p, wire.len.csize_t, cast[SdsCallBack](onReply), addr r)
  check(r, rc, "unwrap")
  parseJson(r.msg)

proc markDependenciesMet*(m: Manager, messageIds: openArray[string], channelId: string) =
  var ids = newSeq[cstring](messageIds.len)
  for i, id in messageIds: ids[i] = id.cstring
  var r: Reply
  let p = if ids.len > 0: addr ids[0] else: nil
  let rc = SdsMarkDependenciesMet(m.ctx, p, ids.len.csize_t, channelId.cstring, cast[SdsCallBack](onReply), addr r)
  check(r, rc, "markDependenciesMet")

proc reset*(m: Manager) =
  var r: Reply
  let rc = SdsResetReliabilityManager(m.ctx, cast[SdsCallBack](onReply), addr r)
  check(r, rc, "reset")
