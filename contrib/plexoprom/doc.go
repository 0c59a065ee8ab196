// Package plexoprom exports a Plexus's statistics as Prometheus metrics.
package plexoprom
