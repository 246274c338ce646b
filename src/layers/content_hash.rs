//! The sha256 of every regular file of a layer, computed on a thread of its own beside the
//! inflating and parsing: on two cores a listing would otherwise spend about half again the
//! time of inflating alone.
//!
//! The parser reads file contents straight into a batch buffer (no copy) and marks where
//! each file ends; a batch goes to the hashing thread when it holds [`BATCH_BYTES`]. Most
//! files in a layer are small, and one message (and one thread wake-up) per file or per
//! chunk cost more than the hashing saved. Batches come back through a second channel to be
//! filled again, so memory stays a few batches whatever the layer's size, and the digests
//! come back in file order.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest as _, Sha256};

/// A batch is sent once it holds this many bytes.
const BATCH_BYTES: usize = 256 * 1024;
/// The most one read appends to a batch.
const READ_BYTES: usize = 128 * 1024;
/// Batches waiting for the hashing thread. With the one being filled and the one being
/// hashed, at most `QUEUED + 2` batches exist: 2.25 MiB. The hashing thread keeps up with
/// inflating, so a longer queue would only hold more memory.
const QUEUED: usize = 4;

/// File bytes back to back, and where each file ends.
struct Batch {
    bytes: Vec<u8>,
    len: usize,
    /// Offsets in `bytes[..len]` where a file ends; the bytes after the last one belong to a
    /// file that goes on in the next batch.
    ends: Vec<usize>,
}

impl Batch {
    fn new() -> Self {
        Self {
            bytes: vec![0; BATCH_BYTES + READ_BYTES],
            len: 0,
            ends: Vec::new(),
        }
    }
}

/// The feeding end: owned by the parser.
pub(crate) struct ContentHashes {
    current: Batch,
    tx: SyncSender<Batch>,
    free: Receiver<Batch>,
    thread: JoinHandle<Vec<String>>,
}

impl ContentHashes {
    pub(crate) fn start() -> Self {
        let (tx, rx) = sync_channel::<Batch>(QUEUED);
        let (back, free) = sync_channel::<Batch>(QUEUED + 2);
        let thread = std::thread::spawn(move || {
            let mut digests = Vec::new();
            let mut hasher = Sha256::new();
            for mut batch in rx {
                let mut start = 0;
                for &end in &batch.ends {
                    hasher.update(&batch.bytes[start..end]);
                    digests.push(hex::encode(std::mem::take(&mut hasher).finalize()));
                    start = end;
                }
                hasher.update(&batch.bytes[start..batch.len]);
                batch.len = 0;
                batch.ends.clear();
                // The parser may be gone (it failed); the batch is then simply dropped.
                let _ = back.try_send(batch);
            }
            digests
        });
        Self {
            current: Batch::new(),
            tx,
            free,
            thread,
        }
    }

    /// Reads at most `want` (and at most [`READ_BYTES`]) bytes of the current file from
    /// `reader` straight into the batch; returns the bytes read, 0 at the end of the input.
    pub(crate) fn read_from(&mut self, reader: &mut impl Read, want: u64) -> io::Result<usize> {
        let want = want.min(READ_BYTES as u64) as usize;
        let at = self.current.len;
        let n = loop {
            match reader.read(&mut self.current.bytes[at..at + want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        self.current.len += n;
        self.flush_if_full();
        Ok(n)
    }

    /// Adds bytes of the current file (the zeros of a sparse file's holes).
    pub(crate) fn bytes(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            let at = self.current.len;
            let n = chunk.len().min(READ_BYTES);
            self.current.bytes[at..at + n].copy_from_slice(&chunk[..n]);
            self.current.len += n;
            chunk = &chunk[n..];
            self.flush_if_full();
        }
    }

    /// The current file ended: its digest is the next one [`Self::finish`] returns.
    pub(crate) fn end_file(&mut self) {
        self.current.ends.push(self.current.len);
    }

    fn flush_if_full(&mut self) {
        if self.current.len >= BATCH_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let next = self.free.try_recv().unwrap_or_else(|_| Batch::new());
        let full = std::mem::replace(&mut self.current, next);
        // A send fails only when the thread is gone; then `finish` reports it.
        let _ = self.tx.send(full);
    }

    /// The sha256 (hex) of each file, in the order they ended.
    pub(crate) fn finish(mut self) -> io::Result<Vec<String>> {
        if self.current.len > 0 || !self.current.ends.is_empty() {
            self.flush();
        }
        drop(self.tx);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the hashing thread failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_hex(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn files_across_and_within_batches_hash_as_sha256_of_each() {
        // Sizes around the batch and read sizes, empty files among them, and one file
        // spanning several batches.
        let sizes = [
            0,
            1,
            511,
            READ_BYTES,
            READ_BYTES + 1,
            BATCH_BYTES - 1,
            0,
            3 * BATCH_BYTES + 17,
            5,
        ];
        let files: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (j * 31 + i * 7) as u8).collect())
            .collect();
        let mut hashes = ContentHashes::start();
        for (i, file) in files.iter().enumerate() {
            if i % 2 == 0 {
                let mut reader = &file[..];
                let mut left = file.len() as u64;
                while left > 0 {
                    let n = hashes.read_from(&mut reader, left).expect("read");
                    assert!(n > 0);
                    left -= n as u64;
                }
            } else {
                hashes.bytes(file);
            }
            hashes.end_file();
        }
        let got = hashes.finish().expect("digests");
        let want: Vec<String> = files.iter().map(|f| sha256_hex(f)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn no_files_no_digests() {
        assert!(ContentHashes::start().finish().expect("digests").is_empty());
    }
}
