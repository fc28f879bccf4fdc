"""Child processes that die with their parent, even when the parent is SIGKILLed.

Linux's parent-death signal (prctl PR_SET_PDEATHSIG = SIGKILL): the kernel sends it when the
*thread* that started the child ends, so start such children from a thread that lives as
long as they do (every entrypoint starts them from its main thread)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` giving the child SIGKILL when its parent dies (None off Linux). All
    lookups happen here, in the parent: the child only makes one system call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl: no signal will come
            os._exit(1)

    return preexec
