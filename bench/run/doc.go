// Package run benchmarks daemonless RUN (internal/image/chroot) against buildah on a Dockerfile with two RUN steps and a COPY.
package run
