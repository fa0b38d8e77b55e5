// Package smtpserver runs a real SMTP server (emersion/go-smtp) inside a
// test process, so that the email provider is tested over a socket, with
// real TLS and AUTH, instead of against a mock. It records every message it
// accepts and can be told to reject recipients with a chosen reply code.
package smtpserver
