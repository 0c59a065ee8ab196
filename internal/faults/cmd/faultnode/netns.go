package main

import (
	"net"
	"os"
)

// parentNetnsEnv carries, from the test that created the private network
// namespace, the namespace it was created from.
const parentNetnsEnv = "PLEXO_FAULTS_PARENT_NETNS"

// inPrivateNetns reports whether this process runs in a network namespace
// other than the initial one (PID 1's, when readable) and the one the test
// was started in, and whose only interface is loopback: the only place this
// program may send multicast. When in doubt it says no.
func inPrivateNetns() bool {
	parent := os.Getenv(parentNetnsEnv)
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil || self == "" || parent == "" || self == parent {
		return false
	}
	if initial, err := os.Readlink("/proc/1/ns/net"); err == nil && initial == self {
		return false
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}
