"""Keeping Python's full garbage collections short while the window is open.

A full (generation 2) collection walks every object the interpreter tracks. With the window
built and the data loaded that is over 100,000 objects (Qt wrappers, plot items, menus), and one
such collection took 170-270 ms here, holding the GIL: the GUI's longest stalls, and a pause of
training too. Once the window is built, its objects live as long as it does; ``settle()`` collects
once and moves the survivors to the permanent generation (``gc.freeze``), so later collections
walk only what was made since (snapshots, renders). Before the window replaces many of them (a
new data set builds new panels) ``unsettle()`` gives them back to the collector.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect, then keep everything alive now out of later collections."""
    gc.collect()
    gc.freeze()


def unsettle() -> None:
    """Let the collector see the frozen objects again (some are about to become garbage)."""
    gc.unfreeze()
