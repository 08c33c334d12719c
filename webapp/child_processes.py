"""Children that must not outlive their parent (a job's training run, the nginx in front)."""

import ctypes
import ctypes.util
import os
import signal

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with(parent_pid):
    """A ``preexec_fn`` that has the kernel SIGKILL the child when ``parent_pid`` dies.

    libc is loaded here, before the fork; the child only calls ``prctl``. If
    the parent died before that call, the child exits at once.
    """
    prctl = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl

    def set_death_signal():
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:
            os._exit(1)

    return set_death_signal
