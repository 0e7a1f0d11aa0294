// Package registry starts Debian's docker-registry (distribution 2.8) on a loopback port with htpasswd basic auth, behind a proxy that counts the bytes uploaded, for tests and benchmarks.
package registry
