# Production image: gunicorn + whitenoise, non-root. Configure with environment variables
# (DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS; see docs/configuration.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STATIC_MANIFEST=1 \
    MEDIA_ROOT=/data/media \
    FILE_UPLOAD_TEMP_DIR=/data/media/.uploads

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings but no secrets or database: a throwaway key is used for this step only.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --no-input \
    && useradd --system --uid 10001 --home-dir /app greenguild \
    && mkdir -p /data/media/.uploads && chown -R greenguild /data

USER greenguild
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "frontend.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
