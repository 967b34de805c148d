"""Request input every DRF endpoint reads the same way: JSON bodies (the parser in settings
``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``) and integer query parameters."""

from __future__ import annotations

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from emissions.json_depth import JsonTooDeepError, json_depth_check


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser with the nesting limit of ``emissions.json_depth``: a deeper body is a 400 saying
    so (``{"detail": "JSON parse error - JSON nested deeper than 64 levels …"}``), not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {JsonTooDeepError()}") from None
        try:
            json_depth_check(data)
        except JsonTooDeepError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return data


# Primary keys are 64-bit (BigAutoField): a larger id matches nothing and would overflow the query.
ID_MAX = 2**63 - 1


def query_id(params, name: str) -> int | None:
    """The query parameter ``name`` as a row id, None when absent or blank; a 400 naming the accepted
    range otherwise (``?batch=10000000000000000000000``, ``?batch=²``: ``str.isdigit`` accepts the latter)."""
    text = params.get(name, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(ID_MAX)) and 1 <= int(text) <= ID_MAX):
        raise ValidationError({name: [f"{name} must be an integer between 1 and {ID_MAX}"]})
    return int(text)
