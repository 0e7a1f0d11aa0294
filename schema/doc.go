// Package schema embeds the JSON Schemas of every Copilot manifest type, one file per type plus shared definitions.
package schema
