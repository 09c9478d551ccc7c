/// A strict DAG-CBOR reader: definite lengths, shortest-form integers, canonical sorted unique
/// text map keys, no floats, no tags but 42. It never traps on malformed input.
public struct CBORReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let maxDepth: Int

    public init(_ bytes: [UInt8], offset: Int = 0, maxDepth: Int = 64) {
        self.bytes = bytes
        self.offset = offset
        self.maxDepth = maxDepth
    }

    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func readValue() throws(CBORError) -> CBOR {
        try readValue(depth: 0)
    }

    /// Reads the head of the next item: (major type, argument). Enforces minimal encoding.
    mutating func readHead() throws(CBORError) -> (UInt8, UInt64) {
        let start = offset
        guard offset < bytes.count else { throw CBORError(.unexpectedEnd, at: offset) }
        let initial = bytes[offset]
        offset += 1
        let major = initial >> 5
        let info = initial & 0x1f
        switch info {
        case 0..<24:
            return (major, UInt64(info))
        case 24, 25, 26, 27:
            let n = 1 << Int(info - 24)
            guard bytes.count - offset >= n else { throw CBORError(.unexpectedEnd, at: offset) }
            var v: UInt64 = 0
            for i in 0..<n { v = (v << 8) | UInt64(bytes[offset + i]) }
            offset += n
            if major == 7 {
                if info == 24 { throw CBORError(.unsupportedSimpleValue, at: start, "two-byte simple value") }
                throw CBORError(.floatNotAllowed, at: start)
            }
            let minimum: UInt64 = switch info {
            case 24: 24
            case 25: 0x100
            case 26: 0x1_0000
            default: 0x1_0000_0000
            }
            guard v >= minimum else { throw CBORError(.nonMinimalInteger, at: start) }
            return (major, v)
        case 31:
            throw CBORError(.indefiniteLength, at: start)
        default:
            throw CBORError(.reservedAdditionalInfo, at: start)
        }
    }

    mutating func readLength(_ arg: UInt64, unit: Int) throws(CBORError) -> Int {
        let remaining = UInt64(bytes.count - offset)
        guard arg <= remaining / UInt64(unit) else { throw CBORError(.lengthTooLarge, at: offset) }
        return Int(arg)
    }

    mutating func readTextBody(_ arg: UInt64) throws(CBORError) -> String {
        let start = offset
        let n = try readLength(arg, unit: 1)
        let s: String? = bytes.withUnsafeBufferPointer { all in
            let slice = UnsafeBufferPointer(rebasing: all[start..<start + n])
            var ascii = true
            for b in slice where b >= 0x80 {
                ascii = false
                break
            }
            // ASCII is valid UTF-8 as it is; anything else is validated.
            return ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
        }
        guard let s else { throw CBORError(.invalidUTF8, at: start) }
        offset += n
        return s
    }

    /// Reads a text string item.
    public mutating func readText() throws(CBORError) -> String {
        let at = offset
        let (major, arg) = try readHead()
        guard major == 3 else { throw CBORError(.wrongType, at: at, "expected text") }
        return try readTextBody(arg)
    }

    /// Reads a byte string item.
    public mutating func readBytes() throws(CBORError) -> [UInt8] {
        let at = offset
        let (major, arg) = try readHead()
        guard major == 2 else { throw CBORError(.wrongType, at: at, "expected bytes") }
        let n = try readLength(arg, unit: 1)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// Reads an integer item.
    public mutating func readInt() throws(CBORError) -> Int {
        let at = offset
        let (major, arg) = try readHead()
        switch major {
        case 0 where arg <= UInt64(Int.max): return Int(arg)
        case 1 where arg < UInt64(Int.max): return -1 - Int(arg)
        default: throw CBORError(.wrongType, at: at, "expected an integer")
        }
    }

    public mutating func readBool() throws(CBORError) -> Bool {
        let at = offset
        guard offset < bytes.count else { throw CBORError(.unexpectedEnd, at: offset) }
        switch bytes[offset] {
        case 0xf4: offset += 1; return false
        case 0xf5: offset += 1; return true
        default: throw CBORError(.wrongType, at: at, "expected a boolean")
        }
    }

    /// Reads a map header; returns the number of entries.
    public mutating func readMapHeader() throws(CBORError) -> Int {
        let at = offset
        let (major, arg) = try readHead()
        guard major == 5 else { throw CBORError(.wrongType, at: at, "expected a map") }
        return try readLength(arg, unit: 2)
    }

    /// Reads the next map key, checking it sorts after `previous` (canonical order, no duplicates).
    public mutating func readKey(after previous: String?) throws(CBORError) -> String {
        let at = offset
        let key = try readText()
        if let previous {
            if previous == key { throw CBORError(.duplicateMapKey, at: at) }
            guard cborKeyLess(previous, key) else { throw CBORError(.unsortedMapKeys, at: at) }
        }
        return key
    }

    /// Skips one item, checking its structure (heads, lengths, nesting) without building it.
    public mutating func skipValue(depth: Int = 0) throws(CBORError) {
        guard depth <= maxDepth else { throw CBORError(.tooDeep, at: offset) }
        let at = offset
        let (major, arg) = try readHead()
        switch major {
        case 0, 1: return
        case 2, 3: offset += try readLength(arg, unit: 1)
        case 4: for _ in 0..<(try readLength(arg, unit: 1)) { try skipValue(depth: depth + 1) }
        case 5:
            for _ in 0..<(try readLength(arg, unit: 2)) {
                try skipValue(depth: depth + 1)
                try skipValue(depth: depth + 1)
            }
        case 6:
            guard arg == 42 else { throw CBORError(.unsupportedTag, at: at) }
            try skipValue(depth: depth + 1)
        default:
            guard arg >= 20 && arg <= 22 else { throw CBORError(.unsupportedSimpleValue, at: at) }
        }
    }

    mutating func readValue(depth: Int) throws(CBORError) -> CBOR {
        guard depth <= maxDepth else { throw CBORError(.tooDeep, at: offset) }
        let start = offset
        let (major, arg) = try readHead()
        switch major {
        case 0:
            return .unsigned(arg)
        case 1:
            return .negative(arg)
        case 2:
            let n = try readLength(arg, unit: 1)
            let b = Array(bytes[offset..<offset + n])
            offset += n
            return .bytes(b)
        case 3:
            return .text(try readTextBody(arg))
        case 4:
            let n = try readLength(arg, unit: 1)
            var a: [CBOR] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(try readValue(depth: depth + 1)) }
            return .array(a)
        case 5:
            let n = try readLength(arg, unit: 2)
            var m: [String: CBOR] = [:]
            m.reserveCapacity(n)
            var previous: ArraySlice<UInt8>? = nil
            for _ in 0..<n {
                let keyStart = offset
                let (km, karg) = try readHead()
                guard km == 3 else { throw CBORError(.nonTextMapKey, at: keyStart) }
                let klen = try readLength(karg, unit: 1)
                let keyBytes = bytes[offset..<offset + klen]
                if let p = previous {
                    if p.count == keyBytes.count && p.elementsEqual(keyBytes) {
                        throw CBORError(.duplicateMapKey, at: keyStart)
                    }
                    let ordered = p.count < keyBytes.count
                        || (p.count == keyBytes.count && p.lexicographicallyPrecedes(keyBytes))
                    guard ordered else { throw CBORError(.unsortedMapKeys, at: keyStart) }
                }
                let key = try readTextBody(karg)
                previous = keyBytes
                m[key] = try readValue(depth: depth + 1)
            }
            return .map(m)
        case 6:
            guard arg == 42 else { throw CBORError(.unsupportedTag, at: start, "tag \(arg)") }
            let inner = offset
            let (im, iarg) = try readHead()
            guard im == 2 else { throw CBORError(.invalidLink, at: inner) }
            let n = try readLength(iarg, unit: 1)
            guard n >= 1, bytes[offset] == 0 else { throw CBORError(.invalidLink, at: inner) }
            let b = Array(bytes[offset + 1..<offset + n])
            offset += n
            return .link(b)
        default:  // 7
            switch arg {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            default: throw CBORError(.unsupportedSimpleValue, at: start, "simple \(arg)")
            }
        }
    }
}
