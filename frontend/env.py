"""Typed readers for environment variables that fail loudly on malformed values.

Every deployment setting of GreenGuild comes from the environment (see docs/configuration.md).
A typo such as ``DEBUG=ture`` must stop the process at start-up rather than silently fall back to
a default, so each helper raises ``ImproperlyConfigured`` naming the variable and the bad value.
``NAME_FILE`` variants serve Docker secrets: when ``SECRET_KEY_FILE`` is set, the file's content
is used as ``SECRET_KEY``.
"""

from __future__ import annotations

import math
import os

from django.core.exceptions import ImproperlyConfigured

from emissions.text import yes_no

_MISSING = object()


def _raw(name: str) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            with open(file_path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default: object = _MISSING) -> str:
    """Return the variable as text; without a default, a missing variable is an error."""
    value = _raw(name)
    if value is None:
        if default is _MISSING:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default  # type: ignore[return-value]
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean: the yes/no words of emissions/text.py (1/0, true/false, yes/no, y/n,
    on/off); set but empty is false."""
    value = _raw(name)
    if value is None:
        return default
    flag = yes_no(value) if value.strip() else False
    if flag is None:
        raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no).")
    return flag


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    """Return the variable as an integer, optionally bounded below."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_float(name: str, default: float, minimum: float | None = None, maximum: float | None = None) -> float:
    """Return the variable as a float, optionally bounded below and above."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}.")
    return number


def env_fraction(name: str, default: float) -> float:
    """Return the variable as a fraction in [0, 1] (a utilization: 0.5 = 50 %); a percentage such as 50, which
    would multiply the energy, is an error."""
    try:
        number = env_float(name, default, minimum=0.0, maximum=1.0)
    except ImproperlyConfigured:
        number = math.nan
    if not 0.0 <= number <= 1.0:  # also refuses "nan"
        raise ImproperlyConfigured(f"{name}={_raw(name)!r} must be a fraction between 0 and 1, e.g. 0.5 for 50 %.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]
