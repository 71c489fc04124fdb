"""Exceptions that carry a message meant for the user.

Every mistake a user can make (a malformed spec, a missing file, an unsafe weights file, an
unavailable device) is raised as a :class:`RnnvizError`; the command line prints its message on one
line and exits with status 2, and the desktop app shows it in the window. Anything else escaping is
a bug in rnnviz.
"""

from __future__ import annotations


class RnnvizError(Exception):
    """A problem with the user's input, described in words the user can act on."""


class SpecError(RnnvizError):
    """A model spec (TOML/JSON file or objects built in code) is invalid."""


class InputError(RnnvizError):
    """The input sequence (generated or read from a file) is unusable."""


class WeightsError(RnnvizError):
    """A weights file is missing, corrupt, unsafe or describes an unsupported model."""


class DeviceError(RnnvizError):
    """The requested compute device does not exist on this machine."""


def printable(value: object, limit: int = 80) -> str:
    """A name read from a file, made safe to print: control characters (newlines, terminal escapes) become
    ``?`` and it is cut to ``limit`` characters; anything but a string is shown by its ``repr``."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return "".join(c if c.isprintable() else "?" for c in text)
