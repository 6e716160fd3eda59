"""What to call classes and data sets on screen and in exports.

Classes are named by the data (``Dataset.class_names`` / ``Snapshot.class_names``: "T-shirt/top",
"Trouser", ... for Fashion-MNIST; "0".."9" for MNIST); a data set by a short form of its
``Dataset.source`` ("Fashion-MNIST (/usr/share/datasets/fashion-mnist)" -> "Fashion-MNIST").
"""

from __future__ import annotations

from pathlib import PurePath

ARROW = " → "


def class_name(names, c: int) -> str:
    """The name of class ``c`` (its number if the data names fewer classes)."""
    c = int(c)
    return str(names[c]) if 0 <= c < len(names) else str(c)


def confusion_caption(names, true: int, predicted: int) -> str:
    """E.g. "Shirt → T-shirt/top", "4 → 9"."""
    return f"{class_name(names, true)}{ARROW}{class_name(names, predicted)}"


def digits_only(names) -> bool:
    """Whether the classes are just numbered (MNIST): then captions stay as short as "4 → 9"."""
    return all(str(name) == str(k) for k, name in enumerate(names))


def data_name(source: str) -> str:
    """A short name for a data set's ``source``: a known data set's name, "MNIST" for the bundled
    one, else the folder's name."""
    source = str(source or "")
    if not source:
        return ""
    if source.startswith("bundled MNIST"):
        return "MNIST"
    head, sep, _ = source.partition(" (")
    if sep and not head.startswith(("/", "~", ".")) and "/" not in head and "\\" not in head:
        return head  # "Fashion-MNIST (/usr/share/...)": the recognised name
    return PurePath(head).name or head
