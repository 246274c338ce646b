//! A streaming tar reader of our own: one pass, headers parsed as GNU tar and Go's
//! `archive/tar` do (ustar, GNU, PAX, GNU long names, old GNU sparse, base-256 numbers),
//! regular files hashed on the way, and every buffer bounded by [`Limits`]. The `tar` crate
//! reads long-name and PAX members whole into memory with no cap, which a hostile layer
//! turns into an allocation of any size; here they are refused past
//! [`Limits::max_header_bytes`].

use std::collections::HashMap;
use std::io::{self, Read};

use super::content_hash::ContentHashes;
use super::entry::{Entry, EntryKind, normalize_path};

const BLOCK: usize = 512;

/// Caps against hostile archives. Memory grows with the entry count and name bytes only,
/// never with file sizes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    /// Bytes of all paths and link targets together.
    pub max_name_bytes: u64,
    /// Bytes of the uncompressed tar (holes of sparse files included): a decompression bomb
    /// stops here.
    pub max_tar_bytes: u64,
    /// Bytes of one PAX or GNU long-name member.
    pub max_header_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 1_000_000,
            max_name_bytes: 256 * 1024 * 1024,
            max_tar_bytes: 64 * 1024 * 1024 * 1024,
            max_header_bytes: 1024 * 1024,
        }
    }
}

/// Why an archive could not be listed.
#[derive(Debug)]
pub enum TarError {
    /// Reading failed (the download broke off, the decompressor found corrupt data).
    Io(io::Error),
    /// The tar structure is broken (bad checksum, impossible size, truncated member).
    Corrupt(String),
    TooManyEntries(usize),
    TooManyNameBytes(u64),
    TooLarge(u64),
    HeaderTooLarge(u64),
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            TarError::Corrupt("the archive ends in the middle of a member".into())
        } else {
            TarError::Io(e)
        }
    }
}

/// Counts every byte read, against [`Limits::max_tar_bytes`].
struct Counted<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Counted<R> {
    fn exact(&mut self, buf: &mut [u8]) -> Result<(), TarError> {
        self.inner.read_exact(buf)?;
        self.add(buf.len() as u64)
    }

    fn add(&mut self, n: u64) -> Result<(), TarError> {
        self.read = self.read.saturating_add(n);
        if self.read > self.limit {
            return Err(TarError::TooLarge(self.limit));
        }
        Ok(())
    }

    /// Reads `len` bytes in chunks, giving each to `each`.
    fn stream(
        &mut self,
        mut len: u64,
        buf: &mut [u8],
        mut each: impl FnMut(&[u8]),
    ) -> Result<(), TarError> {
        while len > 0 {
            let want = len.min(buf.len() as u64) as usize;
            let n = self.inner.read(&mut buf[..want])?;
            if n == 0 {
                return Err(TarError::Corrupt(
                    "the archive ends in the middle of a member".into(),
                ));
            }
            self.add(n as u64)?;
            each(&buf[..n]);
            len -= n as u64;
        }
        Ok(())
    }

    /// Reads `len` bytes of a regular file straight into the content hashes.
    fn stream_hashed(&mut self, mut len: u64, hashes: &mut ContentHashes) -> Result<(), TarError> {
        while len > 0 {
            let n = hashes.read_from(&mut self.inner, len)?;
            if n == 0 {
                return Err(TarError::Corrupt(
                    "the archive ends in the middle of a member".into(),
                ));
            }
            self.add(n as u64)?;
            len -= n as u64;
        }
        Ok(())
    }

    /// Reads to the end (the end-of-archive padding, anything after it), counted.
    fn drain(&mut self, buf: &mut [u8]) -> Result<(), TarError> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(());
            }
            self.add(n as u64)?;
        }
    }
}

/// Parses a tar stream, calling `on_entry` for each member in order, and reads `reader` to
/// its end. Returns the bytes read.
pub fn read_entries<R: Read>(
    reader: R,
    limits: &Limits,
    mut on_entry: impl FnMut(Entry) -> Result<(), TarError>,
) -> Result<u64, TarError> {
    let mut r = Counted {
        inner: reader,
        read: 0,
        limit: limits.max_tar_bytes,
    };
    let mut buf = vec![0u8; 128 * 1024];
    let mut header = [0u8; BLOCK];
    let mut entries = 0usize;
    let mut name_bytes = 0u64;
    let mut pax: HashMap<String, String> = HashMap::new();
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut hashes = ContentHashes::start();
    // Entries wait here for their file hashes (`true`: one comes from the content hashes).
    let mut listed: Vec<(Entry, bool)> = Vec::new();
    loop {
        // A clean end of input at a member boundary ends the archive too (GNU tar accepts
        // it); a compressed layer's own trailer and the digest catch a real truncation.
        let first = read_some(&mut r.inner, &mut header)?;
        if first == 0 {
            break;
        }
        if first < BLOCK {
            return Err(TarError::Corrupt(
                "the archive ends in the middle of a header".into(),
            ));
        }
        r.add(BLOCK as u64)?;
        let at = r.read - BLOCK as u64;
        if header.iter().all(|&b| b == 0) {
            r.drain(&mut buf)?;
            break;
        }
        check_sum(&header, at)?;
        let flag = header[156];
        let gnu_format = &header[257..265] == b"ustar  \0";
        let size = match pax.get("size") {
            Some(s) if !is_extension(flag) => s
                .parse::<u64>()
                .map_err(|_| TarError::Corrupt(format!("bad PAX size {s:?} at offset {at}")))?,
            _ => number(&header[124..136], "size", at)?,
        };
        match flag {
            b'x' | b'g' | b'L' | b'K' => {
                if size > limits.max_header_bytes {
                    return Err(TarError::HeaderTooLarge(limits.max_header_bytes));
                }
                let mut data = Vec::with_capacity(size as usize);
                r.stream(size, &mut buf, |chunk| data.extend_from_slice(chunk))?;
                skip_padding(&mut r, size, &mut buf)?;
                match flag {
                    b'x' => parse_pax(&data, &mut pax, at)?,
                    b'L' => long_name = Some(trim_nul(data)),
                    b'K' => long_link = Some(trim_nul(data)),
                    _ => {} // global PAX headers: nothing regatta keeps
                }
                continue;
            }
            _ => {}
        }
        entries += 1;
        if entries > limits.max_entries {
            return Err(TarError::TooManyEntries(limits.max_entries));
        }
        let raw_name = match (pax.remove("path"), long_name.take()) {
            (Some(p), _) => p.into_bytes(),
            (None, Some(l)) => l,
            (None, None) => {
                let name = field(&header[0..100]);
                let prefix = field(&header[345..500]);
                if !gnu_format && &header[257..263] == b"ustar\0" && !prefix.is_empty() {
                    let mut joined = prefix.to_vec();
                    joined.push(b'/');
                    joined.extend_from_slice(name);
                    joined
                } else {
                    name.to_vec()
                }
            }
        };
        let raw_link = match (pax.remove("linkpath"), long_link.take()) {
            (Some(p), _) => p.into_bytes(),
            (None, Some(l)) => l,
            (None, None) => field(&header[157..257]).to_vec(),
        };
        let v7_dir = flag == 0 && raw_name.last() == Some(&b'/');
        let kind = match flag {
            b'0' | 0 | b'7' | b'S' if !v7_dir => EntryKind::File,
            b'5' | 0 => EntryKind::Dir,
            b'1' => EntryKind::Hardlink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            b'6' => EntryKind::Fifo,
            _ => EntryKind::Other,
        };
        let path = normalize_path(&String::from_utf8_lossy(&raw_name));
        let link = match kind {
            EntryKind::Symlink => Some(String::from_utf8_lossy(&raw_link).into_owned()),
            EntryKind::Hardlink => Some(normalize_path(&String::from_utf8_lossy(&raw_link))),
            _ => None,
        };
        name_bytes = name_bytes
            .saturating_add(path.len() as u64)
            .saturating_add(link.as_ref().map_or(0, |l| l.len() as u64));
        if name_bytes > limits.max_name_bytes {
            return Err(TarError::TooManyNameBytes(limits.max_name_bytes));
        }
        let pax_number = |key: &str| -> Option<i64> {
            pax.get(key)
                .and_then(|v| v.split('.').next())
                .and_then(|v| v.parse().ok())
        };
        let uid = match pax_number("uid") {
            Some(v) => v.max(0) as u64,
            None => number(&header[108..116], "uid", at)?,
        };
        let gid = match pax_number("gid") {
            Some(v) => v.max(0) as u64,
            None => number(&header[116..124], "gid", at)?,
        };
        let mtime = match pax_number("mtime") {
            Some(v) => v,
            None => signed(&header[136..148], "mtime", at)?,
        };
        let mode = (number(&header[100..108], "mode", at)? & 0o7777) as u32;
        let device = match kind {
            EntryKind::CharDevice | EntryKind::BlockDevice => Some((
                number(&header[329..337], "devmajor", at)? as u32,
                number(&header[337..345], "devminor", at)? as u32,
            )),
            _ => None,
        };
        let mut entry = Entry {
            path,
            kind,
            size,
            mode,
            uid,
            gid,
            mtime,
            link,
            device,
            sha256: None,
            sparse: false,
        };
        // PAX sparse formats (GNU tar --sparse-version=1.0 and 0.x): the real name and size
        // are in the PAX records; the content is not expanded for hashing.
        if let Some(name) = pax.remove("GNU.sparse.name") {
            entry.path = normalize_path(&name);
            entry.sparse = true;
        }
        if let Some(real) = pax
            .remove("GNU.sparse.realsize")
            .or_else(|| pax.remove("GNU.sparse.size"))
        {
            entry.size = real.parse().map_err(|_| {
                TarError::Corrupt(format!("bad sparse size {real:?} at offset {at}"))
            })?;
            entry.sparse = true;
        }
        pax.clear();
        // Members with no data section whatever their size field says (as Go's reader).
        let data = match kind {
            EntryKind::File | EntryKind::Other => size,
            _ => 0,
        };
        let hashed = if flag == b'S' {
            read_old_gnu_sparse(&mut r, &header, data, &mut entry, &mut buf, at, &mut hashes)?;
            true
        } else if kind == EntryKind::File && !entry.sparse {
            r.stream_hashed(data, &mut hashes)?;
            hashes.end_file();
            true
        } else {
            r.stream(data, &mut buf, |_| {})?;
            false
        };
        skip_padding(&mut r, data, &mut buf)?;
        listed.push((entry, hashed));
    }
    let mut hashes = hashes.finish()?.into_iter();
    for (mut entry, hashed) in listed {
        if hashed {
            entry.sha256 = hashes.next();
        }
        on_entry(entry)?;
    }
    Ok(r.read)
}

fn is_extension(flag: u8) -> bool {
    matches!(flag, b'x' | b'g' | b'L' | b'K')
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, TarError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(TarError::Io(e)),
        }
    }
    Ok(filled)
}

fn skip_padding<R: Read>(r: &mut Counted<R>, size: u64, buf: &mut [u8]) -> Result<(), TarError> {
    let pad = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
    r.stream(pad, buf, |_| {})
}

/// The header checksum: the sum of its bytes with the checksum field read as spaces,
/// unsigned (POSIX) or signed (some old writers).
fn check_sum(header: &[u8; BLOCK], at: u64) -> Result<(), TarError> {
    let stored = number(&header[148..156], "checksum", at)?;
    // Sums over the whole block (they vectorize), then the field swapped for 8 spaces.
    let field = &header[148..156];
    let spaces = 8 * u64::from(b' ');
    let unsigned = header.iter().map(|&b| u64::from(b)).sum::<u64>()
        - field.iter().map(|&b| u64::from(b)).sum::<u64>()
        + spaces;
    let signed = header.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        - field.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        + spaces as i64;
    if stored == unsigned || stored as i64 == signed {
        Ok(())
    } else {
        Err(TarError::Corrupt(format!(
            "the header at offset {at} has a bad checksum (not a tar archive, or corrupt)"
        )))
    }
}

/// A NUL-terminated header field.
fn field(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn trim_nul(mut data: Vec<u8>) -> Vec<u8> {
    while data.last() == Some(&0) {
        data.pop();
    }
    data
}

/// A numeric field: octal (NUL- or space-terminated) or GNU base-256 (high bit set).
fn number(bytes: &[u8], what: &str, at: u64) -> Result<u64, TarError> {
    let v = signed(bytes, what, at)?;
    u64::try_from(v)
        .map_err(|_| TarError::Corrupt(format!("negative {what} in the header at offset {at}")))
}

fn signed(bytes: &[u8], what: &str, at: u64) -> Result<i64, TarError> {
    let bad = || TarError::Corrupt(format!("bad {what} field in the header at offset {at}"));
    if let Some(&first) = bytes.first()
        && first & 0x80 != 0
    {
        // Base-256, two's complement; 0xff starts a negative number.
        let negative = first == 0xff;
        let mut v: i128 = if negative {
            -1
        } else {
            i128::from(first & 0x7f)
        };
        for &b in &bytes[1..] {
            v = v.checked_mul(256).ok_or_else(bad)? + i128::from(b);
            if v.unsigned_abs() > u128::from(u64::MAX) {
                return Err(bad());
            }
        }
        return i64::try_from(v).map_err(|_| bad());
    }
    let text = bytes
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ');
    let mut v: i64 = 0;
    let mut any = false;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return Err(bad());
        }
        v = v
            .checked_mul(8)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(bad)?;
        any = true;
    }
    let _ = any; // an empty field is 0
    Ok(v)
}

/// PAX records: `LEN key=value\n`, LEN counting the whole record.
fn parse_pax(data: &[u8], pax: &mut HashMap<String, String>, at: u64) -> Result<(), TarError> {
    let bad = || TarError::Corrupt(format!("bad PAX record in the member at offset {at}"));
    let mut rest = data;
    while !rest.is_empty() && rest[0] != 0 {
        let space = rest.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &rest[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(bad)?;
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        let value = String::from_utf8_lossy(&record[eq + 1..]).into_owned();
        pax.insert(key, value);
        rest = &rest[len..];
    }
    Ok(())
}

/// Old GNU sparse members (`S`): the map of (offset, length) runs is in the header and in
/// extension blocks after it; the data holds the runs back to back. The content is hashed
/// with the holes as zeros, the holes counted against the tar byte cap like data.
fn read_old_gnu_sparse<R: Read>(
    r: &mut Counted<R>,
    header: &[u8; BLOCK],
    data: u64,
    entry: &mut Entry,
    buf: &mut [u8],
    at: u64,
    hashes: &mut ContentHashes,
) -> Result<(), TarError> {
    let mut runs = Vec::new();
    push_runs(&mut runs, &header[386..482], 4, at)?;
    let mut extended = header[482] != 0;
    let mut ext = [0u8; BLOCK];
    while extended {
        r.exact(&mut ext)?;
        push_runs(&mut runs, &ext[..504], 21, at)?;
        extended = ext[504] != 0;
        if runs.len() > 1_000_000 {
            return Err(TarError::Corrupt(format!(
                "the sparse map at offset {at} is too long"
            )));
        }
    }
    let real = number(&header[483..495], "sparse size", at)?;
    let stored: u64 = runs.iter().fold(0u64, |a, &(_, len)| a.saturating_add(len));
    if stored != data {
        return Err(TarError::Corrupt(format!(
            "the sparse map at offset {at} does not match the member's size"
        )));
    }
    let mut position = 0u64;
    let zeros = vec![0u8; 64 * 1024];
    let zero_fill = |r: &mut Counted<R>, hashes: &mut ContentHashes, mut n: u64| {
        r.add(n)?;
        while n > 0 {
            let step = n.min(zeros.len() as u64) as usize;
            hashes.bytes(&zeros[..step]);
            n -= step as u64;
        }
        Ok::<(), TarError>(())
    };
    for (offset, len) in runs {
        if offset < position || offset.saturating_add(len) > real {
            return Err(TarError::Corrupt(format!(
                "the sparse map at offset {at} has overlapping or out-of-range runs"
            )));
        }
        zero_fill(r, hashes, offset - position)?;
        r.stream(len, buf, |chunk| hashes.bytes(chunk))?;
        position = offset + len;
    }
    zero_fill(r, hashes, real - position)?;
    hashes.end_file();
    entry.size = real;
    entry.sparse = true;
    Ok(())
}

/// Sparse runs (offset, length), 24 bytes each, until an empty one.
fn push_runs(
    runs: &mut Vec<(u64, u64)>,
    block: &[u8],
    count: usize,
    at: u64,
) -> Result<(), TarError> {
    for i in 0..count {
        let run = &block[i * 24..i * 24 + 24];
        if run[0] == 0 {
            break;
        }
        runs.push((
            number(&run[..12], "sparse offset", at)?,
            number(&run[12..], "sparse length", at)?,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(bytes: &[u8], limits: &Limits) -> Result<Vec<Entry>, TarError> {
        let mut out = Vec::new();
        read_entries(bytes, limits, |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().expect("finish")
    }

    fn header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).expect("path");
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o755);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        h
    }

    #[test]
    fn files_dirs_links_and_hashes() {
        let bytes = tar_of(|b| {
            b.append(&header("./etc/", tar::EntryType::Directory, 0), &[][..])
                .expect("dir");
            b.append(
                &header("etc/hosts", tar::EntryType::Regular, 5),
                &b"hello"[..],
            )
            .expect("file");
            let mut l = header("etc/link", tar::EntryType::Symlink, 0);
            l.set_link_name("hosts").expect("link");
            l.set_cksum();
            b.append(&l, &[][..]).expect("symlink");
        });
        let entries = list(&bytes, &Limits::default()).expect("listing");
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].path, "etc");
        assert_eq!(entries[0].kind, EntryKind::Dir);
        assert_eq!(entries[1].size, 5);
        assert_eq!(
            entries[1].sha256.as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(entries[2].kind, EntryKind::Symlink);
        assert_eq!(entries[2].link.as_deref(), Some("hosts"));
    }

    #[test]
    fn long_names_through_pax_and_gnu() {
        let long = format!("{}/file", "d".repeat(300));
        let bytes = tar_of(|b| {
            let mut h = tar::Header::new_ustar();
            h.set_size(2);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, &long, &b"hi"[..]).expect("long");
        });
        let entries = list(&bytes, &Limits::default()).expect("listing");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path, long);
    }

    #[test]
    fn caps_stop_hostile_archives() {
        let bytes = tar_of(|b| {
            for i in 0..10 {
                b.append(
                    &header(&format!("f{i}"), tar::EntryType::Regular, 1),
                    &b"x"[..],
                )
                .expect("append");
            }
        });
        let few = Limits {
            max_entries: 5,
            ..Limits::default()
        };
        assert!(matches!(
            list(&bytes, &few),
            Err(TarError::TooManyEntries(5))
        ));
        let small = Limits {
            max_tar_bytes: 2048,
            ..Limits::default()
        };
        assert!(matches!(
            list(&bytes, &small),
            Err(TarError::TooLarge(2048))
        ));
        let mut long = header("x", tar::EntryType::new(b'L'), 10_000_000);
        long.set_cksum();
        let mut hostile = long.as_bytes().to_vec();
        hostile.extend(std::iter::repeat_n(b'a', 4096));
        assert!(matches!(
            list(&hostile, &Limits::default()),
            Err(TarError::HeaderTooLarge(_))
        ));
    }

    #[test]
    fn corrupt_and_truncated_archives_are_errors() {
        let bytes = tar_of(|b| {
            b.append(
                &header("a", tar::EntryType::Regular, 1000),
                &[7u8; 1000][..],
            )
            .expect("append");
        });
        assert!(matches!(
            list(&bytes[..700], &Limits::default()),
            Err(TarError::Corrupt(_))
        ));
        let mut bad = bytes.clone();
        bad[10] ^= 0x55;
        assert!(matches!(
            list(&bad, &Limits::default()),
            Err(TarError::Corrupt(_))
        ));
        assert!(matches!(
            list(b"not a tar at all, just some text", &Limits::default()),
            Err(TarError::Corrupt(_))
        ));
    }

    #[test]
    fn base256_numbers() {
        let mut field = [0u8; 12];
        field[0] = 0x80;
        field[11] = 0x10;
        field[10] = 0x01;
        assert_eq!(number(&field, "size", 0).expect("number"), 0x110);
        assert_eq!(number(b"0000644\0", "mode", 0).expect("octal"), 0o644);
        assert_eq!(number(b"     12 ", "x", 0).expect("octal"), 0o12);
    }
}
