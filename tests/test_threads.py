import threading

import torch

from lenet_core.threads import use_threads


def test_thread_count_is_set_per_thread():
    """What the window relies on: one thread's setting leaves another thread's alone."""
    before = torch.get_num_threads()
    seen: dict[str, int] = {}

    def other() -> None:
        seen["set"] = use_threads(1)
        torch.ones(100_000).sum()  # a parallel op on this thread
        seen["after"] = torch.get_num_threads()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    try:
        assert seen == {"set": 1, "after": 1}
        assert torch.get_num_threads() == before
    finally:
        use_threads(before)  # the global default that new threads start from
