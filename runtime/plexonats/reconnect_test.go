package plexonats_test

import (
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo/runtime/plexonats"
)

// A transport that misses a peer's last remove while its server is down
// learns of it when it reconnects: the peer answers its query although it
// has no subscription left, instead of leaving the interest to expire after
// three of the peer's refresh intervals (an hour here).
func TestRemoveMissedWhileDisconnectedIsRepairedOnReconnect(t *testing.T) {
	cluster := func(seed *url.URL) func(*server.Options) {
		return func(o *server.Options) {
			o.Cluster = server.ClusterOpts{Name: "plexo", Host: "127.0.0.1", Port: -1, PoolSize: -1}
			if seed != nil {
				o.Routes = []*url.URL{seed}
			}
		}
	}
	s0 := startServer(t, -1, cluster(nil))
	seed := &url.URL{Scheme: "nats-route", Host: s0.ClusterAddr().String()}
	s1 := startServer(t, -1, cluster(seed))
	eventually(t, "the cluster forms", func() bool { return s0.NumRoutes() == 1 && s1.NumRoutes() == 1 })
	port1 := s1.Addr().(*net.TCPAddr).Port

	refresh := plexonats.WithInterestRefresh(time.Hour)
	subscriber, watcher := newPlexus(t), newPlexus(t)
	trSub := attach(t, subscriber, connect(t, s0.ClientURL()), refresh)
	ncWatch := connect(t, s1.ClientURL(), nats.IgnoreDiscoveredServers(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	trWatch := attach(t, watcher, ncWatch, refresh)
	_, sub := subscribeInt64(t, subscriber)
	eventually(t, "the watcher hears of the subscription", func() bool { return trWatch.Stats().RemotePeers == 1 })

	s1.Shutdown()
	s1.WaitForShutdown()
	eventually(t, "the watcher notices", func() bool { return !ncWatch.IsConnected() })
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	// The remove goes out to a cluster without the watcher's server.
	eventually(t, "the subscriber announces its remove", func() bool {
		return trSub.Stats().Subscriptions == 0
	})
	time.Sleep(50 * time.Millisecond) // let the worker publish it; not an assertion

	startServer(t, port1, cluster(seed))
	eventually(t, "the watcher reconnects", ncWatch.IsConnected)
	eventually(t, "the watcher forgets the interest it missed the removal of", func() bool {
		return trWatch.Stats().RemotePeers == 0
	})
}
