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
// types with their own decoding.
package manifest
