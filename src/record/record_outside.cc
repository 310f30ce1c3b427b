// RecordSession, signals sent to rr itself while it records (see
// record/outside_signals.h): what the program would have received
// natively is passed on to it, and a second interrupt ends the recording at
// once, with every event so far in a finished trace.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "record/record_session.h"
#include "core/signal_delivery.h"

namespace rr {

namespace {

// How long after rr got a signal its tracees may still show it, when the
// sender signalled the whole process group (kill -SIG -PGID, timeout(1)).
constexpr std::chrono::milliseconds kGroupGrace(100);
// A second interrupt within this time stops the recording at once.
constexpr std::chrono::seconds kSecondInterrupt(3);

bool is_interrupt(int sig) { return sig == SIGINT || sig == SIGTERM || sig == SIGHUP; }

// Whether `sig` is pending for thread `tid`, for the thread or for its
// process (/proc's SigPnd and ShdPnd masks).
bool pending_in(pid_t tid, int sig) {
  uint64_t bit = 1ull << (sig - 1);
  for (const char* field : {"SigPnd", "ShdPnd"})
    if (try_proc_sigset(tid, field).value_or(0) & bit) return true;
  return false;
}

}  // namespace

bool RecordSession::tracees_have_signal(int sig, std::chrono::steady_clock::time_point arrived) const {
  // A stop with it around the time rr noticed its own (the loop may have
  // taken the tracee's stop first).
  auto stop = last_stop_with_.find(sig);
  if (stop != last_stop_with_.end() && stop->second + kGroupGrace >= arrived) return true;
  for (const auto& [tid, t] : tasks()) {
    for (const siginfo_t& si : t->held)
      if (si.si_signo == sig) return true;
    if (pending_in(tid.value, sig)) return true;
  }
  return false;
}

bool RecordSession::sent_by_tracee(pid_t sender) const {
  if (sender <= 0) return false;
  for (const auto& [tid, t] : tasks())
    if (t->tid() == sender || t->live_tgid() == sender) return true;
  return false;
}

void RecordSession::stop_at_once(int sig) {
  if (stopping_) return;
  stopping_ = true;
  fprintf(stderr, "rr: %s again: stopping the recording now; the trace keeps the events so far\n", strsignal(sig));
  kill_tracees();
}

Status RecordSession::handle_outside_signals() {
  if (!OutsideSignals::pending() && forwards_.empty()) return {};
  auto now = std::chrono::steady_clock::now();
  for (const OutsideSignals::Arrival& a : outside_.take()) {
    // A tracee that signalled its own process group reached rr too; the
    // tracees got it from the kernel, as natively.
    if (sent_by_tracee(a.sender)) continue;
    if (is_interrupt(a.sig)) {
      bool again = last_interrupt_ && now - *last_interrupt_ < kSecondInterrupt;
      last_interrupt_ = now;
      if (again) {
        stop_at_once(a.sig);
        continue;
      }
    }
    // From the terminal the whole foreground group got it; else wait a
    // moment to see whether the tracees got it as well.
    if (a.code == SI_KERNEL) continue;
    forwards_.push_back(a);
  }
  for (auto it = forwards_.begin(); it != forwards_.end();) {
    if (now - it->at < kGroupGrace) {
      ++it;
      continue;
    }
    // Sent to rr alone: natively the program would have received it.
    RecordTask* initial = initial_ended_ ? nullptr : find_task(initial_tgid_);
    if (initial && !tracees_have_signal(it->sig, it->at)) kill(initial->live_tgid(), it->sig);
    it = forwards_.erase(it);
  }
  return {};
}

}  // namespace rr
