/// Appends canonical DAG-CBOR to a byte buffer. Callers that write maps by hand must write keys
/// in canonical order themselves; `write(_: CBOR)` sorts them.
public struct CBORWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func writeHead(_ major: UInt8, _ value: UInt64) {
        let m = major << 5
        if value < 24 {
            bytes.append(m | UInt8(value))
        } else if value <= 0xff {
            bytes.append(m | 24)
            bytes.append(UInt8(value))
        } else if value <= 0xffff {
            bytes.append(m | 25)
            bytes.append(UInt8(value >> 8))
            bytes.append(UInt8(value & 0xff))
        } else if value <= 0xffff_ffff {
            bytes.append(m | 26)
            for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xff)) }
        } else {
            bytes.append(m | 27)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xff)) }
        }
    }

    @inlinable public mutating func writeUnsigned(_ v: UInt64) { writeHead(0, v) }

    @inlinable public mutating func writeInt(_ v: Int) {
        if v >= 0 { writeHead(0, UInt64(v)) } else { writeHead(1, UInt64(-1 - v)) }
    }

    @inlinable public mutating func writeText(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            writeHead(3, UInt64(buf.count))
            bytes.append(contentsOf: buf)
        }
    }

    @inlinable public mutating func writeBytes(_ b: some Collection<UInt8>) {
        writeHead(2, UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    @inlinable public mutating func writeBool(_ b: Bool) { bytes.append(b ? 0xf5 : 0xf4) }
    @inlinable public mutating func writeNull() { bytes.append(0xf6) }
    @inlinable public mutating func writeArrayHeader(_ count: Int) { writeHead(4, UInt64(count)) }
    @inlinable public mutating func writeMapHeader(_ count: Int) { writeHead(5, UInt64(count)) }

    /// Appends bytes that already are one encoded DAG-CBOR value.
    @inlinable public mutating func writeRaw(_ b: some Collection<UInt8>) { bytes.append(contentsOf: b) }

    public mutating func write(_ value: CBOR) {
        switch value {
        case .unsigned(let u): writeHead(0, u)
        case .negative(let n): writeHead(1, n)
        case .bytes(let b): writeBytes(b)
        case .text(let s): writeText(s)
        case .array(let a):
            writeArrayHeader(a.count)
            for v in a { write(v) }
        case .map(let m):
            writeMapHeader(m.count)
            for key in m.keys.sorted(by: cborKeyLess) {
                writeText(key)
                write(m[key]!)
            }
        case .bool(let b): writeBool(b)
        case .null: writeNull()
        case .link(let cid):
            writeHead(6, 42)
            writeHead(2, UInt64(cid.count + 1))
            bytes.append(0)
            bytes.append(contentsOf: cid)
        }
    }
}
