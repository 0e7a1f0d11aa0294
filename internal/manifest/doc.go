// Package manifest is the typed model of Copilot's manifests: the seven
// manifest types and the parts they share, decoded once from the resolved
// (interpolated, override-merged) node that internal/workspace produces.
//
// JSON Schema (schema/) is the first gate: it reports unknown keys and
// wrong types with positions. This package gives lint's cross-field rules
// and render's stacks one reading of each field. Every mapping of the model
// embeds Section, which keeps the position of the mapping and of each of
// its keys' values, so a finding about any field names its line; union
// forms (string or list, bool or map, count as number, range or map) are
// types with their own decoding. Section also keeps a mapping's key order
// (for maps of the model, such as sidecars) and its values as written.
//
// Decoding goes past a value that does not fit the model: the value's field
// stays unset and the error names the first such value, as if decoding had
// stopped there. Render refuses the manifest on that error; lint's rules
// read the rest of the model.
package manifest
