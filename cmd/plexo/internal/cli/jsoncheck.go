package cli

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkJSON walks JSON text against a message descriptor before protojson
// decodes it, to name the field of a type mismatch that protojson reports
// only by position: "field place: want an object, got 3". It accepts what
// protojson accepts; what it does not know (well-known types with their own
// JSON forms) it leaves to protojson.
func checkJSON(text []byte, md protoreflect.MessageDescriptor) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // protojson reports syntax errors with their position
	}
	return checkMessage(v, md, "")
}

func checkMessage(v any, md protoreflect.MessageDescriptor, path string) error {
	if md.FullName().Parent() == "google.protobuf" {
		return nil // well-known types have their own JSON forms
	}
	obj, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil
		}
		return mismatch(path, "an object", v)
	}
	fields := md.Fields()
	for key, val := range obj {
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByTextName(key)
		}
		if fd == nil {
			return fmt.Errorf("unknown field %q (no such field in %s)", join(path, key), md.FullName())
		}
		if err := checkField(val, fd, join(path, key)); err != nil {
			return err
		}
	}
	return nil
}

func checkField(v any, fd protoreflect.FieldDescriptor, path string) error {
	if v == nil {
		return nil
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch(path, "an object (map)", v)
		}
		for k, val := range obj {
			if err := checkSingular(val, fd.MapValue(), path+"["+k+"]"); err != nil {
				return err
			}
		}
		return nil
	case fd.IsList():
		arr, ok := v.([]any)
		if !ok {
			return mismatch(path, "an array", v)
		}
		for i, val := range arr {
			if err := checkSingular(val, fd, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return checkSingular(v, fd, path)
}

func checkSingular(v any, fd protoreflect.FieldDescriptor, path string) error {
	if v == nil {
		return nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return checkMessage(v, fd.Message(), path)
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return mismatch(path, "true or false", v)
		}
	case protoreflect.StringKind, protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			return mismatch(path, "a string", v)
		}
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return nil
		}
		switch e := v.(type) {
		case string:
			if fd.Enum().Values().ByName(protoreflect.Name(e)) == nil {
				return fmt.Errorf("field %s: %q is not a value of enum %s", path, e, fd.Enum().FullName())
			}
		case json.Number:
		default:
			return mismatch(path, "an enum value name or number", v)
		}
	default: // numbers: JSON numbers, or strings ("12", "NaN")
		switch v.(type) {
		case json.Number, string:
		default:
			return mismatch(path, "a number", v)
		}
	}
	return nil
}

func mismatch(path, want string, got any) error {
	b, _ := json.Marshal(got)
	if len(b) > 40 {
		b = append(b[:37], "..."...)
	}
	return fmt.Errorf("field %s: want %s, got %s", path, want, b)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
