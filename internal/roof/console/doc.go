// Package console is forbear's web console for the people among its users:
// support staff (find a borrower, see what was sent and why, mute on the
// spot) and ops staff (edit the words borrowers read, see what policies do),
// plus a dashboard for everyone signed in.
//
// Pages are rendered on the server from html/template files embedded in the
// binary (web/pages), with a stylesheet and a little JavaScript of our own
// (web/assets) where a page must react as one types; everything that changes
// state is a plain form post, so it works without JavaScript.
//
// Security: a staff token (auth.tokens) is exchanged for a signed session
// cookie (HttpOnly, SameSite=Strict, Secure over TLS) that remembers the
// token's digest, never the token, so removing a token from the
// configuration ends its sessions. Every form carries a CSRF token bound to
// the session. The Content-Security-Policy allows no inline script, and
// html/template escapes every value. Open mode (no tokens, loopback only)
// needs no sign-in, as the API does, and refuses foreign Host headers and
// cross-origin browsers the same way. Roles mean what they mean in the API:
// a page answers 403 to a role that could not read its data through the API.
//
// The console calls the same code as the API handlers (the intake for
// mutes, the template store, the support read model), so each rule lives
// in one place.
package console
