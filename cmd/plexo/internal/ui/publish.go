package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/plexo-go/plexo"
)

// template answers GET /api/template?topic=T with a message of the topic's
// type as JSON, every field present, for the publish editor to start from.
func (s *Server) template(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topic := q.Get("topic")
	if len(q) != 1 || !plexo.ValidTopicName(topic) {
		http.Error(w, "template: the query is topic=NAME, a valid topic name", http.StatusBadRequest)
		return
	}
	typ, err := s.resolve(r.Context(), topic)
	if err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusNotFound)
		return
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: true, Resolver: typ.types}.Marshal(example(typ.md, 0))
	if err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// publishRequest is the body of POST /api/publish.
type publishRequest struct {
	Topic   string          `json:"topic"`
	Message json.RawMessage `json:"message"`
}

// publish answers POST /api/publish: it encodes the JSON message with the
// topic's type and codec and publishes it. It is refused unless
// Config.AllowPublish, and from another origin.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.AllowPublish {
		http.Error(w, "publish: publishing is off (start plexo ui with --allow-publish)", http.StatusForbidden)
		return
	}
	if !sameOrigin(r) {
		http.Error(w, "publish: cross-origin request refused", http.StatusForbidden)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		http.Error(w, "publish: Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var req publishRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "publish: malformed request: "+err.Error(), status)
		return
	}
	if dec.More() {
		http.Error(w, "publish: malformed request: more than one JSON value", http.StatusBadRequest)
		return
	}
	if !plexo.ValidTopicName(req.Topic) || plexo.ReservedTopic(req.Topic) || len(req.Message) == 0 {
		http.Error(w, "publish: the request needs a topic (a valid name, not reserved) and a message", http.StatusBadRequest)
		return
	}
	typ, err := s.resolve(r.Context(), req.Topic)
	if err != nil {
		http.Error(w, "publish: "+err.Error(), http.StatusNotFound)
		return
	}
	msg := dynamicpb.NewMessage(typ.md)
	if err := (protojson.UnmarshalOptions{Resolver: typ.types}).Unmarshal(req.Message, msg); err != nil {
		http.Error(w, "publish: the message does not fit "+string(typ.md.FullName())+": "+err.Error(), http.StatusBadRequest)
		return
	}
	var payload []byte
	switch typ.codec {
	case plexo.CodecNameProto:
		payload, err = proto.Marshal(msg)
	case plexo.CodecNameJSON:
		payload, err = protojson.MarshalOptions{Resolver: typ.types}.Marshal(msg)
	default:
		http.Error(w, "publish: the page cannot encode codec "+typ.codec, http.StatusBadRequest)
		return
	}
	if err == nil {
		if err = s.p.DescribeTopic(req.Topic, typ.md); err == nil {
			err = s.p.PublishRaw(r.Context(), req.Topic, payload)
		}
	}
	if err != nil {
		http.Error(w, "publish: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.cfg.Logger.Info("ui: published from the page", "topic", req.Topic, "bytes", len(payload), "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"topic": req.Topic, "size": len(payload)})
}

// sameOrigin reports whether a request comes from the page itself: without
// an Origin header (not a browser's cross-site request), or with one whose
// host is the request's.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// maxExampleDepth bounds how deep example fills nested messages.
const maxExampleDepth = 4

// example returns an empty message of type md whose singular message
// fields, outside oneofs, hold empty messages in turn, so that the editor
// shows their fields too.
func example(md protoreflect.MessageDescriptor, depth int) *dynamicpb.Message {
	m := dynamicpb.NewMessage(md)
	if depth >= maxExampleDepth {
		return m
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Message() == nil || fd.IsList() || fd.IsMap() || fd.ContainingOneof() != nil || fd.Message().FullName() == md.FullName() {
			continue
		}
		if name := fd.Message().FullName(); strings.HasPrefix(string(name), "google.protobuf.") && name != "google.protobuf.Timestamp" && name != "google.protobuf.Duration" {
			continue // Any, Struct, Value and the wrappers have no useful empty form
		}
		m.Set(fd, protoreflect.ValueOfMessage(example(fd.Message(), depth+1)))
	}
	return m
}
