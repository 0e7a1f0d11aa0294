package schema

import "embed"

// FS holds every schema file at its root: common.json and one file per manifest type.
// Each file's $id is BaseURL followed by its file name, so adding every file of FS as a
// resource lets a compiler resolve the references between them without network access.
//
//go:embed *.json
var FS embed.FS

// BaseURL is the prefix of every schema's $id.
const BaseURL = "https://autopilot.dev/schema/"

// CommonFile holds the definitions the type schemas share; it validates no manifest itself.
const CommonFile = "common.json"

// kinds maps a manifest's "type:" value to its schema file, in the order Copilot documents them.
var kinds = []struct{ kind, file string }{
	{"Request-Driven Web Service", "request-driven-web-service.json"},
	{"Load Balanced Web Service", "load-balanced-web-service.json"},
	{"Backend Service", "backend-service.json"},
	{"Worker Service", "worker-service.json"},
	{"Scheduled Job", "scheduled-job.json"},
	{"Static Site", "static-site.json"},
	{"Environment", "environment.json"},
}

// File returns the schema file name for a manifest "type:" value such as
// "Load Balanced Web Service". The match is exact, as in Copilot; ok is false for
// any other value, including "Pipeline", which has no schema.
func File(kind string) (file string, ok bool) {
	for _, k := range kinds {
		if k.kind == kind {
			return k.file, true
		}
	}
	return "", false
}

// Kinds returns the manifest "type:" values that have a schema, e.g. to suggest
// the nearest one for a misspelt type.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// ID returns the $id of a schema file of FS, e.g. ID("common.json").
func ID(file string) string {
	return BaseURL + file
}
