"""JSON with bounded nesting, for every JSON body and file GreenGuild reads.

No format we read nests deeper than a handful of levels (a BoAmps report: about 5). A body of 100,000
``[`` made ``json.loads`` raise RecursionError, which surfaced as a 500 or an import batch failing with
"internal error". ``json_loads`` refuses anything deeper than ``JSON_MAX_DEPTH`` with a ValueError that
says why; ``emissions.api_parsers.DepthLimitedJSONParser`` does the same for every DRF endpoint (a 400).
Documented in docs/api.md.
"""

from __future__ import annotations

import json
from typing import Any

# Levels of arrays/objects: ``[]`` is 1, ``{"a": [1]}`` is 2. Far above any real document, far below
# Python's recursion limit (about 1,000 frames), where json.loads and json.dumps give up.
JSON_MAX_DEPTH = 64


class JsonTooDeepError(ValueError):
    """A JSON document nested deeper than ``JSON_MAX_DEPTH``."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {JSON_MAX_DEPTH} levels of arrays/objects")


def json_loads(text: str | bytes | bytearray, **kwargs: Any) -> Any:
    """``json.loads``, but raise JsonTooDeepError (a ValueError) for nesting deeper than ``JSON_MAX_DEPTH``."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        # The decoder counts its own recursion and raises cleanly; the document is far too deep.
        raise JsonTooDeepError() from None
    # Cheap first (C-speed counts, e.g. for each line of a billing export): fewer openers than the limit
    # cannot nest past it, whatever the strings hold.
    openers = text.count("[") + text.count("{") if isinstance(text, str) else text.count(b"[") + text.count(b"{")
    if openers > JSON_MAX_DEPTH:
        json_depth_check(value)
    return value


def json_depth_check(value: Any) -> None:
    """Raise JsonTooDeepError if ``value`` (decoded JSON, or YAML) nests deeper than ``JSON_MAX_DEPTH``."""
    # Iterative: walking a deep document recursively would fail the way parsing it did.
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > JSON_MAX_DEPTH:
            raise JsonTooDeepError()
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
