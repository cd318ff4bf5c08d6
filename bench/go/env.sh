# SPDX-License-Identifier: Apache-2.0
# Sourced by run.sh and callgrind.sh with the build directory in $build: the Go
# environment for the benchmarks. GOPATH mode (GO111MODULE=off), the way Debian
# builds its Go packages: the peer, client_golang, and what it imports come from
# /usr/share/gocode (package golang-github-prometheus-client-golang-dev), this
# repository through a symlink in the build directory. Offline; the Go cache and
# GOPATH live in the build directory, never in $HOME.
repo=$(cd "$(dirname "$0")/../.." && pwd)
gopath=$build/tests/go/gopath-bench
mkdir -p "$gopath/src/github.com/shmstats"
ln -sfn "$repo" "$gopath/src/github.com/shmstats/shmstats"
export GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOPROXY=off GOENV=off
export GOCACHE="${GOCACHE:-$build/tests/go/cache}"
export CGO_LDFLAGS="-L$build/libshm -Wl,-rpath,$build/libshm"
pkg=github.com/shmstats/shmstats/bench/go
cd "$gopath/src/$pkg"
