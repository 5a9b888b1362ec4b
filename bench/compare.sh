#!/usr/bin/env bash
# natsock and the Node peer side by side, in one run on this machine: the
# rows of issue 4's table, issue 9's targeted delivery and issue 12's inbound
# emits and acks, each measured by `natsock bench` against both servers,
# printed as markdown tables and drawn as two SVG charts.
#
#   bash bench/compare.sh                # from the repository root; about 11 minutes
#   ROWS=targeted bash bench/compare.sh  # the targeted rows alone
#   ROWS=inbound bash bench/compare.sh   # the inbound and ack rows alone (about 1 minute)
#
# It builds natsock, copies the Node peer (../shared/peer, or $PEER_DIR) to a
# temporary directory and installs its packages with npm ci, starts
# `natsock serve` (embedded NATS on 127.0.0.1:4222, socket.io on :3000) and the
# peer (socket.io on :3001, subscribed to the same NATS), runs every row
# against each, and stops every process it started, by its PID. Loopback only;
# ports 3000, 3001 and 4222 must be free (NATSOCK_PORT, PEER_PORT and NATS_PORT
# choose others, so that two runs can share a machine). Each run's JSON is kept in
# $OUT (default: a temporary directory, printed at the end).
#
# Environment: SECONDS_PER_ROW (default 10) bounds the publishing of each
# row; IDLE_CLIENTS (default 10000) is the idle and 5 msg/s rows' client count;
# GROWTH=0 skips the second table (natsock alone: 1k, 10k and MAX_CLIENTS
# connections, and 100 B, 1 KiB and 16 KiB payloads).
#
# ROWS selects the tables: all (default), broadcast (the first two),
# targeted (delivery to one user at a time, about 1.5 minutes), or inbound
# (client to NATS, about 1 minute). The targeted rows give each of TARGETED_USERS (default 10000)
# clients a user of its own and an HS256 token, and publish each message to
# one user chosen at random: as fast as the clients keep up within
# TARGETED_WINDOW (default 2000) messages in flight, then at TARGETED_RATE
# (default 5000) msg/s. The peer runs with --jwt-secret and --user-map,
# natsock with --auth-jwt-secret, --auth-required, --room-from-claim
# 'user:{sub}' and --map 'notify.user.*=notification@user:{3}'. Each server
# is measured alone on a separate nats-server (built from the module
# natsock requires), so that neither pays for the broker's routing nor for
# the other's copy of every message.
#
# The inbound rows have 1000 websocket clients emit taskAssigned, which both
# servers publish to tasks.inbound (--inbound taskAssigned=tasks.inbound, natsock
# with its default bounds): as fast as 16 events in flight per client allow,
# counted on NATS by the bench; then with acks, 4 outstanding per client, each a
# NATS request the bench answers. Each server is measured alone on the separate
# nats-server, so that neither pays for the broker.
#
# Charts: the goal rows measured, natsock beside the peer, and natsock's growth
# rows are written to $out/chart.json and drawn by `natsock bench chart` into
# $CHARTS: bench-goals.svg and bench-growth.svg (default: docs/ in the
# repository when every row runs, else $out).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
peer_src=${PEER_DIR:-$root/../shared/peer}
secs=${SECONDS_PER_ROW:-10}
natsock_port=${NATSOCK_PORT:-3000}
peer_port=${PEER_PORT:-3001}
nats_port=${NATS_PORT:-4222}
idle_clients=${IDLE_CLIENTS:-10000}
rows_sel=${ROWS:-all}
case $rows_sel in
all | broadcast | targeted | inbound) ;;
*)
	echo "compare: ROWS=$rows_sel: want all, broadcast, targeted or inbound" >&2
	exit 2
	;;
esac
users=${TARGETED_USERS:-10000}
twindow=${TARGETED_WINDOW:-2000}
trate=${TARGETED_RATE:-5000}
# The HS256 secret the bench signs its tokens with and both servers check
# (natsock asks for at least 32 bytes).
secret=natsock-compare-$$-$RANDOM-$RANDOM-with-32-bytes-or-more
work=$(mktemp -d)
out=${OUT:-$work/results}
mkdir -p "$out"

# A run of every row draws the README's charts; a run of some, beside its JSON.
charts=${CHARTS:-$root/docs}
[ "$rows_sel" = all ] || charts=${CHARTS:-$out}
# want TABLE: whether ROWS selects TABLE.
want() { [ "$rows_sel" = all ] || [ "$rows_sel" = "$1" ]; }

pids=()
# stop PID...: SIGTERM, then SIGKILL after 10 s, and wait.
stop() {
	local pid
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "$@"; do
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}
cleanup() {
	stop "${pids[@]}"
	pids=()
}
# stop_one PID stops one started process and forgets it.
stop_one() {
	local pid keep=()
	stop "$1"
	for pid in "${pids[@]}"; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	pids=("${keep[@]}")
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "compare: $*" >&2; }

for port in "$natsock_port" "$peer_port" "$nats_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		say "port $port is in use: stop what listens there first"
		exit 1
	fi
done

say "building natsock"
go build -o "$work/natsock" ./cmd/natsock
if [ "$rows_sel" != broadcast ]; then
	say "building nats-server (the version natsock requires)"
	go build -o "$work/nats-server" github.com/nats-io/nats-server/v2
fi
say "installing the Node peer from $peer_src"
mkdir -p "$work/peer"
cp "$peer_src"/* "$work/peer/"
(cd "$work/peer" && npm ci --no-audit --no-fund --silent >/dev/null)

# start_natsock [targeted] starts `natsock serve` and waits until it is
# ready: with its embedded NATS and the broadcast map, or, targeted, on the
# separate nats-server with token checks and the user room map.
start_natsock() {
	say "starting natsock serve ${1:-}"
	if [ "${1:-}" = targeted ]; then
		"$work/natsock" serve --listen 127.0.0.1:$natsock_port --nats-url nats://127.0.0.1:$nats_port \
			--auth-jwt-secret "$secret" --auth-required --room-from-claim 'user:{sub}' \
			--map 'notify.user.*=notification@user:{3}' --log-level warn >>"$work/natsock.log" 2>&1 &
	elif [ "${1:-}" = inbound ]; then
		"$work/natsock" serve --listen 127.0.0.1:$natsock_port --nats-url nats://127.0.0.1:$nats_port \
			--map tasks.assigned=newTaskAssigned --inbound taskAssigned=tasks.inbound \
			--log-level warn >>"$work/natsock.log" 2>&1 &
	else
		"$work/natsock" serve --listen 127.0.0.1:$natsock_port --embedded-nats-listen 127.0.0.1:$nats_port \
			--map tasks.assigned=newTaskAssigned --log-level warn >>"$work/natsock.log" 2>&1 &
	fi
	natsock_pid=$!
	pids+=("$natsock_pid")
	for _ in $(seq 100); do
		curl -fsS -o /dev/null http://127.0.0.1:$natsock_port/readyz 2>/dev/null && break
		kill -0 "$natsock_pid" 2>/dev/null || { cat "$work/natsock.log" >&2; exit 1; }
		sleep 0.1
	done
	curl -fsS -o /dev/null http://127.0.0.1:$natsock_port/readyz
}

# start_peer [targeted|inbound] starts the Node peer on the NATS at NATS_PORT and waits
# until its subscription is registered; targeted, it checks tokens and
# sends notify.user.<user> to the room user:<user>.
start_peer() {
	say "starting the Node peer ${1:-}"
	: >"$work/peer.log"
	local extra=()
	if [ "${1:-}" = targeted ]; then
		extra=(--jwt-secret "$secret" --user-map 'notify.user.*=notification')
	elif [ "${1:-}" = inbound ]; then
		extra=(--inbound taskAssigned=tasks.inbound)
	fi
	node "$work/peer/server.js" --port "$peer_port" --nats nats://127.0.0.1:$nats_port --subject 'tasks.>' \
		--map tasks.assigned=newTaskAssigned "${extra[@]}" >"$work/peer.log" 2>&1 &
	node_pid=$!
	pids+=("$node_pid")
	for _ in $(seq 100); do
		grep -q '^READY' "$work/peer.log" && break
		kill -0 "$node_pid" 2>/dev/null || { cat "$work/peer.log" >&2; exit 1; }
		sleep 0.1
	done
	grep -q '^READY' "$work/peer.log"
}

# start_nats starts the separate nats-server on NATS_PORT and waits for it.
start_nats() {
	say "starting nats-server"
	"$work/nats-server" -a 127.0.0.1 -p "$nats_port" >>"$work/nats.log" 2>&1 &
	nats_pid=$!
	pids+=("$nats_pid")
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$nats_port) 2>/dev/null && return 0
		kill -0 "$nats_pid" 2>/dev/null || { cat "$work/nats.log" >&2; exit 1; }
		sleep 0.1
	done
	say "nats-server did not listen on :$nats_port"
	exit 1
}

# run NAME SERVER ARGS...: one `natsock bench` run, its JSON in $out/NAME-SERVER.json.
run() {
	local name=$1 server=$2
	shift 2
	local url pid
	if [ "$server" = node ]; then
		url=http://127.0.0.1:$peer_port pid=$node_pid
	else
		url=http://127.0.0.1:$natsock_port pid=$natsock_pid
	fi
	say "$name: $server"
	if ! "$work/natsock" bench --url "$url" --nats-url "nats://127.0.0.1:$nats_port" --pid "$pid" --json --no-progress --timeout 90s "$@" \
		>"$out/$name-$server.json" 2>"$out/$name-$server.err"; then
		say "$name: $server: $(cat "$out/$name-$server.err")"
	fi
	sleep 2 # let the server let go of the clients
}

# field NAME SERVER KEY: a number from a run's JSON (empty if it failed).
field() {
	local f=$out/$1-$2.json
	[ -s "$f" ] || return 0
	grep -o "\"$3\":[-0-9.e+]*" "$f" | head -1 | cut -d: -f2 || true # a field left out is empty
}

fanout=(--messages 10000000 --duration "${secs}s" --rate 0 --window 500)
rows=(
	"fanout|fan-out to 1000 clients, delivered frames/s|frames|-c 1000 ${fanout[*]}"
	"p99-100x100|p99 latency, 100 clients x 100 msg/s|p99|-c 100 --rate 100 --messages $((secs * 100))"
	"p99-100x1000|p99 latency, 100 clients x 1000 msg/s|p99|-c 100 --rate 1000 --messages $((secs * 1000))"
	"idle|memory per idle websocket connection, $idle_clients connections, 25 s after connecting|mem|-c $idle_clients --messages 0 --hold 25s"
	"p99-idlex5|p99 latency, $idle_clients clients x 5 msg/s|p99|-c $idle_clients --rate 5 --messages $((secs * 5))"
	"polling|fan-out to 1000 long-polling clients, delivered frames/s|frames|--transport polling -c 1000 ${fanout[*]}"
)
if want broadcast; then
	start_natsock
	start_peer
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
fi

# Targeted delivery: each row's runs against the peer, then against natsock,
# each server alone on the separate nats-server.
targeted=(--scenario targeted --jwt-secret "$secret" -c "$users")
trows=(
	"targeted-max|${targeted[*]} --messages 10000000 --duration ${secs}s --rate 0 --window $twindow"
	"targeted-rate|${targeted[*]} --rate $trate --messages $((secs * trate))"
)
if want targeted; then
	cleanup
	start_nats
	start_peer targeted
	for row in "${trows[@]}"; do
		IFS='|' read -r name args <<<"$row"
		# shellcheck disable=SC2086
		run "$name" node $args
	done
	stop_one "$node_pid"
	start_natsock targeted
	for row in "${trows[@]}"; do
		IFS='|' read -r name args <<<"$row"
		# shellcheck disable=SC2086
		run "$name" natsock $args
	done
	cleanup
fi

# Client to NATS: each row against the peer, then natsock, each alone on
# the separate nats-server.
inbound=(-c 1000 --messages 10000000 --duration "${secs}s")
irows=(
	"inbound|--scenario inbound ${inbound[*]}"
	"ack|--scenario ack ${inbound[*]}"
)
if want inbound; then
	cleanup
	start_nats
	start_peer inbound
	for row in "${irows[@]}"; do
		IFS='|' read -r name args <<<"$row"
		# shellcheck disable=SC2086
		run "$name" node $args
	done
	stop_one "$node_pid"
	start_natsock inbound
	for row in "${irows[@]}"; do
		IFS='|' read -r name args <<<"$row"
		# shellcheck disable=SC2086
		run "$name" natsock $args
	done
	cleanup
fi

# cell KIND NAME SERVER: one table cell.
cell() {
	local kind=$1 name=$2 server=$3 v note=""
	case $kind in
	frames) v=$(field "$name" "$server" frames_per_sec) ;;
	p99) v=$(field "$name" "$server" latency_p99_ns) ;;
	mem) v=$(field "$name" "$server" server_mem_per_conn) ;;
	connect) v=$(field "$name" "$server" connect_ns) ;;
	cpumsg) v=$(field "$name" "$server" server_cpu_per_message_ns) ;;
	cpuev) v=$(field "$name" "$server" server_cpu_per_event_ns) ;;
	errors) v=$(field "$name" "$server" misdelivered) ;;
	ackerr) # left out of the JSON when there were none
		if [ -s "$out/$name-$server.json" ]; then
			v=$(field "$name" "$server" ack_errors)
			v=${v:-0}
		fi
		;;
	esac
	if [ -z "$v" ]; then
		echo "failed"
		return
	fi
	local lost dups disc mis
	lost=$(field "$name" "$server" lost)
	dups=$(field "$name" "$server" duplicates)
	disc=$(field "$name" "$server" disconnected)
	mis=$(field "$name" "$server" misdelivered)
	if [ "${lost:-0}" != 0 ] || [ "${dups:-0}" != 0 ] || [ "${disc:-0}" != 0 ] || [ "${mis:-0}" != 0 ]; then
		note=" (lost ${lost:-0}, misdelivered ${mis:-0}, dup ${dups:-0}, disconnected ${disc:-0})"
	fi
	case $kind in
	frames) awk -v v="$v" -v n="$note" 'BEGIN { if (v >= 1e6) printf "%.2fM%s", v/1e6, n; else printf "%.0fk%s", v/1e3, n }' ;;
	p99) awk -v v="$v" -v n="$note" 'BEGIN { printf "%.2f ms%s", v/1e6, n }' ;;
	mem) awk -v v="$v" 'BEGIN { printf "%.1f KiB", v/1024 }' ;;
	connect) awk -v v="$v" 'BEGIN { printf "%.2f s", v/1e9 }' ;;
	cpumsg | cpuev) awk -v v="$v" 'BEGIN { printf "%.1f us", v/1e3 }' ;;
	errors) echo "${lost:-0} / ${mis:-0}" ;;
	ackerr) echo "$v$note" ;;
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
	cpumsg) key=server_cpu_per_message_ns ;;
	cpuev) key=server_cpu_per_event_ns ;;
	*)
		echo "-"
		return
		;;
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
if want broadcast; then
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
fi
if want targeted; then
	echo
	echo "| targeted delivery, $users users, each message to one | Node peer | natsock | natsock vs peer |"
	echo "|---|---|---|---|"
	echo "| deliveries/s, as fast as the clients keep up (window $twindow) | $(cell frames targeted-max node) | $(cell frames targeted-max natsock) | $(ratio frames targeted-max) |"
	echo "| server CPU per targeted message, same runs | $(cell cpumsg targeted-max node) | $(cell cpumsg targeted-max natsock) | $(ratio cpumsg targeted-max) |"
	echo "| p99 latency at $trate targeted msg/s | $(cell p99 targeted-rate node) | $(cell p99 targeted-rate natsock) | $(ratio p99 targeted-rate) |"
	echo "| lost / misdelivered, both runs | $(cell errors targeted-max node), $(cell errors targeted-rate node) | $(cell errors targeted-max natsock), $(cell errors targeted-rate natsock) | - |"
fi
if want inbound; then
	echo
	echo "| client to NATS, 1000 websocket clients emit taskAssigned | Node peer | natsock | natsock vs peer |"
	echo "|---|---|---|---|"
	echo "| emits reaching NATS/s, 16 in flight per client | $(cell frames inbound node) | $(cell frames inbound natsock) | $(ratio frames inbound) |"
	echo "| server CPU per inbound event | $(cell cpuev inbound node) | $(cell cpuev inbound natsock) | $(ratio cpuev inbound) |"
	echo "| emit-to-NATS p99 | $(cell p99 inbound node) | $(cell p99 inbound natsock) | $(ratio p99 inbound) |"
	echo "| acked round trips/s, 4 outstanding per client | $(cell frames ack node) | $(cell frames ack natsock) | $(ratio frames ack) |"
	echo "| ack errors | $(cell ackerr ack node) | $(cell ackerr ack natsock) | - |"
	echo "| server CPU per ack | $(cell cpuev ack node) | $(cell cpuev ack natsock) | $(ratio cpuev ack) |"
	echo "| emit-to-ack p99 | $(cell p99 ack node) | $(cell p99 ack natsock) | $(ratio p99 ack) |"
fi
# How natsock's cost grows, natsock alone: connections (at 5 msg/s), then
# payload sizes (fan-out to 1000 clients). The most connections are bounded
# by this machine's open-file limit (20000 per process, hard), less the
# bench's and the server's other descriptors.
max_clients=${MAX_CLIENTS:-19000}
growth=(
	"grow-1k|1,000 connections, 5 msg/s|-c 1000 --rate 5 --messages $((secs * 5))"
	"grow-10k|10,000 connections, 5 msg/s|-c 10000 --rate 5 --messages $((secs * 5))"
	"grow-max|$max_clients connections, 5 msg/s|-c $max_clients --rate 5 --messages $((secs * 5))"
	"idle-max|$max_clients idle connections, 25 s after connecting|-c $max_clients --messages 0 --hold 25s"
	"size-100|100 B payload, 1000 clients, fan-out|-c 1000 --size 100 ${fanout[*]}"
	"size-1k|1 KiB payload, 1000 clients, fan-out|-c 1000 --size 1024 ${fanout[*]}"
	# A window of 500 messages of 16 KiB would pass a client's 4 MiB queue
	# bound: natsock would rightly disconnect it as slow.
	"size-16k|16 KiB payload, 1000 clients, fan-out|-c 1000 --size 16384 --messages 10000000 --duration ${secs}s --rate 0 --window 100"
)
if [ "${GROWTH:-1}" = 1 ] && want broadcast; then
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
if want broadcast; then
	echo "bench CPU per delivered frame (us), fan-out rows: websocket: peer $(bench_cpu fanout node), natsock $(bench_cpu fanout natsock);" \
		"polling: peer $(bench_cpu polling node), natsock $(bench_cpu polling natsock)"
fi
if want inbound; then
	echo "bench CPU per event (us), inbound: peer $(bench_cpu inbound node), natsock $(bench_cpu inbound natsock);" \
		"acks: peer $(bench_cpu ack node), natsock $(bench_cpu ack natsock)"
fi
if want targeted; then
	echo "bench CPU per delivered frame (us), targeted as fast as possible: peer $(bench_cpu targeted-max node), natsock $(bench_cpu targeted-max natsock)"
fi

# The charts' data: each goal row measured, then natsock's growth rows.
# jv NAME SERVER KEY DIVISOR: a JSON number from a run, or null.
jv() {
	local v
	v=$(field "$1" "$2" "$3")
	if [ -z "$v" ]; then
		echo null
	else
		awk -v v="$v" -v d="$4" 'BEGIN { printf "%.6g", v/d }'
	fi
}
# commas N: N with thousands separators, as the charts' labels write it.
commas() {
	awk -v n="$1" 'BEGIN { s = sprintf("%d", n); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'
}
items=()
# goal LABEL UNIT LOWER(true|false) NAME KEY DIVISOR GOAL: one goal row.
goal() {
	items+=("{\"label\": \"$1\", \"unit\": \"$2\", \"lower_is_better\": $3, \"peer\": $(jv "$4" node "$5" "$6"), \"natsock\": $(jv "$4" natsock "$5" "$6"), \"goal\": \"$7\"}")
}
if want broadcast; then
	goal "fan-out to 1000 websocket clients" "frames/s" false fanout frames_per_sec 1 "at least 10x the peer"
	goal "fan-out to 1000 long-polling clients" "frames/s" false polling frames_per_sec 1 "at least 3x the peer"
	goal "p99 latency, 100 clients x 100 msg/s" "ms" true p99-100x100 latency_p99_ns 1e6 "at most 2 ms"
	goal "p99 latency, 100 clients x 1000 msg/s" "ms" true p99-100x1000 latency_p99_ns 1e6 "at most 5 ms"
	goal "p99 latency, $(commas "$idle_clients") clients x 5 msg/s" "ms" true p99-idlex5 latency_p99_ns 1e6 "at most 50 ms"
	goal "memory per idle websocket connection, $(commas "$idle_clients") connections" "KiB" true idle server_mem_per_conn 1024 "at most 4 KiB"
	goal "time to connect $(commas "$idle_clients") clients" "s" true idle connect_ns 1e9 "at most 1 s"
fi
if want targeted; then
	goal "targeted deliveries/s, $(commas "$users") users" "deliveries/s" false targeted-max frames_per_sec 1 ""
	goal "server CPU per targeted message" "us" true targeted-max server_cpu_per_message_ns 1e3 ""
	goal "p99 latency at $(commas "$trate") targeted msg/s" "ms" true targeted-rate latency_p99_ns 1e6 ""
fi
if want inbound; then
	goal "inbound emits reaching NATS/s, 1000 clients" "events/s" false inbound frames_per_sec 1 "at least 2.5x the peer, 0 lost"
	goal "server CPU per inbound event" "us" true inbound server_cpu_per_event_ns 1e3 "at most 2.5 us"
	goal "acked round trips/s, 1000 clients x 4 outstanding" "acks/s" false ack frames_per_sec 1 "at least 4x the peer, 0 errors"
	goal "server CPU per ack" "us" true ack server_cpu_per_event_ns 1e3 "at most 10 us"
fi
growth_items=()
# growth TITLE UNIT XLABEL KEY DIVISOR NAME=X...: one growth chart of natsock.
growth() {
	local title=$1 unit=$2 xlabel=$3 key=$4 div=$5 pts=() kv
	shift 5
	for kv in "$@"; do
		pts+=("{\"x\": \"${kv#*=}\", \"y\": $(jv "${kv%%=*}" natsock "$key" "$div")}")
	done
	growth_items+=("{\"title\": \"$title\", \"unit\": \"$unit\", \"x_label\": \"$xlabel\", \"points\": [$(
		IFS=,
		echo "${pts[*]}"
	)]}")
}
if [ "${GROWTH:-1}" = 1 ] && want broadcast; then
	conns=("grow-1k=1,000" "grow-10k=10,000" "grow-max=$(commas "$max_clients")")
	sizes=("size-100=100 B" "size-1k=1 KiB" "size-16k=16 KiB")
	growth "memory per connection" KiB "connections (5 msg/s)" server_mem_per_conn 1024 "${conns[@]}"
	growth "server CPU per delivered frame" us "connections (5 msg/s)" server_cpu_per_frame_ns 1e3 "${conns[@]}"
	growth "p99 latency" ms "connections (5 msg/s)" latency_p99_ns 1e6 "${conns[@]}"
	growth "server CPU per delivered frame" us "payload size (fan-out to 1000)" server_cpu_per_frame_ns 1e3 "${sizes[@]}"
	growth "delivered frames/s" "frames/s" "payload size (fan-out to 1000)" frames_per_sec 1 "${sizes[@]}"
fi
title="natsock $(git -C "$root" describe --always --dirty 2>/dev/null || echo "?") vs the Node peer, $(nproc) cores, $(date -u +%Y-%m-%d)"
{
	echo "{\"title\": \"$title\","
	echo " \"goals\": [$(
		IFS=,
		echo "${items[*]}"
	)],"
	echo " \"growth\": [$(
		IFS=,
		echo "${growth_items[*]}"
	)]}"
} >"$out/chart.json"
chart_args=()
if [ "${#items[@]}" -gt 0 ]; then chart_args+=(--goals "$charts/bench-goals.svg"); fi
if [ "${#growth_items[@]}" -gt 0 ]; then chart_args+=(--growth "$charts/bench-growth.svg"); fi
mkdir -p "$charts"
if "$work/natsock" bench chart --in "$out/chart.json" "${chart_args[@]}"; then
	echo "charts: ${chart_args[*]}"
else
	say "drawing the charts failed; their data is $out/chart.json"
fi
echo "each run's JSON: $out"
