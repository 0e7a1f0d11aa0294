// Package chroot executes Dockerfile RUN steps without a container runtime, in a chroot of a scratch copy of the stage's filesystem, and returns their changes as a cached, deterministic layer.
package chroot
