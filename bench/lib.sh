# bench/lib.sh - helpers sourced by bench/run and bench/peers/compare.
# shellcheck shell=bash

# calc FORMAT EXPR: awk's arithmetic, printed with FORMAT.
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# jget FILE KEY: a number from a one-line JSON object ("key":1 or "key": 1).
jget() { sed -n "s/.*\"$2\": *\([-0-9.e]*\).*/\1/p" "$1"; }
# stop_field KEY LINE: an integer of the daemon's "stopped cleanly" line
# (KEY=N; -1 where it has no figure, as seal_cpu_ms without a sealer).
stop_field() { sed -n "s/.* $1=\(-\{0,1\}[0-9]*\).*/\1/p" <<<"$2"; }
