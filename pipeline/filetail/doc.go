// Package filetail is flowship's file source: it follows the files Felix
// and the L7 collector write (spec §1), hands their lines on in
// pipeline.Batches, and keeps a positions file of acknowledged offsets.
//
// File identity is device + inode + a fingerprint of the first
// FingerprintSize bytes, so the tailer follows lumberjack rename rotation
// (the renamed file is drained to its end before the new live file is
// read), copytruncate (same inode, smaller size: read again from 0), inode
// reuse (same inode, other fingerprint: a new file) and deletion (an open
// file is read to its end). A line is passed on only once its newline is
// there; the unfinished end of a rotated file and the rest of it at the
// start of the next are counted as fragments (spec §1.2), never waited
// for. A line longer than MaxLineSize is skipped and counted.
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
// Why not github.com/nxadm/tail: its Line offsets come from Tell(), which
// it documents as inaccurate; on rotation it reopens the file by name as
// soon as the name points elsewhere, losing whatever was appended to the
// old file after the last read (the polling watcher checks identity before
// size); it does not expose the identity of the file it has open; it
// splits over-long lines instead of skipping them; and its inotify tracker
// is a process-wide goroutine that never ends. The tailer therefore reads
// with ReadAt at exact offsets and follows files by polling Stat, which is
// cheap at Felix's cadence (one burst per flush interval).
package filetail
