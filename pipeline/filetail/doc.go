// Package filetail is flowship's file source: it follows the files Felix
// and the L7 collector write (spec §1), hands their lines on in
// pipeline.Batches, and keeps a positions file of acknowledged offsets.
//
// File identity is device + inode + a fingerprint of the first
// FingerprintSize bytes, so the tailer follows lumberjack rename rotation
// (the renamed file is drained to its end before the new live file is
// read), copytruncate (same inode, smaller size: read again from 0; a copy
// under a matched name that starts with the truncated file's bytes takes
// over its reading position instead of being read from 0), inode
// reuse (same inode, other fingerprint: a new file) and deletion (an open
// file is read to its end). A file with several names (symlink, hard
// link) is read once. A line is passed on only once its newline is
// there; the unfinished end of a rotated file and the rest of it at the
// start of the next are counted as fragments (spec §1.2), never waited
// for. A line longer than MaxLineSize is skipped, counted, and written to
// the dead-letter log (SetDeadLetter) as a sample with file and offset.
// A file that cannot be opened or read is counted, logged (rate-limited)
// and retried every PollInterval.
//
// Every line carries its file's identity in pipeline.Record.File (device,
// inode and a hash of the first line, kept in the positions file), which
// later stages use to remember a place in the input: a new file at an old
// path is another file, a renamed one is the same.
//
// Restart: a saved position goes to the file with its inode and
// fingerprint under whatever name; failing that, to a file under another
// inode that starts with the same bytes and is at least as long (a copy:
// copytruncate while stopped), which goes on at the saved offset with the
// original's identity. Every other file is read from its first byte. A
// saved offset past the end of a file whose first bytes still match is
// logged, counted, and the file is read again from the start.
//
// Offsets move only on acknowledgement: each batch's Ack resolves an
// entry of the file's pipeline.Checkpointer, and the positions file holds
// the contiguous watermark only. It is written atomically (temporary file,
// fsync, rename, directory fsync) every PositionsInterval when changed and
// at shutdown, together with an opaque state another stage attaches with
// SetState. Optionally the live files' positions are also written in
// fluentd in_tail format for Felix dynamic aggregation (spec §3.6), and a
// fluentd pos file can be imported on first start (ImportFluentdPos).
//
// Why not github.com/nxadm/tail (read in its source, v1.4 line):
//   - Its reopen drops a rotated file's unread rest: in tail.go,
//     waitForChanges answers the watcher's Deleted event (sent by
//     watch/polling.go ChangeEvents as soon as os.SameFile says the name
//     points to another file, checked before the size; by watch/inotify.go
//     ChangeEvents on a Rename event) by calling reopen, which closes the
//     old descriptor and opens the name again without reading what was
//     appended to the old file after the last read.
//   - A failed stat ends the process: both ChangeEvents implementations
//     call util.Fatal (util/util.go), which calls os.Exit(1), when
//     os.Stat fails with anything but "not exist".
//   - The open file's identity is hidden: Tail.file is unexported and a
//     Line holds Text, Num, SeekInfo, Time and Err only, so a consumer
//     cannot tell which inode a line came from or match a saved offset to
//     a file after a rename.
//   - Long lines are split: sendLine cuts a line longer than MaxLineSize
//     into several Lines (util.PartitionString) instead of skipping it.
//
// Its Line.SeekInfo offset is not the problem: sendLine takes it from
// Tell (descriptor offset minus what bufio still buffers) right after
// reading a whole line, so it is the exact end of that line. The tailer
// therefore reads with ReadAt at exact offsets and follows files by
// polling Stat, which is cheap at Felix's cadence (one burst per flush
// interval).
package filetail
