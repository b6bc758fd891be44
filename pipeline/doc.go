// Package pipeline is flowship's shared vocabulary: the Record that moves
// between stages, the Batch that carries records with exactly one Ack, the
// one cross-package interface Consumer, the contiguous-watermark
// Checkpointer, and Retry with exponential backoff.
//
// It is a leaf package: it imports nothing from flowship.
package pipeline
