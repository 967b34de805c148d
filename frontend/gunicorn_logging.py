"""gunicorn's logger with tokens redacted (``logger_class`` in gunicorn.conf.py).

gunicorn logs outside Django's ``LOGGING`` (its own ``gunicorn.access`` and ``gunicorn.error`` loggers,
which do not propagate), so the redaction is applied here: to every access-log atom (request line, path,
query, referer, headers), whatever ``access_log_format`` uses them, and to error-log records such as
"Error handling request <uri>". Redaction: frontend/log_redaction.py.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from frontend.log_redaction import SecretsRedactingFilter, secrets_redact


class RedactingGunicornLogger(Logger):
    """gunicorn's default logger whose access atoms and error records carry no token."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            # Logger-level, so syslog and logconfig_dict handlers get redacted records too; setup() runs
            # again on reload (SIGHUP), hence the check.
            if not any(isinstance(existing, SecretsRedactingFilter) for existing in log.filters):
                log.addFilter(SecretsRedactingFilter())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: secrets_redact(value) if isinstance(value, str) else value for name, value in atoms.items()}
