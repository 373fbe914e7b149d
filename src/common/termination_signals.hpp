// What a server's main thread does before it starts any other: SIGTERM and SIGINT blocked (the
// mask is inherited by every thread, so only wait() takes them and the server stops in order)
// and SIGPIPE ignored (a peer that left is a write error, not the server's death).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <chrono>

namespace tiffin {

class TerminationSignals {
 public:
  TerminationSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
  }
  // Until one of them comes; its number.
  int wait() {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }
  // The same for at most `timeout`; 0 when none came (a loop that works between waits).
  int wait_for(std::chrono::milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000000};
    int sig = sigtimedwait(&set_, nullptr, &ts);
    return sig > 0 ? sig : 0;
  }

 private:
  sigset_t set_;
};

}  // namespace tiffin
