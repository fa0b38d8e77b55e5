// Package natscluster runs a real JetStream cluster for tests about
// scaling out: separate nats-server processes, built from the nats-server
// module forbear already depends on, on loopback ports, each with its own
// store directory. Tests kill nodes with SIGKILL and restart them to prove
// what survives a crash and a leader change.
package natscluster
