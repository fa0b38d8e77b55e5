// Package email is the SMTP provider of the email channel. It builds the
// MIME message itself (multipart/alternative, quoted-printable UTF-8 text,
// RFC 2047 subjects, one-click List-Unsubscribe) and hands it to a relay
// over a plain, STARTTLS or implicit-TLS connection with the go-smtp
// client.
//
// The Message-ID is derived from the reminder id, so a message resent after
// a crash carries the same id and mail systems can recognise the duplicate.
// Every header value is stripped of CR and LF before it is written: nothing
// a borrower or an event supplies can add a header.
package email
