# PERFORM platform image: one image for the web server, the Celery worker and
# beat (docker-compose.yml picks the command). Configuration comes from the
# environment only (see config/settings/base.py and docs/RUNNING.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app

# Dependencies first so code changes do not re-run pip. All pins are wheels
# (psycopg2-binary, reportlab, ...), so no compiler is needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Run as an unprivileged user; it owns only var/ (collected static files, media).
RUN groupadd --system --gid 10001 perform \
    && useradd --system --uid 10001 --gid perform --home-dir /app \
       --no-create-home --shell /usr/sbin/nologin perform
COPY . .
# The static files and their manifest are part of the image: every container
# (web, worker, beat, migrate) starts with them (perform/checks.py).
RUN mkdir -p var/static var/media /srv/reports \
    && DEBUG=false SECRET_KEY=collectstatic-at-build-time-only-0123456789abcdefghij \
       python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R perform:perform var /srv/reports
USER perform

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-"]
