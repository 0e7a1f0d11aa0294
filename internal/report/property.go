package report

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy"
)

// propertyView is a changed property as a reader thinks of it.
type propertyView struct {
	path          string
	before, after string // display values; "" for none
	// named: before and after are list items written NAME = "value".
	named bool
	// unknown: CloudFormation said the property changes but returned no
	// values (a change set created without property values).
	unknown bool
}

func viewProperty(d deploy.PropertyChange) propertyView {
	v := propertyView{path: d.Path, before: d.Before, after: d.After}
	if d.Before == "" && d.After == "" {
		v.unknown = true
		return v
	}
	// An added or removed item of a name/value list (environment
	// variables, tags) is named by its name, not its position.
	i := strings.LastIndexByte(d.Path, '.')
	if i < 0 {
		return v
	}
	if _, err := strconv.Atoi(d.Path[i+1:]); err != nil {
		return v
	}
	before, okBefore := namedItem(d.Before)
	after, okAfter := namedItem(d.After)
	if (d.Before == "" || okBefore) && (d.After == "" || okAfter) {
		v.path, v.before, v.after, v.named = d.Path[:i], before, after, true
	}
	return v
}

// namedItem writes {"Name": "X", "Value": "y"} (or Key/Value, as tags are)
// as X = "y".
func namedItem(s string) (string, bool) {
	var item map[string]json.RawMessage
	if s == "" || json.Unmarshal([]byte(s), &item) != nil || len(item) != 2 {
		return "", false
	}
	value, ok := item["Value"]
	if !ok {
		return "", false
	}
	var name string
	for _, k := range []string{"Name", "Key"} {
		if raw, ok := item[k]; ok && json.Unmarshal(raw, &name) == nil {
			var compact bytes.Buffer
			if json.Compact(&compact, value) != nil {
				return "", false
			}
			return name + " = " + compact.String(), true
		}
	}
	return "", false
}

// text is the property's one-line change for a terminal:
// "path: before → after", "path: + NAME = value" or "path: changed".
func (v propertyView) text() string {
	path := termText(v.path)
	switch {
	case v.unknown:
		return path + ": changed (CloudFormation returned no values)"
	case v.named && v.before == "":
		return path + ": + " + termText(clip(v.after, 200))
	case v.named && v.after == "":
		return path + ": - " + termText(clip(v.before, 200))
	case v.named:
		return path + ": " + termText(clip(v.before, 200)) + " → " + termText(clip(v.after, 200))
	}
	return path + ": " + strconv.Quote(clip(v.before, 200)) + " → " + strconv.Quote(clip(v.after, 200))
}
