package main

import "github.com/plexo-go/plexo/internal/netnstest"

// inPrivateNetns reports whether this process runs in the private network
// namespace that its test created, with only loopback: the only place this
// program may send multicast.
func inPrivateNetns() bool { return netnstest.InPrivate() }
