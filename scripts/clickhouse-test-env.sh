#!/usr/bin/env bash
# A real ClickHouse cluster for the tests: two servers on 127.0.0.1 joined as the 2-shard cluster `tj2`.
#
#   scripts/clickhouse-test-env.sh up     # install (once), start both, wait until both answer; last line: the URL
#   scripts/clickhouse-test-env.sh down   # stop both by PID
#
# Debian's clickhouse-server is 18.16 (2018): old, but a real server with real HTTP framing, errors and
# Distributed tables (../shared/SCALEOUT.md §3.3). Everything lives under .build-ch/ (git-ignored):
# .build-ch/ch1 and .build-ch/ch2 hold each server's config, data, logs and pid. The servers bind
# 127.0.0.1 only. Users: `default` without password (the shards talk to each other as it), and `tj` with
# the password in $TJ_CH_PASSWORD below, for the tests of credentials.
#
# Exit status: 0 up (or down); 3 the packages could not be installed (tests that need the cluster say so
# and skip); 4 a server did not answer in time (its log's last lines are printed); 2 usage.
#
# After `up`, source .build-ch/env for the tests: TRACEJOIN_CLICKHOUSE_URL (the cluster, as printed),
# TRACEJOIN_CLICKHOUSE_SHARDS (each shard's own HTTP address), TRACEJOIN_CLICKHOUSE_TEST_PASSWORD.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT="$PWD/.build-ch"
HTTP_PORTS=(18123 18124)
TCP_PORTS=(19000 19001)
DATABASE=tj
CLUSTER=tj2
TJ_CH_PASSWORD=tj-test-secret   # a test server's password on loopback, not a secret

say() { echo "clickhouse-test-env: $*" >&2; }

install_packages() {
  if command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1; then return 0; fi
  say "installing Debian's clickhouse-server and clickhouse-client"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client; } >&2; then
    say "could not install clickhouse-server/clickhouse-client with apt-get: the ClickHouse tests will be skipped"
    exit 3
  fi
  # The package's own service may have been started by the install; the tests use their own instances only.
  command -v clickhouse-server >/dev/null 2>&1 || { say "clickhouse-server not found after the install"; exit 3; }
}

write_config() { # $1 instance number (1 or 2)
  local i=$1 dir="$ROOT/ch$1" http=${HTTP_PORTS[$(($1 - 1))]} tcp=${TCP_PORTS[$(($1 - 1))]}
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
  cat > "$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/server.err.log</errorlog><size>100M</size><count>2</count></logger>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>50</max_concurrent_queries>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <mark_cache_size>134217728</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <remote_servers>
    <$CLUSTER>
      <shard><replica><host>127.0.0.1</host><port>${TCP_PORTS[0]}</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>${TCP_PORTS[1]}</port></replica></shard>
    </$CLUSTER>
  </remote_servers>
</yandex>
EOF
  cat > "$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <tj><password>$TJ_CH_PASSWORD</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></tj>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

running() { # $1 instance: the pid if its server runs
  local f="$ROOT/ch$1/pid"
  [ -f "$f" ] || return 1
  local pid; pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

answers() { # $1 http port
  [ "$(curl -s -m 2 "http://127.0.0.1:$1/?query=SELECT%201" 2>/dev/null)" = "1" ]
}

start() { # $1 instance
  local i=$1 dir="$ROOT/ch$1" port=${HTTP_PORTS[$(($1 - 1))]} pid
  if pid=$(running "$i"); then
    # Running and answering; or starting; or its server just died and `timeout` is exiting: 5 s to tell.
    for _ in $(seq 1 20); do
      if answers "$port"; then say "ch$i already running (pid $pid)"; return 0; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then return 0; fi   # still starting: wait_answer waits for it
    say "ch$i (pid $pid) had stopped: starting it again"
  fi
  write_config "$i"
  # `timeout` bounds a server a crashed test run forgot: 3 hours, more than any CI run.
  # setsid: its own process group, so that `down` stops it whatever shell started it.
  setsid timeout 10800 clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
}

wait_answer() { # $1 instance
  local i=$1 port=${HTTP_PORTS[$(($1 - 1))]}
  for _ in $(seq 1 120); do   # 60 s at most
    if answers "$port"; then return 0; fi
    if ! running "$i" >/dev/null; then break; fi
    sleep 0.5
  done
  say "ch$i (http port $port) did not answer; its log ends with:"
  tail -n 20 "$ROOT/ch$i/log/server.err.log" "$ROOT/ch$i/log/stdout.log" >&2 2>/dev/null || true
  exit 4
}

stop() { # $1 instance
  local i=$1 pid
  if pid=$(running "$i"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then say "ch$i (pid $pid) did not stop in 15 s: killing it"; kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
    say "ch$i stopped (pid $pid)"
  fi
  rm -f "$ROOT/ch$i/pid"
}

url() {
  echo "clickhouse+http://127.0.0.1:${HTTP_PORTS[0]},127.0.0.1:${HTTP_PORTS[1]}/$DATABASE?cluster=$CLUSTER"
}

case "${1:-}" in
  up)
    install_packages
    mkdir -p "$ROOT"
    start 1; start 2
    wait_answer 1; wait_answer 2
    version=$(curl -s -m 5 "http://127.0.0.1:${HTTP_PORTS[0]}/?query=SELECT%20version()")
    shards=$(curl -s -m 5 "http://127.0.0.1:${HTTP_PORTS[0]}/?query=SELECT%20count()%20FROM%20system.clusters%20WHERE%20cluster%3D'$CLUSTER'")
    say "ClickHouse $version on 127.0.0.1:${HTTP_PORTS[0]} and :${HTTP_PORTS[1]}, cluster $CLUSTER of $shards shards, user tj or default"
    cat > "$ROOT/env" <<EOF
export TRACEJOIN_CLICKHOUSE_URL='$(url)'
export TRACEJOIN_CLICKHOUSE_SHARDS='http://127.0.0.1:${HTTP_PORTS[0]},http://127.0.0.1:${HTTP_PORTS[1]}'
export TRACEJOIN_CLICKHOUSE_TEST_PASSWORD='$TJ_CH_PASSWORD'
EOF
    url
    ;;
  down)
    stop 1; stop 2
    rm -f "$ROOT/env"
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
