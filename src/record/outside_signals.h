// Signals that reach the recorder itself while it records: Ctrl-C at the
// terminal, `kill` of rr, a hang-up, or a tracee that signals its own
// process group. None of them may end rr with its trace half written. The
// handlers only note what came (number, sender, kind); the recording loop
// decides, between two stops, what the program would have seen natively.
#pragma once

#include <chrono>
#include <csignal>
#include <vector>
#include <sys/types.h>

namespace rr {

class OutsideSignals {
 public:
  struct Arrival {
    int sig = 0;
    pid_t sender = 0;  // si_pid (0 when the kernel sent it)
    int code = 0;      // si_code: SI_USER for kill(), SI_KERNEL for the terminal
    std::chrono::steady_clock::time_point at;
  };
  // Installs the handlers (handled()); the destructor puts the previous
  // dispositions back.
  OutsideSignals();
  ~OutsideSignals();
  OutsideSignals(const OutsideSignals&) = delete;
  OutsideSignals& operator=(const OutsideSignals&) = delete;

  // Whether something arrived that take() has not returned (async-signal safe).
  static bool pending();
  // What arrived since the last call, oldest first (signals of one number
  // that arrive before a call are one arrival, as the kernel merges them).
  std::vector<Arrival> take();
  // The signal numbers handled.
  static const std::vector<int>& handled();

 private:
  std::vector<struct sigaction> previous_;
};

}  // namespace rr
