module github.com/plexo-go/plexo

go 1.26.0

require (
	go.uber.org/goleak v1.3.0
	google.golang.org/protobuf v1.36.12
	pgregory.net/rapid v1.3.0
)
