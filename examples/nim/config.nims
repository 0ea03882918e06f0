# Compiler settings for the examples here: the header in ../../include,
# the library in ../../build (with an rpath to it), build products under
# ../../build/nim.
import std/os

let root = thisDir().parentDir.parentDir
switch("threads", "on")
switch("hints", "off")
switch("passC", "-I" & root / "include")
switch("passL", "-L" & root / "build" & " -lsds -Wl,-rpath," & root / "build")
switch("nimcache", root / "build" / "nim" / "cache")
