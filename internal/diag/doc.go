// Package diag holds the findings every stage reports: a position in a file, a
// severity, a stable rule id, a message and, where one is known, the fix.
package diag
