#!/usr/bin/env bash
# natsock and the Node peer side by side, in one run on this machine: the
# rows of issue 4's table, each measured by `natsock bench` against both
# servers, printed as a markdown table.
#
#   bash bench/compare.sh            # from the repository root; about 5 minutes
#
# It builds natsock, copies the Node peer (../shared/peer, or $PEER_DIR) to a
# temporary directory and installs its packages with npm ci, starts
# `natsock serve` (embedded NATS on 127.0.0.1:4222, socket.io on :3000) and the
# peer (socket.io on :3001, subscribed to the same NATS), runs every row
# against each, and stops every process it started, by its PID. Loopback only;
# ports 3000, 3001 and 4222 must be free. Each run's JSON is kept in
# $OUT (default: a temporary directory, printed at the end).
#
# Environment: SECONDS_PER_ROW (default 10) bounds the publishing of each
# row; IDLE_CLIENTS (default 10000) is the idle and 5 msg/s rows' client count;
# GROWTH=0 skips the second table (natsock alone: 1k, 10k and MAX_CLIENTS
# connections, and 100 B, 1 KiB and 16 KiB payloads).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
peer_src=${PEER_DIR:-$root/../shared/peer}
secs=${SECONDS_PER_ROW:-10}
idle_clients=${IDLE_CLIENTS:-10000}
work=$(mktemp -d)
out=${OUT:-$work/results}
mkdir -p "$out"

pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "compare: $*" >&2; }

for port in 3000 3001 4222; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		say "port $port is in use: stop what listens there first"
		exit 1
	fi
done

say "building natsock"
go build -o "$work/natsock" ./cmd/natsock
say "installing the Node peer from $peer_src"
mkdir -p "$work/peer"
cp "$peer_src"/* "$work/peer/"
(cd "$work/peer" && npm ci --no-audit --no-fund --silent >/dev/null)

# start_natsock starts `natsock serve` and waits until it is ready.
start_natsock() {
	say "starting natsock serve"
	"$work/natsock" serve --listen 127.0.0.1:3000 --embedded-nats-listen 127.0.0.1:4222 \
		--map tasks.assigned=newTaskAssigned --log-level warn >>"$work/natsock.log" 2>&1 &
	natsock_pid=$!
	pids+=("$natsock_pid")
	for _ in $(seq 100); do
		curl -fsS -o /dev/null http://127.0.0.1:3000/readyz 2>/dev/null && break
		kill -0 "$natsock_pid" 2>/dev/null || { cat "$work/natsock.log" >&2; exit 1; }
		sleep 0.1
	done
	curl -fsS -o /dev/null http://127.0.0.1:3000/readyz
}
start_natsock

# start_peer starts the Node peer on natsock's embedded NATS and waits until
# its subscription is registered.
start_peer() {
	say "starting the Node peer"
	: >"$work/peer.log"
	node "$work/peer/server.js" --port 3001 --nats nats://127.0.0.1:4222 --subject 'tasks.>' \
		--map tasks.assigned=newTaskAssigned >"$work/peer.log" 2>&1 &
	node_pid=$!
	pids+=("$node_pid")
	for _ in $(seq 100); do
		grep -q '^READY' "$work/peer.log" && break
		kill -0 "$node_pid" 2>/dev/null || { cat "$work/peer.log" >&2; exit 1; }
		sleep 0.1
	done
	grep -q '^READY' "$work/peer.log"
}
start_peer

# run NAME SERVER ARGS...: one `natsock bench` run, its JSON in $out/NAME-SERVER.json.
run() {
	local name=$1 server=$2
	shift 2
	local url=http://127.0.0.1:3000 pid=$natsock_pid
	if [ "$server" = node ]; then url=http://127.0.0.1:3001 pid=$node_pid; fi
	say "$name: $server"
	if ! "$work/natsock" bench --url "$url" --pid "$pid" --json --no-progress --timeout 90s "$@" \
		>"$out/$name-$server.json" 2>"$out/$name-$server.err"; then
		say "$name: $server: $(cat "$out/$name-$server.err")"
	fi
	sleep 2 # let the server let go of the clients
}

# field NAME SERVER KEY: a number from a run's JSON (empty if it failed).
field() {
	local f=$out/$1-$2.json
	[ -s "$f" ] || return 0
	grep -o "\"$3\":[-0-9.e+]*" "$f" | head -1 | cut -d: -f2
}

fanout=(--messages 10000000 --duration "${secs}s" --rate 0 --window 500)
rows=(
	"fanout|fan-out to 1000 clients, delivered frames/s|frames|-c 1000 ${fanout[*]}"
	"p99-100x100|p99 latency, 100 clients x 100 msg/s|p99|-c 100 --rate 100 --messages $((secs * 100))"
	"p99-100x1000|p99 latency, 100 clients x 1000 msg/s|p99|-c 100 --rate 1000 --messages $((secs * 1000))"
	"idle|memory per idle websocket connection, $idle_clients connections|mem|-c $idle_clients --messages 0 --hold 5s"
	"p99-idlex5|p99 latency, $idle_clients clients x 5 msg/s|p99|-c $idle_clients --rate 5 --messages $((secs * 5))"
	"polling|fan-out to 1000 long-polling clients, delivered frames/s|frames|--transport polling -c 1000 ${fanout[*]}"
)
for row in "${rows[@]}"; do
	IFS='|' read -r name _ _ args <<<"$row"
	if [ "$name" = idle ]; then
		# Memory per connection is RSS growth: measure it on fresh servers,
		# or what earlier rows grew (and a GC may give back) hides it.
		cleanup
		start_natsock
		start_peer
	fi
	# shellcheck disable=SC2086 # args is a word list
	run "$name" node $args
	# shellcheck disable=SC2086
	run "$name" natsock $args
done

# cell KIND NAME SERVER: one table cell.
cell() {
	local kind=$1 name=$2 server=$3 v note=""
	case $kind in
	frames) v=$(field "$name" "$server" frames_per_sec) ;;
	p99) v=$(field "$name" "$server" latency_p99_ns) ;;
	mem) v=$(field "$name" "$server" server_mem_per_conn) ;;
	connect) v=$(field "$name" "$server" connect_ns) ;;
	esac
	if [ -z "$v" ]; then
		echo "failed"
		return
	fi
	local lost dups disc
	lost=$(field "$name" "$server" lost)
	dups=$(field "$name" "$server" duplicates)
	disc=$(field "$name" "$server" disconnected)
	if [ "${lost:-0}" != 0 ] || [ "${dups:-0}" != 0 ] || [ "${disc:-0}" != 0 ]; then
		note=" (lost ${lost:-0}, dup ${dups:-0}, disconnected ${disc:-0})"
	fi
	case $kind in
	frames) awk -v v="$v" -v n="$note" 'BEGIN { if (v >= 1e6) printf "%.2fM%s", v/1e6, n; else printf "%.0fk%s", v/1e3, n }' ;;
	p99) awk -v v="$v" -v n="$note" 'BEGIN { printf "%.2f ms%s", v/1e6, n }' ;;
	mem) awk -v v="$v" 'BEGIN { printf "%.1f KiB", v/1024 }' ;;
	connect) awk -v v="$v" 'BEGIN { printf "%.2f s", v/1e9 }' ;;
	esac
}

# ratio KIND NAME: how many times better natsock is than the peer.
ratio() {
	local kind=$1 name=$2 key a b
	case $kind in
	frames) key=frames_per_sec ;;
	p99) key=latency_p99_ns ;;
	mem) key=server_mem_per_conn ;;
	connect) key=connect_ns ;;
	esac
	a=$(field "$name" node "$key")
	b=$(field "$name" natsock "$key")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "-"
		return
	fi
	awk -v a="$a" -v b="$b" -v k="$kind" 'BEGIN {
		if (k == "frames") r = (a > 0) ? b / a : 0; else r = (b > 0) ? a / b : 0
		printf "%.1fx", r }'
}

# bench_cpu NAME SERVER: the bench's own CPU per frame, in us.
bench_cpu() {
	local v
	v=$(field "$1" "$2" bench_cpu_per_frame_ns)
	[ -n "$v" ] && awk -v v="$v" 'BEGIN { printf "%.2f", v/1e3 }' || echo "-"
}

echo
echo "natsock $(git -C "$root" describe --always --dirty 2>/dev/null || echo "?") vs the Node peer, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| measure | Node peer | natsock | natsock vs peer |"
echo "|---|---|---|---|"
for row in "${rows[@]}"; do
	IFS='|' read -r name label kind _ <<<"$row"
	echo "| $label | $(cell "$kind" "$name" node) | $(cell "$kind" "$name" natsock) | $(ratio "$kind" "$name") |"
	if [ "$name" = idle ]; then
		echo "| time to connect $idle_clients clients | $(cell connect idle node) | $(cell connect idle natsock) | $(ratio connect idle) |"
	fi
done
# How natsock's cost grows, natsock alone: connections (at 5 msg/s), then
# payload sizes (fan-out to 1000 clients). The most connections are bounded
# by this machine's open-file limit (20000 per process, hard), less the
# bench's and the server's other descriptors.
max_clients=${MAX_CLIENTS:-19000}
growth=(
	"grow-1k|1,000 connections, 5 msg/s|-c 1000 --rate 5 --messages $((secs * 5))"
	"grow-10k|10,000 connections, 5 msg/s|-c 10000 --rate 5 --messages $((secs * 5))"
	"grow-max|$max_clients connections, 5 msg/s|-c $max_clients --rate 5 --messages $((secs * 5))"
	"size-100|100 B payload, 1000 clients, fan-out|-c 1000 --size 100 ${fanout[*]}"
	"size-1k|1 KiB payload, 1000 clients, fan-out|-c 1000 --size 1024 ${fanout[*]}"
	# A window of 500 messages of 16 KiB would pass a client's 4 MiB queue
	# bound: natsock would rightly disconnect it as slow.
	"size-16k|16 KiB payload, 1000 clients, fan-out|-c 1000 --size 16384 --messages 10000000 --duration ${secs}s --rate 0 --window 100"
)
if [ "${GROWTH:-1}" = 1 ]; then
	# The peer is done; each growth row gets a fresh natsock, so that its
	# memory per connection is not hidden by what earlier rows left mapped.
	cleanup
	for row in "${growth[@]}"; do
		IFS='|' read -r name _ args <<<"$row"
		cleanup
		start_natsock
		# shellcheck disable=SC2086
		run "$name" natsock $args
	done
	echo
	echo "| natsock | memory per connection | server CPU per delivered frame | delivered frames/s | p99 |"
	echo "|---|---|---|---|---|"
	for row in "${growth[@]}"; do
		IFS='|' read -r name label _ <<<"$row"
		cpu=$(field "$name" natsock server_cpu_per_frame_ns)
		echo "| $label | $(cell mem "$name" natsock) | $(awk -v v="${cpu:-0}" 'BEGIN { printf "%.2f us", v/1e3 }') | $(cell frames "$name" natsock) | $(cell p99 "$name" natsock) |"
	done
fi

echo
echo "bench CPU per delivered frame (us), fan-out rows: websocket: peer $(bench_cpu fanout node), natsock $(bench_cpu fanout natsock);" \
	"polling: peer $(bench_cpu polling node), natsock $(bench_cpu polling natsock)"
echo "each run's JSON: $out"
