package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

// FuzzPublish sends arbitrary bodies to POST /api/publish: each is
// published or refused with a client error, never a panic or a server
// error. Seeds are in testdata/fuzz/FuzzPublish.
func FuzzPublish(f *testing.F) {
	for _, seed := range []string{
		`{"topic":"plexotest.v1.Note.json","message":{"text":"hi","seq":"7"}}`,
		`{"topic":"plexotest.v1.Reading.proto","message":{"sensor":"s","place":{"room":"r"},"at":"2026-01-02T03:04:05Z"}}`,
		`{"topic":"plexotest.v1.Reading.proto","message":{"at":"not a time"}}`,
		`{"topic":"plexotest.v1.Note.json","message":[]}`,
		`{"topic":"","message":{}}`,
		`null`,
		``,
	} {
		f.Add(seed)
	}
	bn := newBench(f, Config{AllowPublish: true})
	waitTopic(f, bn.srv, plexotestv1.NoteTopicName)
	waitTopic(f, bn.srv, plexotestv1.ReadingTopicName)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/publish", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		bn.srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("body %q: status %d: %s", body, rec.Code, rec.Body.String())
		}
	})
}
