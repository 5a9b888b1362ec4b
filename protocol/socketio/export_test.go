package socketio

// ParseResume exposes the CONNECT auth's recovery fields reader to the
// black-box tests (FuzzParseResume).
var ParseResume = parseResume
