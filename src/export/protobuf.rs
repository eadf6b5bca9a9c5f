//! The few protocol-buffer encodings an ONNX file needs, written by hand: varints,
//! length-delimited fields (strings, bytes, nested messages) and 32-bit floats. Only writing;
//! fields are emitted in the order they are added (any order is valid protobuf).

/// Wire types of the protobuf encoding.
const VARINT: u64 = 0;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// A message being encoded.
#[derive(Debug, Default, Clone)]
pub struct Message {
    bytes: Vec<u8>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Message {
    pub fn new() -> Message {
        Message::default()
    }

    fn tag(&mut self, field: u32, wire: u64) {
        put_varint(&mut self.bytes, ((field as u64) << 3) | wire);
    }

    /// An int32/int64/enum field (negative values take ten bytes, as protobuf specifies).
    pub fn int(&mut self, field: u32, value: i64) -> &mut Message {
        self.tag(field, VARINT);
        put_varint(&mut self.bytes, value as u64);
        self
    }

    /// A repeated int64 field, one element per tag (the unpacked form every parser accepts).
    pub fn ints(&mut self, field: u32, values: &[i64]) -> &mut Message {
        for &v in values {
            self.int(field, v);
        }
        self
    }

    /// A float field.
    pub fn float(&mut self, field: u32, value: f32) -> &mut Message {
        self.tag(field, FIXED32);
        self.bytes.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A bytes field.
    pub fn bytes(&mut self, field: u32, value: &[u8]) -> &mut Message {
        self.tag(field, LEN);
        put_varint(&mut self.bytes, value.len() as u64);
        self.bytes.extend_from_slice(value);
        self
    }

    /// A string field.
    pub fn string(&mut self, field: u32, value: &str) -> &mut Message {
        self.bytes(field, value.as_bytes())
    }

    /// A nested message field.
    pub fn message(&mut self, field: u32, value: &Message) -> &mut Message {
        self.bytes(field, &value.bytes)
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// The encoded bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_protobuf_spec() {
        // The examples of the protobuf encoding guide: 150 as field 1, "testing" as field 2.
        let mut m = Message::new();
        m.int(1, 150);
        assert_eq!(m.as_bytes(), &[0x08, 0x96, 0x01]);
        let mut m = Message::new();
        m.string(2, "testing");
        assert_eq!(m.as_bytes(), b"\x12\x07testing");
        let mut m = Message::new();
        m.int(1, -1);
        assert_eq!(m.as_bytes().len(), 11);
        let mut m = Message::new();
        m.float(2, 1.0);
        assert_eq!(m.as_bytes(), &[0x15, 0, 0, 0x80, 0x3f]);
    }
}
