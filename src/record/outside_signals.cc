#include "record/outside_signals.h"

#include <atomic>

namespace rr {

namespace {

// Written by the handler, read by take(): a count per signal number and
// the sender of the last one. Lock-free atomics are async-signal safe.
std::atomic<uint32_t> g_count[NSIG];
std::atomic<pid_t> g_sender[NSIG];
std::atomic<int> g_code[NSIG];
std::atomic<bool> g_pending{false};
uint32_t g_taken[NSIG];

void on_signal(int sig, siginfo_t* info, void*) {
  if (sig <= 0 || sig >= NSIG) return;
  g_sender[sig].store(info ? info->si_pid : 0, std::memory_order_relaxed);
  g_code[sig].store(info ? info->si_code : 0, std::memory_order_relaxed);
  g_count[sig].fetch_add(1, std::memory_order_release);
  g_pending.store(true, std::memory_order_release);
}

}  // namespace

const std::vector<int>& OutsideSignals::handled() {
  // Every signal whose default action would end rr and that another
  // process may send; not the faults of rr's own code (SIGSEGV, SIGBUS,
  // SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS), not SIGPIPE (a closed
  // output ends rr as it ends other tools), nor the C library's own
  // real-time signals (below SIGRTMIN).
  static const std::vector<int> sigs = [] {
    std::vector<int> v = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM,
                          SIGPROF, SIGIO, SIGPWR, SIGXCPU, SIGXFSZ, SIGSTKFLT};
    for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) v.push_back(s);
    return v;
  }();
  return sigs;
}

OutsideSignals::OutsideSignals() {
  for (int sig : handled()) {
    g_taken[sig] = g_count[sig].load(std::memory_order_acquire);
    struct sigaction sa = {}, old = {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &old);
    previous_.push_back(old);
  }
}

OutsideSignals::~OutsideSignals() {
  for (size_t i = 0; i < handled().size(); ++i) sigaction(handled()[i], &previous_[i], nullptr);
}

bool OutsideSignals::pending() { return g_pending.load(std::memory_order_acquire); }

std::vector<OutsideSignals::Arrival> OutsideSignals::take() {
  std::vector<Arrival> out;
  g_pending.store(false, std::memory_order_release);
  auto now = std::chrono::steady_clock::now();
  for (int sig : handled()) {
    uint32_t n = g_count[sig].load(std::memory_order_acquire);
    if (n == g_taken[sig]) continue;
    g_taken[sig] = n;
    Arrival a;
    a.sig = sig;
    a.sender = g_sender[sig].load(std::memory_order_relaxed);
    a.code = g_code[sig].load(std::memory_order_relaxed);
    a.at = now;
    out.push_back(a);
  }
  return out;
}

}  // namespace rr
