#!/bin/sh
# tsgi-expressctl: the control script of one tsgi-express server, as
# mod_wsgi-express's apachectl. Written by
#   tsgi-express {{COMMAND_LINE}}
# (tsgi-express {{VERSION}}); run that again to change the server's options.
#
#   tsgi-expressctl start        start in the background; wait until it serves
#   tsgi-expressctl foreground   run in the foreground (systemd, Docker)
#   tsgi-expressctl stop         SIGTERM: stop gracefully; wait until it is gone
#   tsgi-expressctl restart      stop, then start (picks up a new setup)
#   tsgi-expressctl graceful     SIGHUP: reload the application, no request dropped
#   tsgi-expressctl configtest   check the options and the script without starting
#   tsgi-expressctl status       whether it runs; its status page as text
#   tsgi-expressctl reopen-logs  SIGUSR1: reopen the log files (after rotation)

NODE={{NODE}}
TSGI_EXPRESS={{CLI}}
SERVER_ROOT={{SERVER_ROOT}}
PID_FILE={{PID_FILE}}
WORKING_DIRECTORY={{WORKING_DIRECTORY}}
# /server-status?auto when the server was set up with --server-status; empty otherwise.
STATUS_URL={{STATUS_URL}}
# The output of a server started in the background.
OUTPUT_LOG="$SERVER_ROOT/output.log"
# Seconds to wait for the server to serve (--startup-timeout and a margin).
START_WAIT={{START_WAIT}}
# Seconds to wait for it to stop (--drain-delay, --shutdown-timeout and a margin).
STOP_WAIT={{STOP_WAIT}}

PROG=$(basename "$0")

# Runs COMMAND with the options given to setup-server, then any more given here;
# under $DETACH (setsid) when set, so that the server outlives this terminal's session.
server() {
    verb=$1
    shift
    exec ${DETACH:+"$DETACH"} "$NODE" "$TSGI_EXPRESS" "$verb" {{ARGS}} "$@"
}

# Prints the pid of the running server; fails if it is not running.
running_pid() {
    [ -r "$PID_FILE" ] || return 1
    pid=$(cat "$PID_FILE" 2>/dev/null)
    case "$pid" in ''|*[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

start() {
    if pid=$(running_pid); then
        echo "$PROG: tsgi-express (pid $pid) already running"
        return 0
    fi
    cd "$WORKING_DIRECTORY" || return 1
    : >>"$OUTPUT_LOG" || return 1
    offset=$(wc -c <"$OUTPUT_LOG")
    if command -v setsid >/dev/null 2>&1; then DETACH=setsid; else DETACH=; fi
    (server start-server) </dev/null >>"$OUTPUT_LOG" 2>&1 &
    child=$!
    waited=0
    while [ "$waited" -lt $((START_WAIT * 10)) ]; do
        if tail -c +$((offset + 1)) "$OUTPUT_LOG" | grep -q '^Ready: '; then
            tail -c +$((offset + 1)) "$OUTPUT_LOG" | grep '^Ready: '
            return 0
        fi
        if ! kill -0 "$child" 2>/dev/null; then
            echo "$PROG: tsgi-express did not start:" >&2
            tail -c +$((offset + 1)) "$OUTPUT_LOG" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "$PROG: tsgi-express (pid $child) not serving after ${START_WAIT}s; see $OUTPUT_LOG" >&2
    return 1
}

stop() {
    if ! pid=$(running_pid); then
        echo "$PROG: tsgi-express not running"
        return 0
    fi
    kill -TERM "$pid" || return 1
    waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge $((STOP_WAIT * 10)) ]; then
            echo "$PROG: tsgi-express (pid $pid) still running after ${STOP_WAIT}s" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "$PROG: tsgi-express (pid $pid) stopped"
}

case "$1" in
start)
    start
    ;;
foreground)
    shift
    cd "$WORKING_DIRECTORY" || exit 1
    server start-server "$@"
    ;;
stop)
    stop
    ;;
restart)
    stop && start
    ;;
graceful)
    if pid=$(running_pid); then
        kill -HUP "$pid" && echo "$PROG: tsgi-express (pid $pid) reloading"
    else
        start
    fi
    ;;
configtest)
    cd "$WORKING_DIRECTORY" || exit 1
    server configtest
    ;;
status)
    if ! pid=$(running_pid); then
        echo "$PROG: tsgi-express not running"
        exit 3
    fi
    if [ -z "$STATUS_URL" ]; then
        echo "$PROG: tsgi-express (pid $pid) running; set it up with --server-status for its status page"
        exit 0
    fi
    echo "tsgi-express (pid $pid) running: $STATUS_URL"
    exec "$NODE" -e '
        fetch(process.argv[1], { signal: AbortSignal.timeout(10000) }).then(async (res) => {
            const text = await res.text();
            if (!res.ok) throw new Error(`${res.status} ${res.statusText}: ${text.trim()}`);
            process.stdout.write(text);
        }).catch((err) => {
            process.stderr.write(`'"$PROG"': cannot read the status page: ${err.message}\n`);
            process.exitCode = 1;
        });' "$STATUS_URL"
    ;;
reopen-logs)
    if ! pid=$(running_pid); then
        echo "$PROG: tsgi-express not running"
        exit 3
    fi
    kill -USR1 "$pid" && echo "$PROG: tsgi-express (pid $pid) reopening its log files"
    ;;
*)
    echo "usage: $PROG start|foreground|stop|restart|graceful|configtest|status|reopen-logs" >&2
    exit 2
    ;;
esac
