"""Connection routes that go around block cards. Pure Python geometry.

A route is a polyline: a short straight stub out of the output port along the flow, then
either one bend across (the common case: blocks one layer apart) or, when a card is in
the way (a residual shortcut skipping blocks, a connection drawn upwards), a detour along
the nearest free channel beside the cards. Routes in one channel keep a lane apart, so
two shortcuts beside the same column stay two lines.

Everything is computed top-down ("TB"); a left-to-right canvas is the same problem with
x and y swapped.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Hashable, Iterable

from engine.graph.layout import Rect, overlaps

Point = tuple[float, float]
STUB = 18.0    # the straight run out of an output and into an input
CLEAR = 10.0   # how far a route keeps from a card
LANE = 12.0    # how far two routes in one channel keep apart
_SEARCH = 1600.0   # how far sideways a detour may look for a channel
_TRIES = 48


class Obstacles:
    """Cards (and detour lanes already taken) in a coarse grid, so a route only looks at
    what is near it: routing one connection stays cheap on a 1,000-block canvas."""

    CELL = 256.0

    def __init__(self, direction: str = "TB"):
        self.direction = direction
        self._items: dict[Hashable, tuple[Rect, bool]] = {}
        self._cells: dict[tuple[int, int], set] = defaultdict(set)

    def place(self, key: Hashable, rect: Rect | None, lane: bool = False) -> None:
        """Add, move (same key) or, with rect None, remove one card or lane."""
        old = self._items.pop(key, None)
        if old is not None:
            for cell in self._cells_of(old[0]):
                self._cells[cell].discard(key)
        if rect is not None:
            rect = self._to_flow(rect)
            self._items[key] = (rect, lane)
            for cell in self._cells_of(rect):
                self._cells[cell].add(key)

    def near(self, box: Rect) -> Iterable[tuple[Hashable, Rect, bool]]:
        """What lies in or near `box` (flow coordinates)."""
        seen = set()
        for cell in self._cells_of(box):
            for key in self._cells.get(cell, ()):
                if key not in seen:
                    seen.add(key)
                    rect, lane = self._items[key]
                    yield key, rect, lane

    def _cells_of(self, rect: Rect) -> Iterable[tuple[int, int]]:
        c = self.CELL
        for i in range(int(rect[0] // c), int(rect[2] // c) + 1):
            for j in range(int(rect[1] // c), int(rect[3] // c) + 1):
                yield i, j

    def _to_flow(self, rect: Rect) -> Rect:
        return rect if self.direction == "TB" else (rect[1], rect[0], rect[3], rect[2])


def route(start: Point, end: Point, obstacles: Obstacles, key: Hashable = None) -> list[Point]:
    """The polyline from an output port at `start` to an input port at `end`, clear of the
    cards in `obstacles` where a clear route exists. With `key`, a detour's channel is
    kept as a lane other routes step aside from (and this route's old lane is replaced)."""
    flip = obstacles.direction != "TB"
    a, b = (_swap(start), _swap(end)) if flip else (start, end)
    if key is not None:
        obstacles.place(("lane", key), None)
    points, lane = _route_tb(a, b, obstacles, ("lane", key))
    if lane is not None and key is not None:
        x, low, high = lane
        obstacles.place(("lane", key), _from_flow((x - LANE / 2, low, x + LANE / 2, high), flip), lane=True)
    return [_swap(p) for p in points] if flip else points


def forget(obstacles: Obstacles, key: Hashable) -> None:
    """A route that is gone frees its lane."""
    obstacles.place(("lane", key), None)


def _route_tb(start: Point, end: Point, obstacles: Obstacles, lane_key) -> tuple[list[Point], tuple | None]:
    (sx, sy), (ex, ey) = start, end
    y0, y1 = sy + STUB, ey - STUB
    if y1 >= y0:
        for turn in (y1, y0):  # bend just above the target, else just below the source
            bend = [(sx, y0), (sx, turn), (ex, turn), (ex, y1)]
            if not _blocked(bend, obstacles, lane_key):
                return _simplified([start, *bend, end]), None
    low, high = min(y0, y1), max(y0, y1)
    channel = _free_channel(sx, ex, y0, y1, obstacles, lane_key)
    if channel is None:  # boxed in: the plain bend, which at least stays readable
        return _simplified([start, (sx, y0), (sx, max(y0, y1)), (ex, max(y0, y1)), (ex, y1), end]), None
    return _simplified([start, (sx, y0), (channel, y0), (channel, y1), (ex, y1), end]), (channel, low, high)


def _free_channel(sx: float, ex: float, y0: float, y1: float, obstacles: Obstacles, lane_key) -> float | None:
    """The x nearest the connection's middle where down-across-down passes no card."""
    low, high = min(y0, y1), max(y0, y1)
    middle = (sx + ex) / 2
    band = (min(sx, ex) - _SEARCH, low, max(sx, ex) + _SEARCH, high)
    candidates = {sx, ex}
    for key, rect, lane in obstacles.near(band):
        if key == lane_key or not overlaps(rect, band):
            continue
        gap = LANE if lane else CLEAR + LANE
        candidates.update((rect[0] - gap, rect[2] + gap))
    # Nearest the middle first; on a tie the right-hand side, so shortcuts look alike.
    heap = [(abs(c - middle), -c) for c in candidates]
    heapq.heapify(heap)
    tried = set()
    for _ in range(_TRIES):
        if not heap:
            break
        _, negative = heapq.heappop(heap)
        x = -negative
        if x in tried:
            continue
        tried.add(x)
        if not _blocked([(sx, y0), (x, y0), (x, y1), (ex, y1)], obstacles, lane_key):
            return x
    return None


def _blocked(points: list[Point], obstacles: Obstacles, lane_key) -> bool:
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        segment = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        for key, rect, lane in obstacles.near(segment):
            if key == lane_key:
                continue
            if lane:
                # Lanes only keep parallel runs apart; crossing one is fine.
                if x1 == x2 and overlaps(segment, rect):
                    return True
            elif overlaps(segment, (rect[0] - CLEAR, rect[1] - CLEAR, rect[2] + CLEAR, rect[3] + CLEAR)):
                return True
    return False


def _simplified(points: list[Point]) -> list[Point]:
    """Without repeated points and without middle points on a straight run."""
    kept: list[Point] = []
    for point in points:
        if kept and abs(point[0] - kept[-1][0]) < 0.5 and abs(point[1] - kept[-1][1]) < 0.5:
            continue
        if len(kept) >= 2 and _collinear(kept[-2], kept[-1], point):
            kept[-1] = point
        else:
            kept.append(point)
    return kept


def _collinear(a: Point, b: Point, c: Point) -> bool:
    return (abs(a[0] - b[0]) < 0.5 and abs(b[0] - c[0]) < 0.5) or \
        (abs(a[1] - b[1]) < 0.5 and abs(b[1] - c[1]) < 0.5)


def _swap(point: Point) -> Point:
    return (point[1], point[0])


def _from_flow(rect: Rect, flip: bool) -> Rect:
    return (rect[1], rect[0], rect[3], rect[2]) if flip else rect
