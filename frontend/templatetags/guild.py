"""Guild panels of the project page, without touching its view:
``{% project_carbon_label project as label %}`` and ``{% project_techniques project as techniques %}``."""

from django import template

from emissions.periods import period_parse
from reporting.guild.label import carbon_label, label_default_period
from reporting.guild.techniques import technique_savings

register = template.Library()


@register.simple_tag
def project_carbon_label(project, period: str = "") -> dict:
    """The project's carbon label for ``period`` (default: the newest calculation's), see reporting.guild.label."""
    try:
        chosen = period_parse(period) if period else label_default_period(project=project)
    except ValueError:
        chosen = label_default_period(project=project)
    return carbon_label(project=project, period=chosen)


@register.simple_tag
def project_techniques(project) -> list[dict]:
    """Like-for-like measured savings per efficiency technique over all the project's runs, with sample sizes
    and a bootstrap interval (reporting.guild.techniques)."""
    return technique_savings(project=project)
