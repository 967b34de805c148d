"""Reading yes/no words, defined once for settings, import files and import options.

Pure: no Django, no I/O. One vocabulary everywhere, the union of the sets each reader had before:
``1``/``0``, ``true``/``false``, ``yes``/``no``, ``y``/``n`` and ``on``/``off``, case and surrounding
spaces ignored. So a word one reader accepted is accepted by all of them (``y`` in an environment variable,
``on`` in a CSV cell), and none refuses a word it took before.
"""

from __future__ import annotations

TRUTHY_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSY_WORDS = frozenset({"0", "false", "no", "n", "off"})


def truthy(value: object) -> bool:
    """True for a yes-word, False for anything else (a lenient option); a bool is itself."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUTHY_WORDS


def yes_no(value: str) -> bool | None:
    """True for a yes-word, False for a no-word, None for any other text (the caller refuses it)."""
    word = value.strip().lower()
    if word in TRUTHY_WORDS:
        return True
    if word in FALSY_WORDS:
        return False
    return None
