# Switchboard hub image. Build: docker build -t switchboard .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY . .
RUN pip install . \
    && useradd --system --create-home --home-dir /home/switchboard switchboard \
    && chown switchboard:switchboard /app

USER switchboard

# 8080: HTTP (API, web chat, agent console, webhooks); 2525: inbound SMTP
EXPOSE 8080 2525

CMD ["switchboard", "serve", "--host", "0.0.0.0"]
