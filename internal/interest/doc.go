// Package interest owns plexo's interest rule: how far, in Plexus hops, the
// nearest subscriber of a topic is, as a node tells each of its links. The
// Plexus (per attached transport), runtime/tcp (per peer of a listener) and
// runtime/multicast/internal/agree (per peer heard in HELLOs) all count with
// it, so that the rule, the cap and the contract below are written once.
//
// # The rule
//
// A node tells a link the distance to the nearest subscriber of a topic
// reached through the node:
//
//   - 1 when the node has local subscribers (for a transport: what the
//     Plexus advertised to it, which is 1 for local subscribers and more for
//     subscribers beyond other transports);
//   - otherwise one more than the nearest distance its other links report,
//     never the link's own report (split horizon);
//   - capped at [MaxHops]: a distance beyond it counts as none, which is
//     what ends interest circling a cycle of bridges once its subscriber is
//     gone;
//   - 0 means none.
//
// Reports outside 0..MaxHops count as 0 ([Clamp]), wherever they come from.
//
// # Cost
//
// [Counts] keeps, per topic, how many links report each distance, so that
// the nearest distance and the value told to any one link are computed in
// O(MaxHops), whatever the number of links; [Horizon] answers for many links
// after one O(MaxHops) read, in O(1) each. A change of one link's report
// costs O(1) to record, and telling every link what changed costs
// O(links), not O(links²).
//
// # Locking contract between Transport.Advertise and Host.SetInterest
//
// The Plexus calls Transport.Advertise while holding its own lock, and
// Host.SetInterest takes that lock and may call Advertise on every attached
// transport, the reporting one included, before it returns. Hence:
//
//   - Advertise must not block and must not call back into the Host.
//   - A transport must not hold, while it calls Host.SetInterest, any lock
//     that its Advertise takes: the Plexus may be waiting in Advertise for
//     that lock while holding its own, which SetInterest waits for.
//   - A transport's reports for a topic must reach the Host in the order of
//     the transitions they report, so that the last one the Host sees is the
//     current one. runtime/tcp serialises them with a report mutex taken
//     before its state mutex and never taken by Advertise; it computes a
//     report under the state mutex, releases it, then calls SetInterest
//     still holding the report mutex.
//   - The Plexus calls Advertise only on changes, in order, so a transport
//     may apply each call as the current value.
//
// The types here do no locking: their owners guard them with the locks
// above.
//
// # plexonats
//
// runtime/plexonats keeps its own copy of the per-distance counts
// (interest.go). It is a module of its own, and the Go toolchain lets it
// import this package only because its import path lies under the root
// module's: doing so would make plexonats depend on an internal API of
// whichever root version its go.mod selects, which nothing versions, so a
// root release that changed this package could break a plexonats release
// built against it. Its copy is a dozen lines; the root module's tests keep
// [MaxHops] equal to plexo.MaxHops.
package interest
