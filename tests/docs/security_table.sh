#!/usr/bin/env bash
# docs/security.md names, for each finding of its review, the test that keeps
# it fixed: every test it names must exist.
exec bash "$(dirname "$0")/named_tests.sh" docs/security.md 10
