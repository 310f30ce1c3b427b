// gdb's packets parsed into typed requests (gdb/gdb_request.h): each kind
// with its fields, and malformed packets as errors, never a crash.
#include <gtest/gtest.h>

#include <string>

#include "gdb/gdb_request.h"

namespace rr {
namespace {

using K = GdbRequest::Kind;

GdbRequest ok(const std::string& packet, K kind) {
  GdbRequest r = parse_request(packet);
  EXPECT_EQ(r.kind, kind) << "packet '" << packet << "' (error: " << r.error << ")";
  return r;
}

TEST(GdbRequest, PlainRequests) {
  ok("?", K::StopReason);
  ok("!", K::ExtendedMode);
  ok("\x03", K::Interrupt);
  ok("g", K::ReadRegisters);
  ok("c", K::Continue);
  ok("s", K::Step);
  ok("bc", K::ReverseContinue);
  ok("bs", K::ReverseStep);
  ok("k", K::Kill);
  ok("D", K::Detach);
  ok("D;1234", K::Detach);
  ok("QStartNoAckMode", K::StartNoAck);
  ok("qSupported:multiprocess+;swbreak+", K::Supported);
  ok("qfThreadInfo", K::FirstThreads);
  ok("qsThreadInfo", K::NextThreads);
  ok("qC", K::CurrentThread);
  ok("qAttached:1", K::Attached);
  ok("qOffsets", K::Offsets);
  ok("qSymbol::", K::Symbol);
  ok("QProgramSignals:e;f", K::AcceptSignals);
  ok("vCont?", K::ContQuery);
  ok("vKill;1", K::VKill);
  ok("vMustReplyEmpty", K::MustReplyEmpty);
}

TEST(GdbRequest, Registers) {
  EXPECT_EQ(ok("p10", K::ReadRegister).regno, 16u);
  GdbRequest w = ok("P39=ffffffffffffffff", K::WriteRegister);
  EXPECT_EQ(w.regno, 0x39u);
  EXPECT_EQ(w.data, "ffffffffffffffff");
  EXPECT_EQ(ok("G0011", K::WriteRegisters).data, std::string("\x00\x11", 2));
}

TEST(GdbRequest, Memory) {
  GdbRequest m = ok("m7ffff7dd0000,40", K::ReadMemory);
  EXPECT_EQ(m.addr, 0x7ffff7dd0000u);
  EXPECT_EQ(m.length, 0x40u);
  GdbRequest w = ok("M1000,2:abcd", K::WriteMemory);
  EXPECT_EQ(w.addr, 0x1000u);
  EXPECT_EQ(w.data, "\xab\xcd");
  GdbRequest x = ok("X1000,3:a:b", K::WriteMemory);
  EXPECT_EQ(x.data, "a:b");
  EXPECT_EQ(ok("X1000,0:", K::WriteMemory).length, 0u);
}

TEST(GdbRequest, Threads) {
  GdbRequest g = ok("Hg1f40", K::SetThread);
  EXPECT_EQ(g.thread_op, 'g');
  EXPECT_EQ(g.thread, (GdbThreadId{GdbThreadId::One, 0x1f40}));
  GdbRequest c = ok("Hc-1", K::SetThread);
  EXPECT_EQ(c.thread_op, 'c');
  EXPECT_EQ(c.thread.kind, GdbThreadId::All);
  EXPECT_EQ(ok("Hg0", K::SetThread).thread.kind, GdbThreadId::Any);
  EXPECT_EQ(ok("T1f40", K::ThreadAlive).thread.tid, 0x1f40);
  EXPECT_EQ(ok("qThreadExtraInfo,1f41", K::ThreadExtraInfo).thread.tid, 0x1f41);
}

TEST(GdbRequest, MultiprocessThreadIds) {
  // gdb's multiprocess extensions: pPID.TID, pPID (all its threads), p-1.
  EXPECT_EQ(ok("Hgp1f40.1f41", K::SetThread).thread, (GdbThreadId{GdbThreadId::One, 0x1f41, 0x1f40}));
  EXPECT_EQ(ok("Hgp1f40.0", K::SetThread).thread, (GdbThreadId{GdbThreadId::Any, 0, 0x1f40}));
  EXPECT_EQ(ok("Hcp1f40", K::SetThread).thread, (GdbThreadId{GdbThreadId::All, 0, 0x1f40}));
  EXPECT_EQ(ok("Hcp-1.-1", K::SetThread).thread, (GdbThreadId{GdbThreadId::All, 0, -1}));
  EXPECT_EQ(ok("Tp10.11", K::ThreadAlive).thread, (GdbThreadId{GdbThreadId::One, 0x11, 0x10}));
  EXPECT_EQ(ok("qThreadExtraInfo,p10.12", K::ThreadExtraInfo).thread.tid, 0x12);
  GdbRequest v = ok("vCont;s:p10.11;c:p-1.-1", K::Cont);
  ASSERT_EQ(v.actions.size(), 2u);
  EXPECT_EQ(v.actions[0].thread, (GdbThreadId{GdbThreadId::One, 0x11, 0x10}));
  EXPECT_EQ(v.actions[1].thread.pid, -1);
  EXPECT_EQ(ok("D;1f40", K::Detach).pid, 0x1f40);
  EXPECT_EQ(ok("D", K::Detach).pid, 0);
  EXPECT_EQ(ok("vKill;1f40", K::VKill).pid, 0x1f40);
  EXPECT_EQ(ok("vAttach;1f41", K::VAttach).pid, 0x1f41);
  GdbRequest q = ok("qSupported:multiprocess+;fork-events+;swbreak+", K::Supported);
  EXPECT_EQ(q.features, (std::vector<std::string>{"multiprocess+", "fork-events+", "swbreak+"}));
  EXPECT_EQ(ok("Hgp0.0", K::SetThread).thread, (GdbThreadId{GdbThreadId::Any, 0, 0}));
  for (const char* bad : {"Hgp.1", "Hgpz.1", "vAttach", "vAttach;0", "Tp10", "D;zz", "D1", "vKill;"}) {
    GdbRequest r = parse_request(bad);
    EXPECT_EQ(r.kind, K::Malformed) << bad;
  }
}

TEST(GdbRequest, BreakpointsAndWatchpoints) {
  GdbRequest z = ok("Z0,401136,1", K::InsertBreak);
  EXPECT_EQ(z.break_kind, GdbBreakKind::Software);
  EXPECT_EQ(z.addr, 0x401136u);
  EXPECT_EQ(z.length, 1u);
  GdbRequest c = ok("Z0,401136,1;X2,0a", K::InsertBreak);  // with a condition
  EXPECT_EQ(c.addr, 0x401136u);
  GdbRequest w = ok("z2,404028,4", K::RemoveBreak);
  EXPECT_EQ(w.break_kind, GdbBreakKind::WriteWatch);
  EXPECT_EQ(w.length, 4u);
  EXPECT_EQ(ok("Z1,401000,1", K::InsertBreak).break_kind, GdbBreakKind::Hardware);
  EXPECT_EQ(ok("Z3,404028,8", K::InsertBreak).break_kind, GdbBreakKind::ReadWatch);
  EXPECT_EQ(ok("Z4,404028,8", K::InsertBreak).break_kind, GdbBreakKind::AccessWatch);
  // A kind rr does not know is not an error: gdb hears it is not supported.
  ok("Z5,404028,8", K::Unsupported);
}

TEST(GdbRequest, ResumeActions) {
  GdbRequest r = ok("vCont;r401000,401010:1f40;c", K::Cont);
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].kind, GdbResumeAction::RangeStep);
  EXPECT_EQ(r.actions[0].start, 0x401000u);
  EXPECT_EQ(r.actions[0].end, 0x401010u);
  EXPECT_TRUE(r.actions[0].has_thread);
  EXPECT_EQ(r.actions[0].thread.tid, 0x1f40);
  EXPECT_EQ(r.actions[1].kind, GdbResumeAction::Continue);
  EXPECT_FALSE(r.actions[1].has_thread);
  GdbRequest s = ok("vCont;S0b:1f41;C05;t:-1", K::Cont);
  ASSERT_EQ(s.actions.size(), 3u);
  EXPECT_EQ(s.actions[0].kind, GdbResumeAction::Step);
  EXPECT_EQ(s.actions[0].signal, 0xb);
  EXPECT_EQ(s.actions[1].signal, 5);
  EXPECT_EQ(s.actions[2].kind, GdbResumeAction::Stop);
  EXPECT_EQ(s.actions[2].thread.kind, GdbThreadId::All);
  EXPECT_TRUE(ok("vCont;", K::Cont).actions.empty());
}

TEST(GdbRequest, QueriesWithArguments) {
  GdbRequest x = ok("qXfer:features:read:target.xml:0,ffb", K::Xfer);
  EXPECT_EQ(x.object, "features");
  EXPECT_EQ(x.annex, "target.xml");
  EXPECT_EQ(x.addr, 0u);
  EXPECT_EQ(x.length, 0xffbu);
  GdbRequest a = ok("qXfer:auxv:read::100,200", K::Xfer);
  EXPECT_EQ(a.annex, "");
  EXPECT_EQ(a.addr, 0x100u);
  GdbRequest p = ok("QPassSignals:e;14;1d", K::PassSignals);
  EXPECT_EQ(p.signals, (std::vector<int>{0xe, 0x14, 0x1d}));
  EXPECT_TRUE(ok("QPassSignals:", K::PassSignals).signals.empty());
  EXPECT_EQ(ok("QPassSignals:e;97;", K::PassSignals).signals, (std::vector<int>{0xe, 0x97}));
  GdbRequest w = ok("qXfer:siginfo:write::10:a:b", K::XferWrite);
  EXPECT_EQ(w.object, "siginfo");
  EXPECT_EQ(w.addr, 0x10u);
  EXPECT_EQ(w.data, "a:b");
  EXPECT_EQ(ok("qXfer:siginfo:write::0:", K::XferWrite).data, "");
  EXPECT_EQ(ok("qRcmd,7768656e", K::Monitor).text, "when");
  EXPECT_EQ(ok("qRcmd,", K::Monitor).text, "");
}

TEST(GdbRequest, Run) {
  EXPECT_TRUE(ok("vRun", K::Run).args.empty());
  GdbRequest r = ok("vRun;2f62696e2f6c73;3330", K::Run);
  EXPECT_EQ(r.args, (std::vector<std::string>{"/bin/ls", "30"}));
  EXPECT_EQ(ok("vRun;;6332", K::Run).args, (std::vector<std::string>{"", "c2"}));
}

TEST(GdbRequest, UnknownPacketsAreUnsupported) {
  for (const char* p : {"", "bx", "b", "qFoo", "QBar:1", "vFile:open:", "vCont", "y", "\xff"})
    ok(p, K::Unsupported);
}

TEST(GdbRequest, MalformedPacketsAreErrorsWithAReason) {
  for (const char* p : {
           "p", "pxyz", "p12345678901234567",             // no number, bad hex, over 64 bits
           "P", "P10", "P10=", "P10=abc", "P10=zz", "P=00",  // missing or odd value
           "G0", "Gzz",                                     // not hex
           "m", "m1000", "m1000,", "m,10", "mzz,10", "m1000,10000000000000000",
           "M1000,2", "M1000,2:ab", "M1000,2:zzzz", "X1000,4:ab",  // data missing, short or not hex
           "H", "Hg", "Hx1", "Hgzz", "Hg100000000",          // no op, bad op, bad or too big thread
           "T", "Tzz", "T-1",
           "Z0", "Z0,", "Z0,401000", "Z0,401000,", "Z0,zz,1", "Z0,401000,1,2", "z",
           "qXfer:features:read:target.xml", "qXfer:features:write:target.xml:0,10", "qXfer:auxv:read::0",
           "qXfer:auxv:read::x,1", "qXfer:siginfo:write::zz:ab",
           "QPassSignals:zz", "QPassSignals:1;;2", "QPassSignals:100",
           "qThreadExtraInfo,", "qThreadExtraInfo,zz",
           "qRcmd,7", "qRcmd,zz",
           "vCont;x", "vCont;c5", "vCont;Czz", "vCont;C", "vCont;r1000", "vCont;r1000,zz", "vCont;s:zz", "vCont;c:",
           "vRun;zz", "vRun;2f;3",
       }) {
    GdbRequest r = parse_request(p);
    EXPECT_EQ(r.kind, K::Malformed) << "packet '" << p << "'";
    EXPECT_FALSE(r.error.empty()) << "packet '" << p << "'";
  }
}

TEST(GdbRequest, ArbitraryBytesNeverCrash) {
  // Every prefix of every packet above, and a few byte soups.
  const char* seeds[] = {"vCont;r401000,401010:1f40;c", "qXfer:features:read:target.xml:0,ffb", "Z2,404028,4",
                         "QPassSignals:e;14", "vRun;2f62696e;3330", "M1000,2:abcd", "Hg1f40", "qRcmd,7768656e"};
  for (const char* seed : seeds) {
    std::string s = seed;
    for (size_t n = 0; n <= s.size(); ++n) (void)parse_request(s.substr(0, n));
  }
  std::string soup;
  for (int i = 0; i < 4096; ++i) {
    soup += (char)((i * 7919) % 256);
    (void)parse_request(soup.substr(i % 64));
  }
}

}  // namespace
}  // namespace rr
