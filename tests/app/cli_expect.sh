#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one batchmd command line and checks its exit code AND its output, so a CLI test fails when
# either is wrong (CTest alone ignores the exit code once PASS_REGULAR_EXPRESSION is set, and
# WILL_FAIL accepts any non-zero code).
#
# usage: cli_expect.sh [options] -- COMMAND [ARGS...]
#   --exit N         the exit code the command must return (default 0)
#   --stdout ERE     a line of stdout must match this extended regex (repeatable)
#   --stderr ERE     a line of stderr must match (repeatable)
#   --no-stdout ERE  no line of stdout may match (repeatable)
#   --no-stderr ERE  no line of stderr may match (repeatable)
#   -C DIR           run in DIR (created if missing)
#   --rm PATH        remove PATH (relative to DIR) before running (repeatable)
#   --absent GLOB    no path matching GLOB may exist afterwards (repeatable)
#   --present PATH   PATH must exist afterwards (repeatable)
#   --allow-log      with --exit 2: log lines (e.g. remote-store retries) may come before the error
# With --exit 2 (a user error) stderr must also be exactly one line, "batchmd: error: ...": the
# README's promise of one clear line per error (with --allow-log: one such line, the last).
set -u
expect=0
allow_log=0
dir=.
checks=$(mktemp)
trap 'rm -f "$checks" "$checks.out" "$checks.err"' EXIT
: >"$checks"
rm_paths=""
while [ $# -gt 0 ]; do
  case "$1" in
    --exit) expect=$2; shift 2 ;;
    --stdout | --stderr | --no-stdout | --no-stderr | --absent | --present)
      printf '%s\t%s\n' "$1" "$2" >>"$checks"; shift 2 ;;
    -C) dir=$2; shift 2 ;;
    --allow-log) allow_log=1; shift ;;
    --rm) rm_paths="$rm_paths
$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "cli_expect.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
[ $# -gt 0 ] || { echo "cli_expect.sh: no command" >&2; exit 64; }
mkdir -p "$dir" && cd "$dir" || exit 64
printf '%s\n' "$rm_paths" | while IFS= read -r p; do [ -n "$p" ] && rm -rf -- "$p"; done

"$@" >"$checks.out" 2>"$checks.err"
rc=$?

failed=0
complain() { echo "FAILED: $*"; failed=1; }
[ "$rc" -eq "$expect" ] || complain "exit code $rc, expected $expect"
if [ "$expect" -eq 2 ]; then
  lines=$(wc -l <"$checks.err")
  errors=$(grep -c '^batchmd: error: ' "$checks.err")
  if [ "$allow_log" -eq 1 ]; then
    [ "$errors" -eq 1 ] || complain "stderr has $errors 'batchmd: error: ' lines, expected one"
    tail -n 1 "$checks.err" | grep -q '^batchmd: error: ' || complain "the error is not the last line of stderr"
  else
    [ "$lines" -eq 1 ] || complain "stderr has $lines lines, expected exactly one error line"
    [ "$errors" -eq 1 ] || complain "stderr does not start with 'batchmd: error: '"
  fi
fi
while IFS="$(printf '\t')" read -r kind what; do
  case "$kind" in
    --stdout) grep -Eq -- "$what" "$checks.out" || complain "no stdout line matches: $what" ;;
    --stderr) grep -Eq -- "$what" "$checks.err" || complain "no stderr line matches: $what" ;;
    --no-stdout) ! grep -Eq -- "$what" "$checks.out" || complain "a stdout line matches: $what" ;;
    --no-stderr) ! grep -Eq -- "$what" "$checks.err" || complain "a stderr line matches: $what" ;;
    --absent) for f in $what; do [ ! -e "$f" ] || complain "$f exists"; done ;;  # a glob may name several
    --present) [ -e "$what" ] || complain "$what does not exist" ;;
  esac
done <"$checks"

if [ "$failed" -ne 0 ] || [ "${CLI_EXPECT_VERBOSE:-0}" = 1 ]; then
  echo "command: $*"
  echo "exit code: $rc"
  echo "--- stdout"; cat "$checks.out"
  echo "--- stderr"; cat "$checks.err"
fi
exit "$failed"
