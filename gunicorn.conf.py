"""gunicorn settings, read from the working directory (``/app`` in the image; ``gunicorn -c`` elsewhere).

Command-line options (the Dockerfile's ``--workers``, ``--bind``, ``--access-logfile -``) override these.
Only logging lives here: the access log keeps gunicorn's combined format, but through a logger that
redacts tokens from every atom (the HTTP output's ``/api/codecarbon/http-output/<token>``,
``Authorization``, ``token=``), since the CodeCarbon client puts its ingest token in the path
(frontend/gunicorn_logging.py, docs/configuration.md). Whether an access log is written at all stays
with the command line (the image writes it to stdout; the benchmarks write none).
"""

logger_class = "frontend.gunicorn_logging.RedactingGunicornLogger"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
