"""A small thread-safe memo of results that are costly to make (first screens, evaluations), owned by a Studio."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class Memo:
    """``get(key, make, valid)``: the kept value for ``key`` while ``valid(value)``, else ``make()`` (kept). Keeps the
    last ``max_items`` values; one maker at a time, so concurrent first calls wait for the one that makes it."""

    def __init__(self, max_items: int = 8):
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    def get(self, key: tuple, make: Callable[[], Any], valid: Callable[[Any], bool] = lambda _v: True) -> Any:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and valid(hit):
                self._items.move_to_end(key)
                return hit
            value = make()
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            return value
