// Package httpapi is forbear's HTTP edge (spec §4): routing, bearer-token
// roles (open mode keeps to local, same-origin callers), JSON errors with
// stable codes, the limits that keep slow clients from holding the server
// (timeouts, a connection cap), and the handlers that call into the
// dispatcher, audit trail, inbox, outbox and template store.
//
// Every API route is one entry of the route table (routes.go): method,
// path, who may call it, handler. The OpenAPI 3.1 description
// (openapi.json, served at GET /v1/openapi.json) describes exactly those
// routes; the tests hold the two together.
package httpapi
