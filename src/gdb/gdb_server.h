// GdbServer: serves gdb's remote serial protocol for a replay. It answers
// queries (registers, memory, threads, the target description, auxv, the
// program file) from the stopped replay, keeps gdb's breakpoints and
// watchpoints, and turns resume packets into forward runs or timeline
// jumps (reverse execution, `run EVT`, `restart N`).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "gdb/diversion.h"
#include "gdb/gdb_connection.h"
#include "gdb/gdb_request.h"
#include "gdb/gdb_target.h"
#include "gdb/monitor_commands.h"
#include "gdb/replay_timeline.h"

namespace rr {

class GdbServer : public StopHandler {
 public:
  explicit GdbServer(GdbConnection& conn) : conn_(conn) {}
  void set_timeline(ReplayTimeline* t) {
    timeline_ = t;
    known_.insert(t->debugged());  // gdb starts with it
  }

  std::variant<Resume, TimelineJump> stopped(ReplaySession& s, const StopInfo& stop) override;
  ProcessTraps traps() const override;
  bool debugs(pid_t tgid) const override { return known_.count(tgid) && !detached_.count(tgid); }
  bool interrupted() override { return conn_.interrupted(); }
  bool reports_signal(int sig) const override { return !pass_signals_.count(sig); }
  bool reports_fork(pid_t child, bool vfork) const override {
    return (vfork ? vfork_events_ : fork_events_) && !debugs(child);
  }
  bool reports_vfork_done(pid_t parent) const override { return vfork_waiting_.count(parent) > 0; }

 private:
  friend const std::vector<MonitorCommand>& monitor_commands();
  // Serves one request: what gdb asked for when it resumes forward or
  // jumps; nullopt while it stays at the stop.
  std::optional<std::variant<Resume, TimelineJump>> serve(const GdbRequest& req);
  // The reply to a request that neither resumes nor jumps.
  std::string answer(const GdbRequest& req);
  void reply(const std::string& r);  // a lost connection ends the session (lost_)
  std::string stop_reply() const;
  // How the process of an Ended or ProcessExit stop ended (W or X).
  std::string end_reply() const;
  // A forward resume at a process's exit stop: the reply telling gdb how it
  // ended (the first time, or again while gdb debugs no other process), or
  // nullopt when the replay goes on with the others.
  std::optional<std::string> tell_end();
  // A thread's registers and XSAVE area (a vfork parent's as it entered
  // vfork: the kernel shows them to no one while it waits).
  static Registers regs_of(ReplayTask& rt) { return rt.in_vfork ? rt.vfork_regs : rt.task->regs(); }
  static std::string xsave_of(ReplayTask& rt) { return rt.in_vfork ? rt.vfork_xsave : rt.task->xsave(); }
  std::string read_registers(pid_t tid);
  std::string read_register(pid_t tid, int regno);
  // Writes (gdb_server_diversion.cc): into a diversion, made at the first
  // write that changes something.
  std::string write_register(const GdbRequest& req);
  std::string write_registers(const GdbRequest& req);
  std::string write_memory(const GdbRequest& req);
  // qXfer:siginfo: gdb saves a thread's siginfo as it begins a call into the
  // program and writes it back as the call ends: how calls are told from
  // the user's resumes.
  std::string read_siginfo(uint64_t off, uint64_t len);
  std::string write_siginfo(const GdbRequest& req);
  // The session gdb sees: the diversion's copy while there is one.
  ReplaySession* shown() const { return diversion_ ? &diversion_->session() : session_; }
  // Starts a diversion at the current point; "" or why it cannot.
  std::string divert();
  // The same, saying why on stderr where it cannot: false then.
  bool diverted();
  // Sets registers of thread `t` in the diversion (made first).
  std::string write_regs(pid_t t, const std::vector<std::pair<const GdbReg*, std::string>>& values);
  // Back to the replay: the diversion's copy ends.
  void end_diversion();
  // Whether a resume runs the diversion (a call gdb set up is under way)
  // rather than the replay.
  bool resumes_diversion() const;
  // Runs the diversion for a resume request; the stop reply.
  std::string resume_diversion(const GdbRequest& req);
  std::string read_memory(uint64_t addr, uint64_t len);
  std::string set_thread(const GdbRequest& req);
  std::string thread_list();
  // How gdb names thread `tid` (pPID.TID with the multiprocess extensions).
  std::string thread_id(pid_t tid) const;
  // The recorded process of thread `tid` (0: not a thread gdb can see).
  pid_t process_of(pid_t tid) const;
  // D;PID: gdb lets go of one process (follow-fork, detach-on-fork,
  // `detach inferior N`): its stops are no longer reported. True when gdb
  // still holds other processes; otherwise the session ends.
  bool detach(pid_t pid);
  // vAttach;PID: gdb (`attach PID` in an inferior of its own) debugs a
  // recorded process that exists at this point; the stop reply, or E01.
  std::string attach(pid_t pid);
  // Process `pid`'s program file ("" when there is none); 0: the current one's.
  std::string exec_file(pid_t pid = 0);
  std::string xfer(const std::string& object, const std::string& annex, uint64_t off, uint64_t len);
  std::string breakpoint(const GdbRequest& req);
  // Whether `addr` is mapped without execute permission.
  bool in_data(RemotePtr<> addr);
  // c, s, vCont: what runs forward (a step wins over continues).
  Resume resume_forward(const GdbRequest& req);
  // The Resume a c, s or vCont request asks for (and the range of a vCont;r).
  Resume resume_request(const GdbRequest& req);
  // After a step stop: the step or the jump back that goes on through the
  // counter's code, or nullopt when the stop is gdb's.
  std::optional<std::variant<Resume, TimelineJump>> through_counter_code(const StopInfo& stop);
  // vRun: the jump, or an error reply.
  std::variant<std::string, TimelineJump> run(const GdbRequest& req);
  // A thread gdb can see: of a process it debugs.
  ReplayTask* find_thread(pid_t tid) const;
  // A thread of process `pid`, its leader while it lives.
  ReplayTask* thread_of(pid_t pid) const;
  // The thread gdb reads registers and memory from (Hg), else the stop's.
  ReplayTask* any_thread();
  pid_t current_thread();
  // Leaves the live replay for `j`: what stopped() returns.
  TimelineJump leave(TimelineJump j);
  // gdb is gone or asked to end: the session ends.
  TimelineJump quit() { return leave(TimelineJump{}); }

  // rr's monitor commands (monitor_commands.cc): `line` as typed after `monitor`.
  std::string monitor(const std::string& line);
  // Commands that need positions (re-runs of stretches) first leave the
  // live replay and come back to the same point (a Locate jump), once.
  // True when the jump is asked for (in locate_jump_): the command is
  // answered after it, and returns at once.
  // With `for_files`, by the breakpoint counters' positions only.
  bool locate_first(bool needed, bool for_files = false);
  std::string when(const std::string& arg);
  std::string when_position(const std::string& arg);
  std::string when_ticks(const std::string& arg);
  std::string checkpoint(const std::string& arg);
  std::string info_checkpoints(const std::string& arg);
  std::string delete_checkpoint(const std::string& arg);
  std::string write_checkpoints(const std::string& arg);
  std::string load_checkpoints(const std::string& arg);
  std::string help(const std::string& arg);

  GdbConnection& conn_;
  ReplayTimeline* timeline_ = nullptr;
  ReplaySession* session_ = nullptr;
  StopInfo stop_;
  // A monitor command waiting for a Locate jump to come back, and whether
  // it is being answered after one (no second jump).
  std::string pending_monitor_;
  std::string monitor_line_;  // the monitor command being served
  std::optional<TimelineJump> locate_jump_;  // asked for by locate_first()
  bool lost_ = false;  // a reply could not be sent: gdb is gone
  bool located_ = false;
  bool awaiting_stop_ = false;
  bool hold_next_resume_ = false;
  // vCont;r: keep stepping this thread while its pc is in [range_start_, range_end_).
  pid_t range_tid_ = 0;
  RemotePtr<> range_start_, range_end_;  // after `run EVT` / `restart N`: gdb's automatic continue stays put
  // A step (forward or back) that stops inside the progress counter's own
  // code (a stub, an island) goes on until it is back in the program's, so
  // that gdb never sees it: through_counter_code.
  enum class CounterStep { None, Forward, Back, BackProbe };
  CounterStep counter_step_ = CounterStep::None;
  pid_t counter_step_tid_ = 0;
  uint64_t step_from_ = 0;  // Forward: the pc the step started at
  uint64_t probe_at_ = 0;   // BackProbe: the jump to a stub the steps back went past
  pid_t g_thread_ = 0;  // Hg: the thread registers and memory are read from
  pid_t c_thread_ = 0;  // Hc: the thread c and s apply to
  // The process of Hg, which breakpoints go to: also one gdb holds that
  // does not exist at this point (the replay went back before its fork).
  pid_t g_process_ = 0;
  // gdb's hardware breakpoints and watchpoints as asked for (any length);
  // ProcessBreaks::traps.hw holds them split into what debug registers can watch.
  struct WatchRequest {
    RemotePtr<> addr;
    uint64_t len = 1;
    WatchKind kind = WatchKind::Write;
    bool operator==(const WatchRequest&) const = default;
  };
  // What gdb set in one process (gdb names the process by Hg first).
  struct ProcessBreaks {
    TrapSet traps;
    std::set<RemotePtr<>> data_breaks;  // software breakpoints in memory that does not execute
    std::vector<WatchRequest> watches;
  };
  std::map<pid_t, ProcessBreaks> breaks_;  // by recorded tgid
  // The breakpoints of the process thread `tid` belongs to.
  ProcessBreaks& breaks_of(pid_t tid) { return breaks_[process_of(tid)]; }
  // gdb's multiprocess extensions are on (it said multiprocess+).
  bool multiprocess_ = false;
  // gdb hears of forks and vforks (it said fork-events+, vfork-events+
  // with the multiprocess extensions).
  bool fork_events_ = false;
  bool vfork_events_ = false;
  // Processes whose vfork gdb heard of and that wait for their child: gdb
  // keeps their breakpoints out until it hears the vfork returned.
  std::set<pid_t> vfork_waiting_;
  // Processes gdb has heard of (the first one, stop replies, forks) and the
  // ones it detached from; recorded tgids, kept across jumps.
  std::set<pid_t> known_, detached_;
  std::set<int> pass_signals_;  // Linux numbers of the signals gdb passes silently
  std::string tdesc_;
  std::string exec_file_;  // at an Exec stop: the new program
  std::string libraries_;  // qXfer:libraries-svr4 as its first piece read it
  // Where gdb's calls run (nullptr: reads and writes go to the replay).
  std::unique_ptr<Diversion> diversion_;
  StopInfo replay_stop_;  // the replay's stop, shown again when the diversion ends
  int calls_ = 0;         // calls gdb began (siginfo read) and has not ended (written back)
  pid_t call_tid_ = 0;    // the thread whose pc gdb set since a call began (0: none)
  bool call_abandoned_ = false;  // the diversion stopped by a signal: gdb's call is over
  bool end_told_ = false;  // at a ProcessExit stop: gdb heard how the process ended
};

}  // namespace rr
