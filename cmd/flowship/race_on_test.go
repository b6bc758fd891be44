//go:build race

package main

// raceDetector is true in `go test -race` builds (make test), where
// parsing runs about ten times slower.
const raceDetector = true
