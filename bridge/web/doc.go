// Package web is natsock's page at "/": without the demo, a short page
// (HTML for a browser, text for curl) saying what natsock is, its
// version, and where to look; with `natsock serve --demo`, a page a
// person can use to watch and drive the bridge.
//
// # The demo
//
// The demo page connects to natsock with the socket.io-client 4.8.4
// browser bundle, embedded unchanged with its MIT license header and
// served at /demo/socket.io.min.js: the page exercises the same client the
// guide's users run, not a client of our own, and nothing comes from a
// CDN. It shows the connection's status and transport, every event the
// bridge emits to it as a toast and in a list, a form that emits an
// --inbound event (taskAssigned, with the guide's rules), the rules in use
// (/demo/config.json), and a chart of events a second and connected
// sockets, polled from /demo/stats.json: the totals of the same Prometheus
// registry /metrics serves (package metrics), so the chart and a scrape
// never disagree. Every asset is embedded with go:embed.
//
// A token in the page's URL (/?token=...) is sent in the CONNECT auth
// payload, for a natsock that authenticates. The demo is for trying
// natsock; it shows the rules to anyone who can load it, so it is off
// unless asked for.
package web
