// Package config is forbear's configuration: the documented Config struct
// with its defaults, and loading it from a YAML file and FORBEAR_*
// environment variables (LoadUnchecked; flags, applied by the caller,
// beat env beat file).
//
// Each section is checked by the package that uses it, in a
// CheckConfig(section) of that package's config.go (scheduler.CheckConfig,
// httpapi.CheckConfig, ...); this package checks only the keys of the
// process as a whole (CheckOwnKeys: data_dir, memory_limit_mib, nats.*)
// and gives them all Faults, so that every fault names its full key.
// internal/roof/app.LoadConfig loads and runs every check, and
// internal/roof/app.CheckConfig runs them on a configuration built
// otherwise.
package config
