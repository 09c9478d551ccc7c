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
        let slice = bytes[offset..<offset + n]
        guard let s = String(validating: slice, as: UTF8.self) else { throw CBORError(.invalidUTF8, at: start) }
        offset += n
        return s
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
