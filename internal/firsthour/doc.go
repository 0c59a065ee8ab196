// Package firsthour holds the test of a new user's first hour: the README's
// "Generating code" section, followed command by command from an empty
// directory, with buf and with protoc, up to two processes talking over TCP.
// It has no code of its own; see firsthour_test.go.
package firsthour
