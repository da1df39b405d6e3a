#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage: expect_exit2.sh REGEX COMMAND [ARGS...]
# Passes when COMMAND exits with code 2 (the CLI's code for a user error) within the test's
# timeout and its stderr matches the extended regular expression REGEX; prints what it got.
regex="$1"
shift
err=$("$@" 2>&1 >/dev/null)
code=$?
printf '%s\n' "$err"
if [ "$code" -ne 2 ]; then
  echo "expect_exit2: exit code $code, expected 2" >&2
  exit 1
fi
if ! printf '%s\n' "$err" | grep -Eq -- "$regex"; then
  echo "expect_exit2: stderr does not match: $regex" >&2
  exit 1
fi
