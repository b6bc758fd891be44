package retention

import (
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/flowship/flowship/pipeline"
)

// buildPolicy returns kind's ILM policy (without _meta).
//
// The hot phase has no rollover action, unlike Calico's policies (spec
// §6.4): flowship writes one index per kind, cluster and UTC event day, so
// a replayed document always lands in the index that already holds its
// _id and is deduplicated there. Rollover would send a replay to the
// current write index, where the _id is unknown, and duplicate it. The
// index's age counts from the date in its name
// (index.lifecycle.parse_origination_date), so "delete after N days" means
// exactly "delete the index of a day that started at least N days ago".
func buildPolicy(k KindConfig) types.IlmPolicy {
	hot := k.HotPriority
	phases := types.Phases{
		Hot: &types.Phase{
			MinAge:  "0ms",
			Actions: &types.IlmActions{SetPriority: &types.SetPriorityAction{Priority: &hot}},
		},
		Delete: &types.Phase{
			MinAge:  esDuration(time.Duration(k.RetentionDays) * 24 * time.Hour),
			Actions: &types.IlmActions{Delete: &types.DeleteAction{}},
		},
	}
	if w := k.Warm; w.MinAge > 0 {
		prio := w.Priority
		acts := &types.IlmActions{SetPriority: &types.SetPriorityAction{Priority: &prio}}
		if w.ReadOnly {
			acts.Readonly = &types.EmptyObject{}
		}
		if w.ForceMergeSegments > 0 {
			acts.Forcemerge = &types.ForceMergeAction{MaxNumSegments: w.ForceMergeSegments}
		}
		phases.Warm = &types.Phase{MinAge: esDuration(w.MinAge), Actions: acts}
	}
	return types.IlmPolicy{Phases: phases}
}

// esDuration formats d in Elasticsearch time units, using the largest unit
// that represents it exactly ("8d", "36h", "90m", "5s", "250ms").
func esDuration(d time.Duration) string {
	units := []struct {
		suffix string
		size   time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	for _, u := range units {
		if d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// policyMeta is the _meta every flowship object carries (before its hash).
func objectMeta(kind pipeline.Kind) map[string]any {
	return map[string]any{"managed_by": "flowship", "kind": string(kind)}
}
