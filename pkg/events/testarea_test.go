package events

// The package's tests publish events of their own area, "things", as "/test".
func init() { areaSources["things"] = "/test" }
