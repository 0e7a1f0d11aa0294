// Package awsquery holds what the fakes of AWS's query-protocol services
// (CloudFormation, STS, Elastic Load Balancing) answer alike: the
// <ErrorResponse> document the SDK's deserializers read a failure from.
package awsquery

import (
	"encoding/xml"
	"net/http"
)

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

// WriteError answers with status and an <ErrorResponse> in the service's
// namespace xmlns; typ is Sender (the caller's fault) or Receiver.
func WriteError(w http.ResponseWriter, status int, xmlns, typ, code, message, requestID string) {
	if typ == "" {
		typ = "Sender"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(errorResponse{Xmlns: xmlns, Type: typ, Code: code, Message: message, RequestID: requestID})
}
