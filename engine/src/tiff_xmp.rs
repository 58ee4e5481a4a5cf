//! XMP in a TIFF: the packet lives in tag 700 of the first image directory (XMP specification,
//! part 3). Adding it writes the packet and a copy of that directory, with the tag added, at the
//! end of the file and points the header at the copy: every other entry keeps pointing at the
//! same bytes, so the pixel data is not touched or encoded again.

use crate::error::{EngineError, Result};

/// The TIFF tag that holds an XMP packet.
const XMP_TAG: u16 = 700;
/// TIFF field type BYTE, the type the XMP specification gives tag 700.
const BYTE: u16 = 1;

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            Order::Little => u16::from_le_bytes(bytes),
            Order::Big => u16::from_be_bytes(bytes),
        }
    }
    fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            Order::Little => u32::from_le_bytes(bytes),
            Order::Big => u32::from_be_bytes(bytes),
        }
    }
    fn put_u16(self, value: u16) -> [u8; 2] {
        match self {
            Order::Little => value.to_le_bytes(),
            Order::Big => value.to_be_bytes(),
        }
    }
    fn put_u32(self, value: u32) -> [u8; 4] {
        match self {
            Order::Little => value.to_le_bytes(),
            Order::Big => value.to_be_bytes(),
        }
    }
}

/// The first image directory of a classic (not Big) TIFF: its 12-byte entries, as stored.
struct FirstDirectory {
    order: Order,
    entries: Vec<[u8; 12]>,
    next: [u8; 4],
}

impl FirstDirectory {
    fn read(bytes: &[u8]) -> Option<FirstDirectory> {
        let order = match bytes.get(..4)? {
            b"II*\0" => Order::Little,
            b"MM\0*" => Order::Big,
            _ => return None,
        };
        let at = order.u32(bytes.get(4..8)?.try_into().ok()?) as usize;
        let count = order.u16(bytes.get(at..at + 2)?.try_into().ok()?) as usize;
        let start = at + 2;
        let end = start + 12 * count;
        let entries = bytes
            .get(start..end)?
            .chunks_exact(12)
            .map(|entry| entry.try_into().ok())
            .collect::<Option<Vec<[u8; 12]>>>()?;
        let next = bytes.get(end..end + 4)?.try_into().ok()?;
        Some(FirstDirectory {
            order,
            entries,
            next,
        })
    }

    fn tag(&self, entry: &[u8; 12]) -> u16 {
        self.order.u16([entry[0], entry[1]])
    }
}

/// Whether `bytes` start like a TIFF (classic or BigTIFF, either byte order).
pub(crate) fn is_tiff(bytes: &[u8]) -> bool {
    bytes.starts_with(b"II*\0")
        || bytes.starts_with(b"MM\0*")
        || bytes.starts_with(b"II+\0")
        || bytes.starts_with(b"MM\0+")
}

/// The XMP packet in tag 700, if the TIFF has one.
pub(crate) fn read(bytes: &[u8]) -> Option<String> {
    let directory = FirstDirectory::read(bytes)?;
    let entry = directory
        .entries
        .iter()
        .find(|entry| directory.tag(entry) == XMP_TAG)?;
    let order = directory.order;
    // BYTE, ASCII and UNDEFINED are all one byte per value.
    let count = order.u32(entry[4..8].try_into().ok()?) as usize;
    let packet = if count <= 4 {
        entry.get(8..8 + count)?
    } else {
        let at = order.u32(entry[8..12].try_into().ok()?) as usize;
        bytes.get(at..at.checked_add(count)?)?
    };
    let text = String::from_utf8_lossy(packet);
    Some(text.trim_end_matches('\0').to_string())
}

/// `bytes` with `xmp` in tag 700 of the first directory, replacing a packet already there.
pub(crate) fn embed(mut bytes: Vec<u8>, xmp: &str) -> Result<Vec<u8>> {
    let unreadable = || {
        EngineError::Encode(
            "provenance metadata can be added to classic TIFF results only, and this one's first \
             directory cannot be read"
                .into(),
        )
    };
    let directory = FirstDirectory::read(&bytes).ok_or_else(unreadable)?;
    let order = directory.order;
    let offset = |len: usize| u32::try_from(len).map_err(|_| unreadable());
    // Word boundaries, as TIFF asks of value offsets and directories.
    let pad = |bytes: &mut Vec<u8>| {
        if bytes.len() % 2 == 1 {
            bytes.push(0);
        }
    };

    pad(&mut bytes);
    let packet_at = offset(bytes.len())?;
    let packet_len = offset(xmp.len())?;
    bytes.extend_from_slice(xmp.as_bytes());
    pad(&mut bytes);

    let mut xmp_entry = [0u8; 12];
    xmp_entry[0..2].copy_from_slice(&order.put_u16(XMP_TAG));
    xmp_entry[2..4].copy_from_slice(&order.put_u16(BYTE));
    xmp_entry[4..8].copy_from_slice(&order.put_u32(packet_len));
    if xmp.len() <= 4 {
        xmp_entry[8..8 + xmp.len()].copy_from_slice(xmp.as_bytes());
    } else {
        xmp_entry[8..12].copy_from_slice(&order.put_u32(packet_at));
    }
    let mut entries: Vec<[u8; 12]> = directory
        .entries
        .iter()
        .filter(|entry| directory.tag(entry) != XMP_TAG)
        .copied()
        .collect();
    // Entries are sorted by tag.
    let at = entries.partition_point(|entry| directory.tag(entry) < XMP_TAG);
    entries.insert(at, xmp_entry);
    let count = u16::try_from(entries.len()).map_err(|_| unreadable())?;

    let directory_at = offset(bytes.len())?;
    bytes.extend_from_slice(&order.put_u16(count));
    for entry in &entries {
        bytes.extend_from_slice(entry);
    }
    bytes.extend_from_slice(&directory.next);
    bytes[4..8].copy_from_slice(&order.put_u32(directory_at));
    Ok(bytes)
}
