FROM python:3.11-slim-bookworm

# Fonts for names in Latin, Cyrillic, Greek, Chinese and Arabic on card images; libraqm for
# Arabic shaping; PostgreSQL client for the privacy drill's dumps.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-core fonts-noto-cjk libraqm0 postgresql-client \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 cityid
WORKDIR /app
COPY . /app
# Installed the way the README installs it.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir -e . \
 && mkdir -p /var/lib/cityid /var/lib/cityid-keys && chown cityid /var/lib/cityid /var/lib/cityid-keys \
 && chmod 700 /var/lib/cityid-keys
# A file keyring (when CITYID_KEYRING is not given) lives apart from the data volume, so a copy
# of the data carries no key.
ENV PATH="/opt/venv/bin:$PATH" CITYID_DATA_DIR=/var/lib/cityid \
    CITYID_KEYRING_PATH=/var/lib/cityid-keys/keyring.json
USER cityid
EXPOSE 8000
CMD ["cityid", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
