package sio

import (
	"errors"
	"fmt"
)

// MaxDepth is how deeply arrays and objects may nest in a packet's JSON.
// Deeper input is refused rather than walked.
const MaxDepth = 128

// Errors from the JSON scanner.
var (
	ErrBadJSON  = errors.New("sio: invalid JSON")
	ErrTooDeep  = errors.New("sio: JSON nested too deeply")
	ErrNotArray = errors.New("sio: JSON is not an array")
)

// SplitArray validates that b is exactly one JSON array (surrounding white
// space allowed) and returns its elements as subslices of b, in order.
func SplitArray(b []byte) ([][]byte, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, ErrNotArray
	}
	var elems [][]byte
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			start := i
			end, err := scanValue(b, i, 1)
			if err != nil {
				return nil, err
			}
			elems = append(elems, b[start:end])
			i = skipSpace(b, end)
			if i >= len(b) {
				return nil, fmt.Errorf("%w: unterminated array", ErrBadJSON)
			}
			if b[i] == ']' {
				i++
				break
			}
			if b[i] != ',' {
				return nil, fmt.Errorf("%w: want ',' or ']' at offset %d", ErrBadJSON, i)
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return nil, fmt.Errorf("%w: trailing data at offset %d", ErrBadJSON, i)
	}
	return elems, nil
}

// ValidJSON reports nil if b is exactly one JSON value (white space allowed
// around it) nested at most MaxDepth deep.
func ValidJSON(b []byte) error {
	i := skipSpace(b, 0)
	end, err := scanValue(b, i, 0)
	if err != nil {
		return err
	}
	if skipSpace(b, end) != len(b) {
		return fmt.Errorf("%w: trailing data at offset %d", ErrBadJSON, end)
	}
	return nil
}

// jsonKind is the kind of the JSON value that starts b (after white space):
// one of '{', '[', '"', 'n', 't', 'f', '0' (number), or 0 when empty.
func jsonKind(b []byte) byte {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return 0
	}
	switch c := b[i]; c {
	case '{', '[', '"', 'n', 't', 'f':
		return c
	default:
		return '0'
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue validates the JSON value starting at b[i] and returns the index
// just past it. depth counts the containers already open around it.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, fmt.Errorf("%w: unexpected end", ErrBadJSON)
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			return 0, ErrTooDeep
		}
		return scanContainer(b, i, depth+1)
	case c == '"':
		return scanString(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	}
	return 0, fmt.Errorf("%w: unexpected %q at offset %d", ErrBadJSON, b[i], i)
}

func scanContainer(b []byte, i, depth int) (int, error) {
	closer := byte(']')
	object := b[i] == '{'
	if object {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		var err error
		if object {
			if i >= len(b) || b[i] != '"' {
				return 0, fmt.Errorf("%w: want object key at offset %d", ErrBadJSON, i)
			}
			if i, err = scanString(b, i); err != nil {
				return 0, err
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return 0, fmt.Errorf("%w: want ':' at offset %d", ErrBadJSON, i)
			}
			i = skipSpace(b, i+1)
		}
		if i, err = scanValue(b, i, depth); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, fmt.Errorf("%w: unterminated container", ErrBadJSON)
		}
		if b[i] == closer {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, fmt.Errorf("%w: want ',' at offset %d", ErrBadJSON, i)
		}
		i = skipSpace(b, i+1)
	}
}

func scanString(b []byte, i int) (int, error) {
	i++ // opening quote
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return 0, fmt.Errorf("%w: unterminated escape", ErrBadJSON)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return 0, fmt.Errorf("%w: bad \\u escape at offset %d", ErrBadJSON, i)
				}
				i += 6
			default:
				return 0, fmt.Errorf("%w: bad escape at offset %d", ErrBadJSON, i)
			}
		case c < 0x20:
			return 0, fmt.Errorf("%w: control character in string at offset %d", ErrBadJSON, i)
		default:
			i++
		}
	}
	return 0, fmt.Errorf("%w: unterminated string", ErrBadJSON)
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, fmt.Errorf("%w: bad literal at offset %d", ErrBadJSON, i)
	}
	return i + len(lit), nil
}

func scanNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return 0, fmt.Errorf("%w: bad number at offset %d", ErrBadJSON, start)
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, fmt.Errorf("%w: bad fraction at offset %d", ErrBadJSON, start)
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, fmt.Errorf("%w: bad exponent at offset %d", ErrBadJSON, start)
		}
		i = j
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
