"""The deadline watchdog fires every watch at its deadline, in deadline order.

It is woken only when a new watch's deadline comes before every other one's,
so these tests add watches in both orders: a later deadline must still fire
(after the earlier ones), and an earlier one must not wait for the later ones.
"""

from __future__ import annotations

import threading
import time

from pith_bib.http_deadline import Watch, Watchdog


def _fired_in_order(seconds: list[float]) -> list[int]:
    """The indexes of the watches, in the order the watchdog fired them."""
    dog = Watchdog()
    order: list[int] = []
    done = threading.Event()
    lock = threading.Lock()

    class Recorded(Watch):
        def __init__(self, index: int, delay: float) -> None:
            super().__init__(delay)
            self.index = index

        def fire(self) -> None:
            super().fire()
            with lock:
                order.append(self.index)
                if len(order) == len(seconds):
                    done.set()

    for index, delay in enumerate(seconds):
        dog.add(Recorded(index, delay))
    assert done.wait(10), f"only {order} of {len(seconds)} watches fired"
    return order


def test_watches_added_with_later_deadlines_all_fire_in_order() -> None:
    assert _fired_in_order([0.05, 0.1, 0.15, 0.2]) == [0, 1, 2, 3]


def test_a_watch_added_with_an_earlier_deadline_does_not_wait_for_the_later_one() -> None:
    """The thread sleeps towards a deadline a minute away when a near one arrives."""
    dog = Watchdog()
    late, early = Watch(60.0), Watch(0.05)
    fired = threading.Event()
    original = early.fire

    def fire() -> None:
        original()
        fired.set()

    early.fire = fire  # type: ignore[method-assign]
    dog.add(late)
    time.sleep(0.3)  # let the thread start sleeping towards the far deadline
    dog.add(early)
    assert fired.wait(10), "the near deadline waited for the far one"
    assert early.fired and not late.fired


def test_equal_deadlines_fire_in_the_order_added() -> None:
    order = _fired_in_order([0.1] * 3)
    assert sorted(order) == [0, 1, 2]
