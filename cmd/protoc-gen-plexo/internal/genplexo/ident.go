package genplexo

import (
	"fmt"

	"google.golang.org/protobuf/compiler/protogen"
)

// packageIdents maps the package-level identifiers of one Go package to
// what declares them, such as "message foo.v1.Bar in foo/v1/bar.proto".
type packageIdents map[string]string

// checkIdentifiers reports every identifier generated for topics that
// collides with an identifier that protoc-gen-go declares in the same Go
// package, or with another generated identifier.
func checkIdentifiers(gen *protogen.Plugin, byFile map[*protogen.File][]*topic) []error {
	var errs []error
	packages := make(map[protogen.GoImportPath]packageIdents)
	for _, f := range gen.Files {
		topics := byFile[f]
		if len(topics) == 0 {
			continue
		}
		idents, ok := packages[f.GoImportPath]
		if !ok {
			idents = goIdents(gen, f.GoImportPath)
			packages[f.GoImportPath] = idents
		}
		for _, t := range topics {
			names := identifiers(t.msg.GoIdent.GoName)
			what := fmt.Sprintf("an identifier generated for message %s in %s", t.msg.Desc.FullName(), f.Desc.Path())
			for _, id := range [...]string{names.topicName, names.topic, names.publish, names.subscribe} {
				if prev, ok := idents[id]; ok {
					errs = append(errs, fmt.Errorf("%s: message %s: generated identifier %s collides with %s in Go package %s; rename one of the messages",
						f.Desc.Path(), t.msg.Desc.FullName(), id, prev, f.GoImportPath))
					continue
				}
				idents[id] = what
			}
		}
	}
	return errs
}

// goIdents returns the package-level identifiers that protoc-gen-go declares
// for the files of the request that belong to the Go package path.
func goIdents(gen *protogen.Plugin, path protogen.GoImportPath) packageIdents {
	idents := make(packageIdents)
	for _, f := range gen.Files {
		if f.GoImportPath != path {
			continue
		}
		in := " in " + f.Desc.Path()
		idents[f.GoDescriptorIdent.GoName] = "the file descriptor of " + f.Desc.Path()
		addEnums(idents, f.Enums, in)
		addExtensions(idents, f.Extensions, in)
		var walk func([]*protogen.Message)
		walk = func(msgs []*protogen.Message) {
			for _, m := range msgs {
				if m.Desc.IsMapEntry() {
					continue
				}
				idents[m.GoIdent.GoName] = fmt.Sprintf("message %s%s", m.Desc.FullName(), in)
				for _, field := range m.Fields {
					if field.Oneof != nil && !field.Oneof.Desc.IsSynthetic() {
						idents[field.GoIdent.GoName] = fmt.Sprintf("the oneof wrapper of field %s%s", field.Desc.FullName(), in)
					}
					if field.Desc.HasDefault() {
						idents["Default_"+m.GoIdent.GoName+"_"+field.GoName] = fmt.Sprintf("the default of field %s%s", field.Desc.FullName(), in)
					}
				}
				addEnums(idents, m.Enums, in)
				addExtensions(idents, m.Extensions, in)
				walk(m.Messages)
			}
		}
		walk(f.Messages)
	}
	return idents
}

// addEnums adds the identifiers protoc-gen-go declares for enums.
func addEnums(idents packageIdents, enums []*protogen.Enum, in string) {
	for _, e := range enums {
		what := fmt.Sprintf("enum %s%s", e.Desc.FullName(), in)
		idents[e.GoIdent.GoName] = what
		idents[e.GoIdent.GoName+"_name"] = what
		idents[e.GoIdent.GoName+"_value"] = what
		for _, v := range e.Values {
			idents[v.GoIdent.GoName] = fmt.Sprintf("enum value %s%s", v.Desc.FullName(), in)
		}
	}
}

// addExtensions adds the identifiers protoc-gen-go declares for extensions.
func addExtensions(idents packageIdents, exts []*protogen.Extension, in string) {
	for _, x := range exts {
		idents[x.GoIdent.GoName] = fmt.Sprintf("extension %s%s", x.Desc.FullName(), in)
	}
}
