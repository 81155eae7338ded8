#!/usr/bin/env bash
# What the global order costs on PostgreSQL: one-event appends with the head-row lock
# (Whistle's design) against appends numbered by a sequence (no ordering guarantee), at
# 1, 8 and 32 clients. Usage: bench/pgbench/run.sh postgres://USER@HOST:PORT/DB [seconds]
# The database gets three scratch tables (dropped and recreated on each run).
set -euo pipefail
url=${1:?usage: run.sh postgres://USER@HOST:PORT/DB [seconds]}
seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
psql -q "$url" -f "$here/setup.sql"
echo "| clients | ordered (head lock) tx/s | sequence (unordered) tx/s | cost |"
echo "|---|---|---|---|"
for clients in 1 8 32; do
  ordered=$(pgbench -n -c "$clients" -j 2 -T "$seconds" -f "$here/ordered_append.sql" "$url" | awk '/^tps/ {print int($3)}')
  sequenced=$(pgbench -n -c "$clients" -j 2 -T "$seconds" -f "$here/sequenced_append.sql" "$url" | awk '/^tps/ {print int($3)}')
  echo "| $clients | $ordered | $sequenced | $(awk -v o="$ordered" -v s="$sequenced" 'BEGIN { printf "%.0f%%", (1 - o / s) * 100 }') |"
done
