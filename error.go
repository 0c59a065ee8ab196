package plexo

import (
	"errors"
	"fmt"
	"reflect"
)

// Sentinel errors that callers can test for with [errors.Is]. Errors returned
// by this package wrap them with the operation and topic they concern, as in
// "plexo: publish brewery.sensors.v1.Temperature.proto: plexus closed".
var (
	// ErrClosed reports an operation on a closed Plexus, Subscription or
	// Transport.
	ErrClosed = errors.New("plexo: closed")

	// ErrNilMessage reports an attempt to publish a nil message.
	ErrNilMessage = errors.New("plexo: nil message")

	// ErrTopicType reports a topic name used with two different Go types in
	// one Plexus. See [TopicTypeError].
	ErrTopicType = errors.New("plexo: topic bound to another type")

	// ErrInvalidTopic reports a topic with an empty name, such as the zero
	// [Topic].
	ErrInvalidTopic = errors.New("plexo: invalid topic name")

	// ErrNilHandler reports a subscription without a handler.
	ErrNilHandler = errors.New("plexo: nil handler")

	// ErrMessageTooLarge reports an encoded message larger than a transport
	// accepts.
	ErrMessageTooLarge = errors.New("plexo: message too large")

	// ErrAttached reports a Transport attached to a second Plexus, or twice to
	// the same one.
	ErrAttached = errors.New("plexo: transport already attached")
)

// A TopicTypeError reports that a topic name is already bound, in one Plexus,
// to a Go type other than the one a caller used. It unwraps to [ErrTopicType].
type TopicTypeError struct {
	Topic string       // the topic name
	Bound reflect.Type // the type the Plexus bound the name to first
	Used  reflect.Type // the type of the rejected call
}

// Error names the topic and both types.
func (e *TopicTypeError) Error() string {
	return fmt.Sprintf("plexo: topic %s is bound to %v, not %v", e.Topic, e.Bound, e.Used)
}

// Unwrap returns [ErrTopicType].
func (e *TopicTypeError) Unwrap() error { return ErrTopicType }

// opError wraps err with the operation and topic it concerns.
func opError(op, topic string, err error) error {
	if topic == "" {
		return fmt.Errorf("plexo: %s: %w", op, err)
	}
	return fmt.Errorf("plexo: %s %s: %w", op, topic, err)
}
