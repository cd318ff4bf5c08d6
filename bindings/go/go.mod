module github.com/shmstats/shmstats/bindings/go

go 1.19
