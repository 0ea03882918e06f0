## Two managers exchange messages through the Nim binding of libsds
## (libsds.nim): a lost-then-late message, missing dependencies, marking
## them met, acknowledgements, the Nim libsds text forms, and errors.
## Prints what happens; exits 1 if any check fails.

import std/[json, strutils, sequtils]
import libsds

var failures = 0

proc check(ok: bool, what: string) =
  if ok:
    echo "ok    ", what
  else:
    echo "FAIL  ", what
    inc failures

proc bytesOf(s: string): seq[byte] = cast[seq[byte]](s)
proc textOf(b: seq[byte]): string = cast[string](b)

var aliceEvents, bobEvents: seq[string]

proc recorder(log: ptr seq[string]): EventHandler =
  result = proc (e: Event) {.gcsafe.} =
    {.cast(gcsafe).}:
      var line = e.eventType & " " & e.messageId
      if e.missingDeps.len > 0: line &= " waits for " & e.missingDeps.join(",")
      log[].add line

proc takeEvents(log: var seq[string]): seq[string] =
  result = log
  log = @[]

proc checkEvents(log: var seq[string], want: seq[string], what: string) =
  let got = takeEvents(log)
  check(got == want, what)
  if got != want: echo "      got ", got, ", want ", want

proc raises(body: proc ()): bool =
  try:
    body()
  except SdsError as e:
    echo "      (", e.msg, ")"
    return true

proc main() =
  echo "libsds ", version()
  let alice = newManager("""{"participantId":"alice"}""")
  let bob = newManager()
  defer:
    alice.close()
    bob.close()
  alice.onEvent recorder(addr aliceEvents)
  bob.onEvent recorder(addr bobEvents)

  # alice sends m1 and m2; bob gets m2 first.
  let m1 = alice.wrap(bytesOf("hello"), "m1", "room")
  let m2 = alice.wrap(bytesOf("how are you?"), "m2", "room")
  check(m1.len > 0 and m2.len > 0, "alice wraps m1 and m2")

  let u2 = bob.unwrap(m2)
  check(textOf(u2.content) == "how are you?", "bob reads m2's content")
  check(u2.channelId == "room" and u2.messageId == "m2" and u2.senderId == "alice", "m2 came from alice on room")
  check(not u2.delivered and u2.missingDeps.mapIt(it.messageId) == @["m1"], "m2 waits for m1")
  checkEvents(bobEvents, @["missing_dependencies m2 waits for m1"], "bob is told m1 is missing")

  # m1 arrives late: both are delivered, in causal order.
  let u1 = bob.unwrap(m1)
  check(u1.delivered and u1.missingDeps.len == 0, "m1 is delivered")
  checkEvents(bobEvents, @["message_ready m1", "message_ready m2"], "m1 then m2 ready")
  check(bob.unwrap(m1).duplicate, "m1 again is a duplicate")

  # bob's reply acknowledges both to alice.
  let reply = bob.wrap(bytesOf("fine"), "b1", "room")
  check(alice.unwrap(reply).delivered, "alice gets bob's reply")
  checkEvents(aliceEvents, @["message_sent m1", "message_sent m2", "message_ready b1"],
              "alice learns bob has m1 and m2")

  # The Nim libsds text forms: comma-separated wire bytes, JSON results.
  let text = alice.wrapText("in text", "m3", "room")
  let wire3 = text.split(',').mapIt(byte(parseInt(it)))
  let j = bob.unwrapText(wire3)
  check(textOf(j["message"].getElems.mapIt(byte(it.getInt))) == "in text", "text wrap and unwrap round-trip")
  check(j["channelId"].getStr == "room" and j["missingDeps"].len == 0, "text unwrap result")
  checkEvents(bobEvents, @["message_sent b1", "message_ready m3"], "m3 acknowledges b1 and is ready")

  # Marking a dependency met releases what waits for it.
  let lost = alice.wrap(bytesOf("never arrives"), "m4", "room")
  let after = alice.wrap(bytesOf("arrives"), "m5", "room")
  discard lost
  check(bob.unwrap(after).missingDeps.mapIt(it.messageId) == @["m4"], "m5 waits for m4")
  discard takeEvents(bobEvents)
  bob.markDependenciesMet(["m4"], "room")
  checkEvents(bobEvents, @["message_ready m5"], "marking m4 met delivers m5")

  # Errors.
  check(raises(proc () = discard alice.wrap(bytesOf("again"), "m1", "room")), "a duplicate id is an error")
  check(raises(proc () = discard alice.wrap(bytesOf("x"), "m9", "")), "an empty channel is an error")
  check(raises(proc () = discard bob.unwrap(bytesOf("not an SDS message"))), "garbage does not unwrap")
  check(raises(proc () = bob.markDependenciesMet(["x"], "nowhere")), "an unknown channel is an error")
  check(raises(proc () = discard newManager("""{"noSuchKey":1}""")), "a bad config is an error")

  bob.reset()
  check(raises(proc () = bob.markDependenciesMet(["x"], "room")), "reset forgets the channel")

main()
if failures > 0:
  echo failures, " check(s) failed"
  quit(1)
echo "all checks passed"
