#!/usr/bin/env bash
# Runs `go test -v` over the module, prints a short summary, and fails when
# any test failed or skipped: under `make test` every test must run.
set -uo pipefail
log=${TEST_LOG:-build/test.log}
mkdir -p "$(dirname "$log")"
go test -count=1 -v -timeout "${TEST_TIMEOUT:-15m}" "$@" ./... >"$log" 2>&1
status=$?
# Package results, then every failed or skipped test with its messages:
# under -v a test's log lines come before its "--- FAIL" line, in the blocks
# "=== RUN/CONT/NAME <test>" opens, interleaved with other tests' blocks, so
# each test's lines are kept until its verdict (the last 60 of them shown).
grep -E '^(ok|FAIL|panic:)' "$log"
awk '
  /^=== (RUN|CONT|NAME)[[:space:]]/ { cur = $3; next }
  /^=== PAUSE/ { next }
  /^[[:space:]]*--- (FAIL|SKIP):/ {
    name = $3
    print
    n = count[name]; from = (n > 60) ? n - 60 : 0
    for (i = from; i < n; i++) print "    | " lines[name, i]
    next
  }
  /^[[:space:]]*--- PASS:/ { delete_name = $3; count[delete_name] = 0; next }
  /^(ok|FAIL|PASS)([[:space:]]|$)/ { cur = ""; next }
  cur != "" { lines[cur, count[cur]++] = $0 }
' "$log"
passed=$(grep -cE '^\s*--- PASS' "$log")
failed=$(grep -cE '^\s*--- FAIL' "$log")
skipped=$(grep -cE '^\s*--- SKIP' "$log")
if [ "$skipped" -gt 0 ]; then
  echo "FAIL: $skipped test(s) skipped; make test must run them all (see the --- SKIP lines above)" >&2
  status=1
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ]; then
  echo "go test exited $status; last lines of $log:" >&2
  tail -40 "$log" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped" | tee "$log.summary"
exit "$status"
