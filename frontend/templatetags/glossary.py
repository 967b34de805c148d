"""The glossary in templates (frontend/glossary.py):

* ``{% term "pue" %}`` writes the term with its explanation as a tooltip (hover, or tap/focus on a phone);
  ``{% term "location" "Location-based" %}`` writes other words for the same term.
* ``{{ code|plain }}`` shows a stored code in words; ``{{ text|plain_text }}`` does it for every code in a text.
* ``{{ tier|tier_help }}`` is a quality tier's explanation (for a ``title``).
* ``{{ batch.source|import_source }}`` names an import source.
"""

from django import template
from django.utils.html import format_html

from frontend import glossary

register = template.Library()


@register.simple_tag
def term(key: str, text: str = "") -> str:
    """The term as an ``<abbr>`` whose title explains it; an unknown key is a programming error."""
    label, meaning = glossary.TERMS[key]
    html = '<abbr class="term" tabindex="0" data-term="{}" title="{}">{}</abbr>'
    return format_html(html, key, meaning, text or label)


@register.filter
def plain(code) -> str:
    return glossary.plain(code)


@register.filter
def plain_text(text) -> str:
    return glossary.plain_text(text)


@register.filter
def tier_help(tier) -> str:
    return glossary.TIER_HELP.get(str(tier), "")


@register.filter
def import_source(key) -> str:
    """An import source's name (ingest.parsers.PARSERS) without its details: ``CodeCarbon emissions.csv``."""
    from ingest.parsers import PARSERS

    source = PARSERS.get(str(key))
    return source.label.split(" (")[0] if source else str(key)
