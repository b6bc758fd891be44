package kibana

// visParams returns visState.params for a legacy visualization type, in
// the shape Kibana 8's editor saves. Kibana fills missing top-level keys
// from the type's defaults, but not nested ones, so the nested objects
// (axes, series, metric style) are complete here.
func visParams(visType string, metrics []map[string]any) map[string]any {
	switch visType {
	case "table":
		return map[string]any{
			"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false,
			"showTotal": false, "totalFunc": "sum", "percentageCol": "", "showToolbar": true,
			"autoFitRowToContent": false,
		}
	case "metric":
		return map[string]any{
			"type": "metric", "addTooltip": true, "addLegend": false,
			"metric": map[string]any{
				"percentageMode": false, "useRanges": false, "colorSchema": "Green to Red",
				"metricColorMode": "None", "colorsRange": []any{map[string]any{"from": 0, "to": 10000}},
				"labels": map[string]any{"show": true}, "invertColors": false,
				"style": map[string]any{"bgFill": "#000", "bgColor": false, "labelColor": false, "subText": "", "fontSize": 36},
			},
		}
	}
	return xyParams(visType, metrics)
}

// xyParams is for "line" (one line per metric and group) and "histogram"
// (stacked bars).
func xyParams(visType string, metrics []map[string]any) map[string]any {
	mode := "normal"
	if visType == "histogram" {
		mode = "stacked"
	}
	var series []map[string]any
	for _, m := range metrics {
		series = append(series, map[string]any{
			"show": true, "type": visType, "mode": mode, "valueAxis": "ValueAxis-1",
			"data":                   map[string]any{"id": m["id"], "label": m["label"]},
			"drawLinesBetweenPoints": true, "lineWidth": 2, "interpolate": "linear", "showCircles": true,
		})
	}
	title := ""
	if len(metrics) > 0 {
		title, _ = metrics[0]["label"].(string)
	}
	return map[string]any{
		"type": visType,
		"grid": map[string]any{"categoryLines": false},
		"categoryAxes": []any{map[string]any{
			"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": true, "style": map[string]any{},
			"scale":  map[string]any{"type": "linear"},
			"labels": map[string]any{"show": true, "filter": true, "truncate": 100}, "title": map[string]any{},
		}},
		"valueAxes": []any{map[string]any{
			"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": true, "style": map[string]any{},
			"scale":  map[string]any{"type": "linear", "mode": "normal"},
			"labels": map[string]any{"show": true, "rotate": 0, "filter": false, "truncate": 100},
			"title":  map[string]any{"text": title},
		}},
		"seriesParams":    series,
		"addTooltip":      true,
		"detailedTooltip": true,
		"addLegend":       true,
		"legendPosition":  "right",
		"truncateLegend":  true,
		"maxLegendLines":  1,
		"times":           []any{},
		"addTimeMarker":   false,
		"fittingFunction": "linear",
		"radiusRatio":     9,
		"labels":          map[string]any{},
		"thresholdLine":   map[string]any{"show": false, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
		"palette":         map[string]any{"type": "palette", "name": "default"},
	}
}
