package elasticsearch

import "flag"

// update rewrites recorded testdata from the real Elasticsearch
// (integration tests).
var update = flag.Bool("update", false, "re-record testdata from the real Elasticsearch (with -tags integration)")
