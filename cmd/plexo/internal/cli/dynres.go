package cli

import (
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// typeResolver resolves google.protobuf.Any and extension types from the
// user's schema files, then from the types linked into the command.
type typeResolver struct {
	ty *dynamicpb.Types // nil without schema files
}

func newTypeResolver(files *protoregistry.Files) typeResolver {
	if files == nil {
		return typeResolver{}
	}
	return typeResolver{ty: dynamicpb.NewTypes(files)}
}

// dynamicResolver returns the resolver of r's schema files.
func dynamicResolver(r *resolver) typeResolver { return r.types }

func (t typeResolver) types() *dynamicpb.Types { return t.ty }

// FindMessageByName implements protoregistry.MessageTypeResolver.
func (t typeResolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if ty := t.types(); ty != nil {
		if mt, err := ty.FindMessageByName(name); err == nil {
			return mt, nil
		}
	}
	return protoregistry.GlobalTypes.FindMessageByName(name)
}

// FindMessageByURL implements protoregistry.MessageTypeResolver.
func (t typeResolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if ty := t.types(); ty != nil {
		if mt, err := ty.FindMessageByURL(url); err == nil {
			return mt, nil
		}
	}
	return protoregistry.GlobalTypes.FindMessageByURL(url)
}

// FindExtensionByName implements protoregistry.ExtensionTypeResolver.
func (t typeResolver) FindExtensionByName(field protoreflect.FullName) (protoreflect.ExtensionType, error) {
	if ty := t.types(); ty != nil {
		if xt, err := ty.FindExtensionByName(field); err == nil {
			return xt, nil
		}
	}
	return protoregistry.GlobalTypes.FindExtensionByName(field)
}

// FindExtensionByNumber implements protoregistry.ExtensionTypeResolver.
func (t typeResolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	if ty := t.types(); ty != nil {
		if xt, err := ty.FindExtensionByNumber(message, field); err == nil {
			return xt, nil
		}
	}
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}
