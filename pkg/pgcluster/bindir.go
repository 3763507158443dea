package pgcluster

// BinDir is the directory of the installed PostgreSQL server binaries Start runs (postgres,
// initdb), where the client tools of the same version (pg_dump, pg_restore) live too.
func BinDir() (string, error) { return binDir() }
