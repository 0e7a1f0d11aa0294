// Package image builds container images from Dockerfiles in-process, without a Docker daemon, and pushes them to Amazon ECR or any OCI registry, or writes them to an OCI layout or a tarball.
package image
