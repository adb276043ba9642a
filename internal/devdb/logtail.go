package devdb

import (
	"io"
	"os"
	"strings"
)

// logTailWindow bounds how much of the log is read for an error message.
const logTailWindow = 64 << 10

// logTail returns the last n lines that were written to the log at path
// from offset on: what one server start wrote, not earlier runs.
func logTail(path string, offset int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(cannot read the log: " + err.Error() + ")"
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size()-offset > logTailWindow {
		offset = info.Size() - logTailWindow
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "(cannot read the log: " + err.Error() + ")"
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return "(cannot read the log: " + err.Error() + ")"
	}
	if tail := lastLines(string(b), n); tail != "" {
		return tail
	}
	return "(the log is empty)"
}

// lastLines returns the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
