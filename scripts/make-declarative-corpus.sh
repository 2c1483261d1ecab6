#!/usr/bin/env bash
# make-declarative-corpus.sh — real lines for the shipped declarative formats (parsers/*.json):
#   - syslog as logger(1) sends it, RFC 3164 and RFC 5424, received on a Unix socket made here;
#   - nginx's access log (combined, as Apache writes it too) and error log, from an nginx started here on
#     127.0.0.1:8089 with its own config: pages, a 404, and a proxy to 127.0.0.1:9 where nothing listens
#     (connect() refused: the error log names client, server and upstream);
#   - Apache httpd's error log, from an apache2 started the same way on 127.0.0.1:8090 (a missing file, the
#     same refused proxy).
# usage: scripts/make-declarative-corpus.sh [OUT_DIR]      (default: corpus/declarative)
# Only loopback; every step is bounded; nginx is stopped at the end.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/corpus/declarative}
for t in logger nginx apache2 python3; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
WORK=$(mktemp -d /tmp/tjd.XXXXXX); PIDS=()
cleanup() { set +e; [[ -f $WORK/nginx.pid ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; [[ -f $WORK/httpd.pid ]] && kill "$(cat "$WORK/httpd.pid")" 2>/dev/null; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$OUT"

# syslog: a Unix datagram socket that writes each message it receives as one line.
cat > "$WORK/sink.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(0.5)
with open(sys.argv[2], "w") as out:
    end = time.time() + float(sys.argv[3])
    while time.time() < end:
        try: out.write(s.recv(65536).decode(errors="replace").rstrip("\n") + "\n"); out.flush()
        except socket.timeout: pass
PY
for rfc in rfc3164 rfc5424; do
  python3 "$WORK/sink.py" "$WORK/$rfc.sock" "$WORK/syslog-$rfc.log" 4 & PIDS+=($!)
  sleep 0.3
  S="$WORK/$rfc.sock"
  logger --$rfc -u "$S" -t sshd -i -p auth.info "Accepted publickey for deploy from 10.20.0.7 port 51522 ssh2"
  logger --$rfc -u "$S" -t kernel -p kern.warning "nf_conntrack: table full, dropping packet"
  logger --$rfc -u "$S" -t myapp -i -p local0.err "connect to 10.20.0.9:5432 failed: Connection timed out"
  sleep 0.2
  logger --$rfc -u "$S" -t myapp -i -p local0.notice "retrying in 5 s"
  logger --$rfc -u "$S" -t cron -i -p cron.info "(root) CMD (run-parts /etc/cron.hourly)"
  wait "${PIDS[-1]}"
  cp "$WORK/syslog-$rfc.log" "$OUT/"
done

# nginx on loopback with its own files.
mkdir -p "$WORK/html"; echo hello > "$WORK/html/index.html"; chmod 755 "$WORK" "$WORK/html"; chmod 644 "$WORK/html/index.html"
cat > "$WORK/nginx.conf" <<NGX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
http {
  access_log $WORK/access.log combined;
  server {
    listen 127.0.0.1:8089;
    root $WORK/html;
    location /api/ { proxy_pass http://127.0.0.1:9/; }
  }
}
NGX
nginx -c "$WORK/nginx.conf" -p "$WORK"
sleep 0.5
python3 - <<'PY'
import urllib.request, urllib.error
for path in ["/", "/index.html", "/missing.png", "/api/orders?id=42", "/"]:
    req = urllib.request.Request("http://127.0.0.1:8089" + path, headers={"User-Agent": "tracejoin-corpus/1.0"})
    try: urllib.request.urlopen(req, timeout=3).read()
    except urllib.error.HTTPError as e: pass
PY
sleep 0.3
kill -QUIT "$(cat "$WORK/nginx.pid")"; sleep 0.5
cp "$WORK/access.log" "$OUT/nginx-access.log"
grep -v "signal process started\|using inherited sockets" "$WORK/error.log" > "$OUT/nginx-error.log" || true

# Apache httpd with a config of its own (modules from Debian's package).
M=/usr/lib/apache2/modules
cat > "$WORK/httpd.conf" <<APC
ServerRoot "$WORK"
ServerName localhost
Listen 127.0.0.1:8090
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule dir_module $M/mod_dir.so
LoadModule mime_module $M/mod_mime.so
TypesConfig /etc/mime.types
LoadModule proxy_module $M/mod_proxy.so
LoadModule proxy_http_module $M/mod_proxy_http.so
User www-data
Group www-data
PidFile $WORK/httpd.pid
DefaultRuntimeDir $WORK
ErrorLog $WORK/apache-error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $WORK/apache-access.log combined
DocumentRoot $WORK/html
<Directory $WORK/html>
  Require all granted
</Directory>
ProxyPass /api/ http://127.0.0.1:9/
APC
apache2 -f "$WORK/httpd.conf" -k start
sleep 1
python3 - <<'PY'
import urllib.request, urllib.error
for path in ["/index.html", "/missing.png", "/api/orders?id=42"]:
    req = urllib.request.Request("http://127.0.0.1:8090" + path, headers={"User-Agent": "tracejoin-corpus/1.0"})
    try: urllib.request.urlopen(req, timeout=3).read()
    except urllib.error.HTTPError: pass
PY
sleep 0.3
apache2 -f "$WORK/httpd.conf" -k stop; sleep 1
cp "$WORK/apache-error.log" "$OUT/apache-error.log"
cp "$WORK/apache-access.log" "$OUT/apache-access.log"
echo "$(logger --version); $(nginx -v 2>&1); $(apache2 -v | head -1)" > "$OUT/VERSIONS"
ls -la "$OUT"
