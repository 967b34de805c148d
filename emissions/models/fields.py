"""Model fields of our own."""

from __future__ import annotations

from django.db import models


class JSONRecordField(models.JSONField):
    """A JSON object kept as written: PostgreSQL ``json`` (text, checked for syntax) rather than ``jsonb``.

    For write-mostly records that are shown but never queried inside (a billing line's coefficients):
    parsing every line's object into ``jsonb`` was a third of a billing import's database time. Other
    databases store it as JSONField does.
    """

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        # psycopg decodes ``json`` itself (Django asks it to leave only ``jsonb`` as text).
        if value is not None and not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)
