// Package natsrv runs the embedded nats-server (JetStream, file store) that
// is forbear's default on one machine. An external NATS cluster replaces it
// when nats.url is set.
package natsrv
