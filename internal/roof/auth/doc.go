// Package auth says who makes a request and what they may do: the staff
// tokens of auth.tokens (each with roles), a borrower's own token for their
// inbox, and open mode (no tokens, loopback only). The HTTP API and the
// console both ask it, so a role means the same in both.
package auth
