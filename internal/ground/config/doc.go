// Package config is forbear's configuration: the documented Config struct
// with its defaults, loading from a YAML file, FORBEAR_* environment
// variables and flags (flags beat env beat file), and a Validate whose
// errors name the key at fault.
package config
