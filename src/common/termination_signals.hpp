// What a server's main thread does before it starts any other: SIGTERM and SIGINT blocked (the
// mask is inherited by every thread, so only wait() takes them and the server stops in order)
// and SIGPIPE ignored (a peer that left is a write error, not the server's death).
#pragma once

#include <pthread.h>
#include <signal.h>

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

 private:
  sigset_t set_;
};

}  // namespace tiffin
