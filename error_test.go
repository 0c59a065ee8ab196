package plexo_test

import (
	htmltemplate "html/template"
	"reflect"
	"strings"
	"testing"
	texttemplate "text/template"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
)

func TestTopicTypeErrorSaysHowToFixIt(t *testing.T) {
	for _, c := range []struct {
		name       string
		bound, use reflect.Type
		want       []string
	}{
		{"two types", reflect.TypeFor[*wrapperspb.StringValue](), reflect.TypeFor[*wrapperspb.Int64Value](),
			[]string{"plexo: topic a.B.proto is bound to *wrapperspb.StringValue, not *wrapperspb.Int64Value: "}},
		// Two generated packages of one schema give types of one short name.
		{"one short name", reflect.TypeFor[*texttemplate.Template](), reflect.TypeFor[*htmltemplate.Template](),
			[]string{"bound to *text/template.Template, not *html/template.Template: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := (&plexo.TopicTypeError{Topic: "a.B.proto", Bound: c.bound, Used: c.use}).Error()
			for _, w := range append(c.want, "two generated packages of the same schema", "(plexo.v1.alias)", "strategy: all") {
				if !strings.Contains(msg, w) {
					t.Errorf("%q\ndoes not say %q", msg, w)
				}
			}
			if n := strings.Count(msg, "plexo: "); n != 1 {
				t.Errorf("%q has the prefix %d times", msg, n)
			}
		})
	}
}
