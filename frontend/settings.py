"""GreenGuild settings: one module, every deployment value read from the environment.

With nothing set, GreenGuild runs on an embedded default: SQLite in ``var/`` and Celery tasks
executed in-process. Production sets ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL`` (Redis),
``SECRET_KEY`` and ``ALLOWED_HOSTS``. docs/configuration.md lists every variable.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from emissions.queues import CeleryQueue
from frontend.env import env_bool, env_float, env_fraction, env_int, env_list, env_str
from frontend.static_headers import vendor_cache_headers

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Django core -------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off (set DEBUG=1 for local use).")
    # Only reachable with DEBUG on: a fixed development key, never used in production.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "emissions",
    "ingest",
    "reporting",
    "frontend",
]

MIDDLEWARE = [
    "frontend.middleware.ReadRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "frontend.security.SecurityHeadersMiddleware",
    "frontend.limits.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "frontend.middleware.MembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "frontend.urls"
WSGI_APPLICATION = "frontend.wsgi.application"
ASGI_APPLICATION = "frontend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.membership",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
# Embedded default: a SQLite file under var/ (created by `make run`); production: DATABASE_URL.
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    try:
        _database = dj_database_url.parse(
            _database_url,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            # A health check costs a round trip per request; it saves one failed request after a database restart.
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
else:
    _database = {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "var" / "greenguild.sqlite3"}
if _database["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # The embedded default writes from request threads and from the figures-refresh timer thread:
    # IMMEDIATE transactions queue for the write lock (up to ``timeout`` s) instead of failing with
    # "database is locked" halfway through, and WAL lets pages read while a refresh writes: requests with a
    # safe method begin DEFERRED (frontend/sqlite/base.py), so they do not queue behind a writer.
    _database["ENGINE"] = "frontend.sqlite"
    _database["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The test database is a file too: an in-memory one is a single connection that the live test server
    # shares between its threads, so concurrent trackers would trip over each other's transactions.
    _database["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-greenguild.sqlite3")}
# Every request runs in one transaction: a failing view leaves nothing half-written.
_database["ATOMIC_REQUESTS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Internationalisation and time ------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names need `collectstatic` first: the production image sets STATIC_MANIFEST=1.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# plotly.js and htmx are served gzipped in every mode (the .gz copies beside them in static/frontend/vendor/)
# and cached by the browser; see frontend/static_headers.py.
WHITENOISE_ADD_HEADERS_FUNCTION = vendor_cache_headers
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# --- Authentication and security ---------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Load balancers probe plain HTTP; the health endpoints must not be redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Upload limits: a request body over this size is refused before it reaches a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1024)
# Multipart uploads may be larger than DATA_UPLOAD_MAX_MEMORY_SIZE: Django streams them to disk, into
# FILE_UPLOAD_TEMP_DIR (the system's temporary directory unless set). On MEDIA_ROOT's file system, storing an
# upload is a rename instead of a second copy (ingest/upload_hash.py); ingest/apps.py creates the directory.
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR", "") or None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Throttling: invalid API tokens and sign-in lockouts (docs/configuration.md) ---------------
# Reverse proxies whose X-Forwarded-For is believed, as CIDRs; none by default, so the client is the
# peer's address (emissions/throttling.py client_address, used by both throttles below).
GREENGUILD_TRUSTED_PROXIES = env_list("GREENGUILD_TRUSTED_PROXIES", [])
for _cidr in GREENGUILD_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"GREENGUILD_TRUSTED_PROXIES: {_cidr!r} is not an address or CIDR.") from exc
# Invalid API tokens allowed per minute from one address, and with one token prefix, before 429.
# Only invalid tokens are counted and refused; the counts live in the cache (CACHES below).
GREENGUILD_TOKEN_FAILURES_PER_MINUTE = env_int("GREENGUILD_TOKEN_FAILURES_PER_MINUTE", 20, minimum=1)
# Sign-in (/login/ and /admin/login/) with django-axes: after AXES_FAILURE_LIMIT failures in the cool-off
# window an account is locked whatever the address, and an address whatever the account, for the cool-off
# time after the last failure; attempts are rows in the database (Django admin › Axes), a success resets them.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes requires
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("GREENGUILD_SIGNIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("GREENGUILD_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "emissions.throttling.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept; a row per successful sign-in is not needed
AXES_LOCKOUT_CALLABLE = "frontend.signin.lockout_response"  # the sign-in page says why, and for how long

# --- Celery ------------------------------------------------------------------------------------
# No broker configured means the embedded default: tasks run in-process at enqueue time.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True  # job state lives on database rows (ImportBatch), not in Redis
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task a killed worker held is handed out again after this long (Redis keeps unacknowledged tasks). Every
# task here is idempotent, so a redelivery while the first run still goes is waited out, not doubled.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 3900, minimum=1)}
CELERY_TASK_DEFAULT_QUEUE = CeleryQueue.DEFAULT.value
# Each package's tasks go to its own queue, so imports cannot starve report generation. Routes match task
# names, which are explicit and keep the module paths the tasks first had (emissions/task_policy.py):
# reporting's tasks are named ``reporting.tasks.*``, ``reporting.rollup_tasks.*`` and ``reporting.tasks_guild.*``.
CELERY_TASK_ROUTES = {
    "ingest.tasks.*": {"queue": CeleryQueue.INGEST.value},
    "reporting.tasks.*": {"queue": CeleryQueue.REPORTING.value},
    "reporting.rollup_tasks.*": {"queue": CeleryQueue.REPORTING.value},
    "reporting.tasks_guild.*": {"queue": CeleryQueue.REPORTING.value},
}
CELERY_TIMEZONE = "UTC"
# No CELERY_IMPORTS: autodiscovery imports each app's ``tasks`` package, which imports all its task modules.

# --- Cache ----------------------------------------------------------------------------------------
# Live progress of import batches is kept here (their rows are inside the batch's transaction until it ends).
_cache_url = env_str("CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Largest file an import accepts, in bytes (413 above it).
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 2 * 1024**3, minimum=1024)
# Billing exports larger than this are imported in pieces of about this size by several workers in parallel
# (Parquet: in runs of row groups of about IMPORT_PIECE_ROWS rows). See ingest/chunked.py.
IMPORT_PIECE_BYTES = env_int("IMPORT_PIECE_BYTES", 32 * 1024**2, minimum=1024)
IMPORT_PIECE_ROWS = env_int("IMPORT_PIECE_ROWS", 100_000, minimum=1)

# --- REST framework ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Session first: an anonymous request is then told 403, not asked for a token with 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "emissions.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's three parsers, the JSON one refusing nesting deeper than 64 levels with a 400 (docs/api.md).
    "DEFAULT_PARSER_CLASSES": [
        "emissions.api_parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GreenGuild API",
    "DESCRIPTION": "Emissions of an organization's AI work: runs, sites, factors and the GHG ledger.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Emissions ------------------------------------------------------------------------------------
# Billing-based cloud estimates (Cloud Carbon Footprint's assumptions by default; docs/cloud-estimation.md).
# Utilizations are fractions in [0, 1] (0.5 = 50 %): energy = min W + utilization × (max W − min W).
GREENGUILD_CLOUD_CPU_UTILIZATION = env_fraction("GREENGUILD_CLOUD_CPU_UTILIZATION", 0.5)
GREENGUILD_CLOUD_GPU_UTILIZATION = env_fraction("GREENGUILD_CLOUD_GPU_UTILIZATION", 0.5)
GREENGUILD_CLOUD_LIFESPAN_YEARS = env_float("GREENGUILD_CLOUD_LIFESPAN_YEARS", 4.0, minimum=0.5)
# Billing-line tags whose value names a team or a project slug, tried in order. Tag names are compared in lower
# case (emissions/services/cloud.py Attributor; docs/import-formats.md, "Attribution").
GREENGUILD_TEAM_TAG_KEYS = [
    key.lower() for key in env_list("GREENGUILD_TEAM_TAG_KEYS", ["team", "owner", "team_name", "squad"])
]
GREENGUILD_PROJECT_TAG_KEYS = [
    key.lower() for key in env_list("GREENGUILD_PROJECT_TAG_KEYS", ["project", "project_name", "ml_project", "model"])
]
# Seconds new data waits before its periods are recomputed (debounce; emissions/services/refresh.py).
GREENGUILD_FIGURES_REFRESH_DELAY_S = env_float("GREENGUILD_FIGURES_REFRESH_DELAY_S", 5.0, minimum=0.0)
# Without a worker (in-process tasks), reports are generated in a background thread: the request answers at
# once and the Reports page shows the progress (reporting/services.py).
GREENGUILD_REPORTS_IN_BACKGROUND = env_bool("GREENGUILD_REPORTS_IN_BACKGROUND", True)

# --- Guild: carbon-budget alerts (docs/guild.md) --------------------------------------------------
# Email goes through Django's mail backend (EMAIL_BACKEND, EMAIL_HOST, ...); the webhook receives a
# JSON POST per alert. Empty URL = no webhook.
# With DEBUG (make run) alert emails are printed on the console instead of sent.
_email_default = "console" if DEBUG else "smtp"
EMAIL_BACKEND = env_str("EMAIL_BACKEND", f"django.core.mail.backends.{_email_default}.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
GREENGUILD_ALERT_EMAIL_FROM = env_str("GREENGUILD_ALERT_EMAIL_FROM", "greenguild@localhost")
GREENGUILD_ALERT_WEBHOOK_URL = env_str("GREENGUILD_ALERT_WEBHOOK_URL", "")

# --- Logging -----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tokens travel in URLs (the HTTP output's path) and headers: redacted from every line we write, from
    # runserver's access log (Django's default django.server handler, redefined with the filter) and from
    # django.request's "Forbidden: <path>" before any handler or mail sees it (frontend/log_redaction.py).
    "filters": {"redact_secrets": {"()": "frontend.log_redaction.SecretsRedactingFilter"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
    },
    "loggers": {
        "django.request": {"filters": ["redact_secrets"]},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
