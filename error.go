package plexo

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Sentinel errors that callers can test for with [errors.Is]. Errors returned
// by this package wrap them with the operation and topic they concern, as in
// "plexo: publish brewery.sensors.v1.Temperature.proto: closed".
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

// Error names the topic and both types (with their package paths when their
// short names are the same), and says how to fix it.
func (e *TopicTypeError) Error() string {
	bound, used := fmt.Sprint(e.Bound), fmt.Sprint(e.Used)
	if bound == used {
		bound, used = qualifiedName(e.Bound), qualifiedName(e.Used)
	}
	return fmt.Sprintf("plexo: topic %s is bound to %s, not %s: a topic name takes one Go type per Plexus."+
		" Two types for one name come from two generated packages of the same schema (import only one of them)"+
		" or from two messages with one topic name (give one another name with the (plexo.v1.alias) or"+
		" (plexo.v1.namespace) option, and generate all schemas in one run, with buf's strategy: all,"+
		" so that protoc-gen-plexo reports the collision)", e.Topic, bound, used)
}

// qualifiedName names t with its package path, as in
// "*example.com/gen/sensorsv1.Temperature".
func qualifiedName(t reflect.Type) string {
	if t == nil {
		return "<nil>"
	}
	stars := ""
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		stars += "*"
		t = t.Elem()
	}
	if t.PkgPath() == "" {
		return stars + t.String()
	}
	return stars + t.PkgPath() + "." + t.Name()
}

// Unwrap returns [ErrTopicType].
func (e *TopicTypeError) Unwrap() error { return ErrTopicType }

// opError wraps err with the operation and topic it concerns, as in
// "plexo: publish brewery.sensors.v1.Temperature.proto: closed".
func opError(op, topic string, err error) error {
	return &operationError{op: op, topic: topic, err: err}
}

// An operationError is an error of one operation of this package. It prints
// the package prefix once, even when it wraps one of the sentinels above.
type operationError struct {
	op, topic string
	err       error
}

func (e *operationError) Error() string {
	var b strings.Builder
	b.WriteString("plexo: ")
	b.WriteString(e.op)
	if e.topic != "" {
		b.WriteByte(' ')
		b.WriteString(e.topic)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.err.Error(), "plexo: "))
	return b.String()
}

func (e *operationError) Unwrap() error { return e.err }
