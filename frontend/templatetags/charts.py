"""``{% plotly_figure fig "chart-id" %}``: a plotly Figure rendered from escaped JSON.

The figure travels as ``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped,
as Django's ``json_script`` does, so no user text can close the script or run; ``charts.js``
parses it and calls ``Plotly.newPlot`` on load and after every htmx swap. Never ``|safe`` figure
JSON inside an executable script.
"""

import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from frontend.figures import CHART_CONFIG

register = template.Library()

_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def plotly_figure(figure, chart_id: str) -> str:
    """A chart container plus its figure and plotly.js config as escaped JSON."""
    config = {**CHART_CONFIG, "toImageButtonOptions": {**CHART_CONFIG["toImageButtonOptions"], "filename": chart_id}}
    payload = f'{{"figure": {figure.to_json()}, "config": {json.dumps(config)}}}'
    title = figure.layout.title.text or chart_id
    return format_html(
        '<div class="chart" id="{0}" data-chart="{0}-data" role="img" aria-label="{1}"></div>'
        '<script type="application/json" id="{0}-data">{2}</script>',
        chart_id,
        title,
        mark_safe(payload.translate(_JSON_SCRIPT_ESCAPES)),  # noqa: S308 - escaped like json_script
    )
