// Package phone turns a phone number as people type it ("138 0000 0000",
// "+1 (555) 010-0001", "0086-138...") into E.164, the form forbear stores
// and indexes, using the libphonenumber metadata
// (github.com/nyaruka/phonenumbers). A number without a country prefix is
// read in a default region (console.phone_region).
package phone
