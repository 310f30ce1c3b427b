// GdbRequest: one packet of gdb's remote serial protocol as a typed value.
// parse_request() is pure: it turns a packet's payload (framing, checksum
// and escapes already undone by GdbConnection) into the request it asks
// for, with its numbers decoded, and a malformed packet into a Malformed
// request carrying why. GdbServer dispatches on the kind and never looks
// at the packet's text.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace rr {

// A thread as gdb names it in H, T and vCont: a recorded tid, or one of
// the two wildcards; with gdb's multiprocess extensions "pPID.TID", where
// "pPID" alone is every thread of PID and a PID of -1 every process.
struct GdbThreadId {
  enum Kind { Any, All, One } kind = Any;  // "0", "-1", a hex tid
  pid_t tid = 0;                           // for One
  pid_t pid = 0;                           // the process given (0: none given, -1: all)
  bool operator==(const GdbThreadId&) const = default;
};

// Z/z: what kind of breakpoint or watchpoint (the packet's type digit).
enum class GdbBreakKind { Software = 0, Hardware = 1, WriteWatch = 2, ReadWatch = 3, AccessWatch = 4 };

// One action of vCont: c, C sig, s, S sig, r start,end (step while the pc
// is in [start, end)), t (stop), each with an optional thread.
struct GdbResumeAction {
  enum Kind { Continue, Step, RangeStep, Stop } kind = Continue;
  int signal = 0;                 // gdb's number, for C and S (0: none)
  uint64_t start = 0, end = 0;    // RangeStep
  bool has_thread = false;        // ":thread" given
  GdbThreadId thread;
  bool operator==(const GdbResumeAction&) const = default;
};

struct GdbRequest {
  enum class Kind {
    Malformed,        // error: why it is not a request (reply E01)
    Unsupported,      // a request rr does not serve (reply empty)
    Interrupt,        // ^C while already stopped
    StopReason,       // ?
    ExtendedMode,     // !
    ReadRegisters,    // g
    WriteRegisters,   // G
    ReadRegister,     // p regno
    WriteRegister,    // P regno=value
    ReadMemory,       // m addr,len
    WriteMemory,      // M addr,len:hex and X addr,len:binary
    SetThread,        // H op thread (op 'g': registers and memory; 'c': c and s)
    ThreadAlive,      // T thread
    Continue,         // c
    Step,             // s
    ReverseContinue,  // bc
    ReverseStep,      // bs
    InsertBreak,      // Z type,addr,kind
    RemoveBreak,      // z type,addr,kind
    StartNoAck,       // QStartNoAckMode
    Supported,        // qSupported
    Xfer,             // qXfer:object:read:annex:offset,length
    XferWrite,        // qXfer:object:write:annex:offset:data
    FirstThreads,     // qfThreadInfo
    NextThreads,      // qsThreadInfo
    CurrentThread,    // qC
    Attached,         // qAttached
    Offsets,          // qOffsets
    Symbol,           // qSymbol
    PassSignals,      // QPassSignals:sig;sig...
    AcceptSignals,    // QProgramSignals, or QPassSignals without a list
    ThreadExtraInfo,  // qThreadExtraInfo,thread
    Monitor,          // qRcmd,hex: a monitor command
    ContQuery,        // vCont?
    Cont,             // vCont;action...
    VKill,            // vKill[;pid]
    VAttach,          // vAttach;pid
    Run,              // vRun;program;arg...
    MustReplyEmpty,   // vMustReplyEmpty
    Kill,             // k
    Detach,           // D[;pid]
  };
  Kind kind = Kind::Unsupported;
  std::string error;                  // Malformed: why
  uint64_t addr = 0, length = 0;      // ReadMemory, WriteMemory, *Break (length: the packet's kind field), Xfer, XferWrite (offset)
  std::string data;                   // WriteMemory, XferWrite: the bytes; WriteRegister: the value's hex digits
  uint64_t regno = 0;                 // ReadRegister, WriteRegister
  char thread_op = 0;                 // SetThread: 'g' or 'c'
  GdbThreadId thread;                 // SetThread, ThreadAlive (One), ThreadExtraInfo (One)
  GdbBreakKind break_kind = GdbBreakKind::Software;  // InsertBreak, RemoveBreak
  std::string object, annex;          // Xfer, XferWrite
  std::vector<int> signals;           // PassSignals: gdb's numbers
  std::string text;                   // Monitor: the command line
  std::vector<GdbResumeAction> actions;  // Cont
  std::vector<std::string> args;      // Run: program and arguments, decoded
  pid_t pid = 0;                      // Detach, VKill, VAttach: the process named (0: none)
  std::vector<std::string> features;  // Supported: what gdb says it supports ("multiprocess+", ...)
};

// The request `payload` asks for. Never throws; any text gives a request.
GdbRequest parse_request(const std::string& payload);

}  // namespace rr
