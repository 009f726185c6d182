package omaclient

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorInfo is the OMA detail of an RPC error (WIRE-3).
type ErrorInfo struct {
	Code     codes.Code
	Reason   string // UPPER_SNAKE, e.g. "LEASE_LOST"; "" when the error has none
	Domain   string
	Metadata map[string]string
	Message  string
}

// InfoOf reads the code, reason and metadata of an error returned by a call.
func InfoOf(err error) ErrorInfo {
	st, _ := status.FromError(err)
	info := ErrorInfo{Code: st.Code(), Message: st.Message(), Metadata: map[string]string{}}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			info.Reason, info.Domain = ei.GetReason(), ei.GetDomain()
			for k, v := range ei.GetMetadata() {
				info.Metadata[k] = v
			}
			break
		}
	}
	return info
}

// ReasonOf is the OMA reason of an error, or "".
func ReasonOf(err error) string { return InfoOf(err).Reason }

// IsTransient reports failures that may pass by themselves: the server is unreachable or
// restarting, a deadline passed, or the transport broke without an OMA reason. An error
// with an OMA reason is the server's answer and is not retried.
func IsTransient(err error) bool {
	info := InfoOf(err)
	switch info.Code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return info.Reason == ""
	case codes.Unknown, codes.Internal:
		return info.Reason == ""
	}
	return false
}
