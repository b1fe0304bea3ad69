#!/usr/bin/env bash
# Make sure the local services the test suite needs are up:
#   Redis      on 127.0.0.1:6379
#   PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth, database `test`)
#   Chromium   at /usr/bin/chromium (browser tests; used via executable_path)
#   Dovecot    installed, not started (IMAP tests run a private instance of their own)
#   HAProxy    installed, not started (the balancer tests and bench/scale.py run their own)
#
# Running services are left alone. Installed-but-stopped services are started;
# missing ones are installed from Debian packages. Safe to run without a tty or
# stdin (CI). Prints one status line per service; exits non-zero on failure.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

REDIS_HOST=127.0.0.1
REDIS_PORT=6379
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
CHROMIUM=/usr/bin/chromium
WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-60}

# Database the tests use: the path of SWITCHBOARD_TEST_POSTGRES (default `test`).
test_url=${SWITCHBOARD_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/test}
test_db=${test_url##*/}
test_db=${test_db%%\?*}
[[ -n $test_db ]] || test_db="test"

log() { echo "services.sh: $*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Run as root, or through sudo when available.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n -E "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

apt_updated=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        die "apt-get not found; install $* by hand"
    fi
    if [[ $apt_updated -eq 0 ]]; then
        log "apt-get update"
        as_root apt-get update -qq </dev/null >/dev/null
        apt_updated=1
    fi
    log "apt-get install $*"
    as_root apt-get install -y -qq \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "$@" </dev/null >/dev/null
}

tcp_open() { # host port
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1
}

# wait_for <description> <command...>: poll for up to WAIT_SECONDS.
wait_for() {
    local what=$1 deadline
    shift
    deadline=$((SECONDS + WAIT_SECONDS))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
    log "$what is up"
}

# ---------------------------------------------------------------- Redis

redis_up() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ $(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
    else
        tcp_open "$REDIS_HOST" "$REDIS_PORT"
    fi
}

start_redis() {
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
        </dev/null >/dev/null
}

ensure_redis() {
    if ! redis_up; then
        if ! command -v redis-server >/dev/null 2>&1; then
            apt_install redis-server
        fi
        # The package's init script may already have started it.
        if ! redis_up; then
            log "starting redis-server"
            start_redis || log "redis-server failed to start (see /var/log/redis/ci.log)"
        fi
        wait_for redis redis_up || die "Redis not reachable on $REDIS_HOST:$REDIS_PORT after ${WAIT_SECONDS}s"
    fi
    local version=""
    if command -v redis-cli >/dev/null 2>&1; then
        version=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info server 2>/dev/null |
            sed -n 's/^redis_version:\([^[:space:]]*\).*/ \1/p')
    fi
    echo "redis:      up${version} at $REDIS_HOST:$REDIS_PORT"
}

# ----------------------------------------------------------- PostgreSQL

pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
    else
        tcp_open "$PG_HOST" "$PG_PORT"
    fi
}

pg_query() { # sql -> prints result; fails on connection/auth error
    PGCONNECT_TIMEOUT=5 psql -X -q -w -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" \
        -d postgres -Atc "$1" </dev/null 2>/dev/null
}

pg_version() { # highest installed cluster version, e.g. 15
    [[ -d /etc/postgresql ]] || return 1
    local v
    v=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
    [[ -n $v ]] && echo "$v"
}

pg_installed() {
    command -v pg_ctlcluster >/dev/null 2>&1 && pg_version >/dev/null
}

start_postgres() {
    local v
    v=$(pg_version) || die "no PostgreSQL cluster under /etc/postgresql"
    if [[ ! -d /etc/postgresql/$v/main ]]; then
        log "creating PostgreSQL $v cluster main"
        as_root pg_createcluster "$v" main </dev/null >/dev/null
    fi
    log "starting PostgreSQL $v/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start </dev/null ||
        log "pg_ctlcluster start failed (see /var/log/postgresql/)"
}

# Make loopback TCP connections use trust auth (test-only machines).
ensure_pg_trust() {
    if pg_query 'select 1' >/dev/null; then
        return 0
    fi
    local v hba
    v=$(pg_version) || die "cannot log in to PostgreSQL as $PG_USER and no local cluster to fix"
    hba=/etc/postgresql/$v/main/pg_hba.conf
    [[ -f $hba ]] || die "cannot log in to PostgreSQL as $PG_USER and $hba not found"
    log "enabling trust auth for 127.0.0.1/::1 in $hba"
    # First matching line wins, so prepend our rules.
    as_root sed -i '1i host    all    all    127.0.0.1/32    trust\nhost    all    all    ::1/128    trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main reload </dev/null
    wait_for "PostgreSQL login" pg_query 'select 1' >/dev/null ||
        die "still cannot log in to PostgreSQL as $PG_USER on $PG_HOST:$PG_PORT"
}

ensure_postgres() {
    if ! pg_up; then
        if ! pg_installed; then
            apt_install postgresql
        fi
        if ! pg_up; then
            start_postgres
        fi
        wait_for postgresql pg_up || die "PostgreSQL not reachable on $PG_HOST:$PG_PORT after ${WAIT_SECONDS}s"
    fi
    local version="" note=""
    if command -v psql >/dev/null 2>&1; then
        ensure_pg_trust
        if [[ $(pg_query "select 1 from pg_database where datname = '${test_db//\'/\'\'}'") != 1 ]]; then
            log "creating database $test_db"
            pg_query "create database \"${test_db//\"/\"\"}\"" >/dev/null ||
                die "could not create database $test_db"
        fi
        version=" $(pg_query 'show server_version' | cut -d' ' -f1)"
        note=", database $test_db"
    else
        note=" (psql missing: login not checked)"
    fi
    echo "postgresql: up${version} at $PG_HOST:$PG_PORT${note}"
}

# -------------------------------------------------------------- Chromium

ensure_chromium() {
    if [[ ! -x $CHROMIUM ]]; then
        apt_install chromium
        [[ -x $CHROMIUM ]] || die "$CHROMIUM still missing after installing chromium"
    fi
    local version
    version=$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)
    echo "chromium:   ${CHROMIUM}${version:+ ($version)}"
}

# --------------------------------------------------------------- Dovecot

ensure_dovecot() {
    if ! command -v dovecot >/dev/null 2>&1 && [[ ! -x /usr/sbin/dovecot ]]; then
        apt_install dovecot-imapd
    fi
    local version
    version=$(dpkg-query -W -f='${Version}' dovecot-imapd 2>/dev/null || true)
    echo "dovecot:    installed${version:+ ($version)}"
}

# --------------------------------------------------------------- HAProxy

ensure_haproxy() {
    if ! command -v haproxy >/dev/null 2>&1 && [[ ! -x /usr/sbin/haproxy ]]; then
        apt_install haproxy
    fi
    local version
    version=$(dpkg-query -W -f='${Version}' haproxy 2>/dev/null || true)
    echo "haproxy:    installed${version:+ ($version)}"
}

ensure_redis
ensure_postgres
ensure_chromium
ensure_dovecot
ensure_haproxy
