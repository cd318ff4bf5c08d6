#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the Go benchmarks against a build tree's libshmstats, offline (see env.sh).
#   bench/go/run.sh BUILD_DIR [go test flags and -rounds N]
#   e.g. bench/go/run.sh build -benchtime 500ms -rounds 5
set -eu
build=$(cd "$1" && pwd)
shift
. "$(dirname "$0")/env.sh"
exec "${GO:-go}" test -run '^$' -bench . "$pkg" "$@"
