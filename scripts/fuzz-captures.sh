#!/usr/bin/env bash
# fuzz-captures.sh — libFuzzer over the pcap and pcapng readers (and the packet decoder and TCP analysis
# behind them). Builds one fuzzing binary with swiftc from the sources (a SwiftPM executable cannot take
# libFuzzer's main), seeds it with the corpus captures, and runs it.
#
# usage: scripts/fuzz-captures.sh [SECONDS]        (default 300)
# Crashing inputs land in .build-fuzz/crashes/; once fixed, copy each to corpus/fuzz-regressions/ (named
# after what it broke): Tests/ParsersTests/FuzzRegressionTests reads every file there.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$REPO/.build-fuzz
SECONDS_TO_RUN=${1:-300}
mkdir -p "$W/src" "$W/seeds" "$W/crashes"
rm -f "$W/src/"*.swift
# One module: the files' `import TraceModel` lines are dropped and TraceModel compiled alongside.
for f in "$REPO"/Sources/TraceModel/*.swift "$REPO"/Sources/Parsers/Core/{CaptureParser,CaptureStream,PacketDecoder,TCPAnalysis,TCPNumbering,TextBuilder,Parser}.swift \
         "$REPO"/Sources/Parsers/Formats/{Pcap,Pcapng}.swift; do
  sed 's/^import TraceModel$//' "$f" > "$W/src/$(basename "$f")"
done
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name FuzzCaptures -o "$W/fuzz-captures" \
  "$REPO/scripts/fuzz/FuzzCaptures.swift" "$W/src/"*.swift
cp "$REPO"/corpus/*/*.pcap "$REPO"/corpus/*/*.pcapng "$REPO"/corpus/*/*/*.pcap "$REPO"/corpus/fuzz-regressions/* "$W/seeds/" 2>/dev/null || true
# Swift's own crash reporter trips AddressSanitizer; libFuzzer reports the crash instead.
SWIFT_BACKTRACE=enable=no "$W/fuzz-captures" -max_total_time="$SECONDS_TO_RUN" -max_len=16384 \
  -artifact_prefix="$W/crashes/" -print_final_stats=1 "$W/seeds"
