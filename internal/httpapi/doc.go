// Package httpapi is forbear's HTTP edge (spec §4): routing, bearer-token
// roles, JSON errors with stable codes, and the handlers that call into the
// dispatcher, audit trail, inbox, outbox and template store.
package httpapi
