"""Child processes die with the process that started them, even when it is SIGKILLed.

`die_with_parent()` is a `preexec_fn` setting Linux's parent-death signal (prctl
PR_SET_PDEATHSIG = SIGKILL): the kernel sends it when the *thread* that started the child
ends, so start children from a thread that lives as long as they do (every entrypoint starts
them from its main thread). The setting survives exec, but not a change of user: a child
that drops privileges must be stopped some other way.
"""

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
