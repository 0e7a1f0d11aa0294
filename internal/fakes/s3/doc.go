// Package s3 is an in-memory S3 endpoint (path-style PutObject, GetObject,
// HeadObject, HeadBucket, ListObjectsV2, DeleteObjects) for tests driven
// by the real SDK client.
package s3
