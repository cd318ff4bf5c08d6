#!/bin/sh
# Runs the Go benchmarks against a build tree's libshmstats, offline.
#   bench/go/run.sh BUILD_DIR [go test flags and -rounds N]
#   e.g. bench/go/run.sh build -benchtime 500ms -rounds 5
# GOPATH mode (GO111MODULE=off), the way Debian builds its Go packages: the peer,
# client_golang, and what it imports come from /usr/share/gocode (package
# golang-github-prometheus-client-golang-dev), this repository through a symlink in
# BUILD_DIR. The Go cache and GOPATH live in BUILD_DIR, never in $HOME.
set -eu
build=$(cd "$1" && pwd)
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
gopath=$build/tests/go/gopath-bench
mkdir -p "$gopath/src/github.com/shmstats"
ln -sfn "$repo" "$gopath/src/github.com/shmstats/shmstats"
export GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOPROXY=off GOENV=off
export GOCACHE="${GOCACHE:-$build/tests/go/cache}"
export CGO_LDFLAGS="-L$build/libshm -Wl,-rpath,$build/libshm"
cd "$gopath/src/github.com/shmstats/shmstats/bench/go"
exec "${GO:-go}" test -run '^$' -bench . github.com/shmstats/shmstats/bench/go "$@"
