package plexoprom

import "testing"

func TestSnake(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Sent", "sent"},
		{"DecodeErrors", "decode_errors"},
		{"NAKsSent", "naks_sent"},
		{"NAKsReceived", "naks_received"},
		{"IDs", "ids"},
		{"BytesSent", "bytes_sent"},
		{"HTTPServer", "http_server"},
		{"ReceiveBuffer", "receive_buffer"},
		{"Gaps2", "gaps2"},
		{"Top10Topics", "top10_topics"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := snake(tc.in); got != tc.want {
				t.Errorf("snake(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
