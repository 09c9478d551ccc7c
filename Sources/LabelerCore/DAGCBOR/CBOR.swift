/// A DAG-CBOR data model value (the subset atproto allows: no floats, no tags but 42).
public enum CBOR: Sendable, Hashable {
    case unsigned(UInt64)
    /// A negative integer `-1 - n`, stored as `n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([String: CBOR])
    case bool(Bool)
    case null
    /// A CID link (tag 42), stored as the CID's binary form without the leading 0x00.
    case link([UInt8])

    public init(_ value: Int) {
        self = value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-1 - value))
    }

    public init(_ value: Int64) { self.init(Int(value)) }
    public init(_ value: UInt64) { self = .unsigned(value) }
    public init(_ value: String) { self = .text(value) }
    public init(_ value: Bool) { self = .bool(value) }
    public init(_ value: [UInt8]) { self = .bytes(value) }

    /// The value as a Swift `Int`, if it is an integer that fits.
    public var int: Int? {
        switch self {
        case .unsigned(let u): return u <= UInt64(Int.max) ? Int(u) : nil
        case .negative(let n): return n <= UInt64(Int.max) ? -1 - Int(n) : nil
        default: return nil
        }
    }

    public var uint64: UInt64? {
        if case .unsigned(let u) = self { return u }
        return nil
    }

    public var string: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var byteArray: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    public var arrayValue: [CBOR]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var mapValue: [String: CBOR]? {
        if case .map(let m) = self { return m }
        return nil
    }

    public subscript(key: String) -> CBOR? {
        if case .map(let m) = self { return m[key] }
        return nil
    }

    /// Encodes the value as canonical DAG-CBOR.
    public func encoded() -> [UInt8] {
        var w = CBORWriter()
        w.write(self)
        return w.bytes
    }

    /// Decodes exactly one DAG-CBOR value that must span all of `bytes`.
    public static func decode(_ bytes: some Collection<UInt8>) throws(CBORError) -> CBOR {
        let array = Array(bytes)
        var r = CBORReader(array)
        let v = try r.readValue()
        guard r.isAtEnd else { throw CBORError(.trailingBytes, at: r.offset) }
        return v
    }
}

extension CBOR: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self.init(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: CBOR...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, CBOR)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
}

/// DAG-CBOR map key order: shorter keys first, then bytewise.
@inlinable
public func cborKeyLess(_ a: String, _ b: String) -> Bool {
    let au = a.utf8, bu = b.utf8
    if au.count != bu.count { return au.count < bu.count }
    return au.lexicographicallyPrecedes(bu)
}
