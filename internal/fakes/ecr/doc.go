// Package ecr is a fake Amazon ECR API speaking awsJson1_1 (X-Amz-Target) that the real aws-sdk-go-v2 ECR client can be pointed at; its authorization tokens are the credentials of a real test registry.
package ecr
