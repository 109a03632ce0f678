"""CPU threads for a program that trains on one thread and does light torch work on another (a GUI).

torch's intra-op thread count is a setting *of the calling thread* (OpenMP's `nthreads` ICV): each Python thread
that runs a parallel op gets its own OpenMP team. When two threads each own a team of all the cores, GNU OpenMP
sees more threads than cores and stops spin-waiting between parallel regions; LeNet's small ops then pay a sleep
and a wake-up each. Measured on 2 cores: the engine on a worker thread ran ~25 % slower than on the main thread
once the main thread had run one parallel op, and as fast as on the main thread when the main thread was kept to
one thread. So: the thread that only predicts single drawings uses one thread; the training thread uses `CORES`.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

import torch

CORES = torch.get_num_threads()  # what torch chose for this machine (or OMP_NUM_THREADS), read at import


def use_threads(n: int) -> int:
    """Run the torch ops called from *this* thread on `n` intra-op threads; returns the count now in effect.

    Call it before the thread's first torch op: a team already made keeps its threads (idle, but counted).
    """
    torch.set_num_threads(n)
    return torch.get_num_threads()  # also ends torch's lazy per-thread set-up, which would read the global count


M_ARENA_MAX = -8  # glibc's mallopt parameter


def one_malloc_arena() -> bool:
    """Let threads started from now on share glibc's main malloc arena instead of each making its own.

    A training thread's arena kept ~80 MB more of freed tensor memory than the main arena does (the window's peak
    memory while training: 756-783 MB with an arena per thread, 679-697 MB with one). Linux with glibc only; returns
    whether the setting was taken.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, say)
        return False
    return bool(mallopt(M_ARENA_MAX, 1))


def lower_priority(niceness: int = 10) -> bool:
    """Run *this* thread `niceness` steps lower in CPU priority (Linux: a thread is a task with its own nice value).

    For a training thread beside a GUI: when both cores are busy, the GUI thread no longer waits for a core behind
    the training threads. Measured on 2 cores (bench/README.md, "Drawing while training"): the drawing-to-prediction
    p95 while training went from 8.2-11.2 ms to 7.0-7.7 ms, training between strokes unchanged. Returns whether it
    was taken; OpenMP threads started afterwards inherit it.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))
    except (OSError, AttributeError):
        return False
    return True
