// Package elbv2 is a fake Elastic Load Balancing (v2) endpoint speaking the
// service's query protocol: form-encoded requests (Action, Version
// 2015-12-01), XML responses in the ELBv2 namespace and its ErrorResponse
// XML. It answers DescribeLoadBalancers (by name or ARN) and
// DescribeListeners (paged by Marker), the calls autopilot makes to read a
// load balancer a service imports (http.alb).
package elbv2
