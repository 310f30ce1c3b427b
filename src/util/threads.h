// Threads of rr's own beside its main thread.
#pragma once

#include <csignal>
#include <functional>
#include <pthread.h>
#include <thread>

namespace rr {

// A thread running `body` with every signal blocked (signals are the
// main thread's, whose waits they interrupt), or a thread that is not
// joinable where none can be had.
inline std::thread thread_with_signals_blocked(std::function<void()> body) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t;
  try {
    t = std::thread(std::move(body));
  } catch (...) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace rr
