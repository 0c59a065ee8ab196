package plexonats_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/plexo-go/plexo/runtime/plexonats"
)

// TestSyncLargerThanMaxPayload subscribes a transport to more long topics
// than one message under the server's maximum payload can list, then starts
// a second transport: the first answers its query with a sync in parts,
// and the second learns every topic.
func TestSyncLargerThanMaxPayload(t *testing.T) {
	const maxPayload = 1024
	s := startServer(t, -1, func(o *server.Options) { o.MaxPayload = maxPayload })
	ncA, ncB := connect(t, s.ClientURL()), connect(t, s.ClientURL())
	if got := ncA.MaxPayload(); got != maxPayload {
		t.Fatalf("server max payload %d, want %d", got, maxPayload)
	}
	a, err := plexonats.New(ncA)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Start(idHost{newInterestHost(), 0xa}); err != nil {
		t.Fatal(err)
	}
	// 200 topics of about 120 bytes: some 25 KB of lines, 25 times the
	// maximum payload.
	var topics []string
	for i := range 200 {
		topics = append(topics, fmt.Sprintf("brewery.%s.v1.Temperature%03d.proto", strings.Repeat("cellar", 16), i))
		a.Advertise(topics[i], 1+i%3)
	}
	b, err := plexonats.New(ncB)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := newInterestHost()
	if err := b.Start(h); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the late transport learns every topic", func() bool {
		for i, topic := range topics {
			if h.hops(topic) != 1+i%3 {
				return false
			}
		}
		return true
	})
	// A sync in parts forgets what it leaves out, once all its parts came:
	// the first transport's next sync (answering a third's query) lists
	// one topic fewer.
	a.Advertise(topics[7], 0)
	eventually(t, "the late transport forgets the topic removed", func() bool { return h.hops(topics[7]) == 0 })
	time.Sleep(50 * time.Millisecond)
	for i, topic := range topics {
		if i != 7 && h.hops(topic) != 1+i%3 {
			t.Fatalf("%s: %d hops after a removal, want %d", topic, h.hops(topic), 1+i%3)
		}
	}
}

// idHost is an interestHost with an ID of its own, so that two transports
// do not take each other's announcements for their own.
type idHost struct {
	*interestHost
	id uint64
}

func (h idHost) ID() uint64 { return h.id }
