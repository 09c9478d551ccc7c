import Foundation

/// Decodes `Decodable` values from the DAG-CBOR data model (the inverse of `CBOREncoder`).
public struct CBORDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: CBOR) throws -> T {
        try DecoderImpl.unbox(value, as: type, path: [])
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: CBOR.decode(bytes))
    }
}

struct DecoderImpl: Decoder {
    let value: CBOR
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func unbox<T: Decodable>(_ value: CBOR, as type: T.Type, path: [any CodingKey]) throws -> T {
        if type == [UInt8].self || type == Data.self {
            guard case .bytes(let b) = value else { throw mismatch(type, path, value) }
            return (type == Data.self ? Data(b) as! T : b as! T)
        }
        if type == CBOR.self { return value as! T }
        if type == Label.self { return try Label(cbor: value) as! T }
        return try T(from: DecoderImpl(value: value, codingPath: path))
    }

    static func mismatch(_ type: Any.Type, _ path: [any CodingKey], _ value: CBOR) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.kindName)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let m) = value else { throw DecoderImpl.mismatch([String: CBOR].self, codingPath, value) }
        return KeyedDecodingContainer(Keyed<Key>(map: m, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw DecoderImpl.mismatch([CBOR].self, codingPath, value) }
        return Unkeyed(items: a, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: value, codingPath: codingPath) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let map: [String: CBOR]
        var codingPath: [any CodingKey]
        var allKeys: [Key] { map.keys.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { map[key.stringValue] != nil }
        func get(_ key: Key) throws -> CBOR {
            guard let v = map[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing \(key.stringValue)"))
            }
            return v
        }
        func decodeNil(forKey key: Key) throws -> Bool { map[key.stringValue] == nil || map[key.stringValue] == .null }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try DecoderImpl.unbox(try get(key), as: type, path: codingPath + [key])
        }
        func nestedContainer<NK: CodingKey>(keyedBy type: NK.Type, forKey key: Key) throws -> KeyedDecodingContainer<NK> {
            try DecoderImpl(value: try get(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try DecoderImpl(value: try get(key), codingPath: codingPath + [key]).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { DecoderImpl(value: .map(map), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            DecoderImpl(value: try get(key), codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [CBOR]
        var codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }
        mutating func next() throws -> CBOR {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(CBOR.self, .init(codingPath: codingPath, debugDescription: "array ended"))
            }
            defer { currentIndex += 1 }
            return items[currentIndex]
        }
        mutating func decodeNil() throws -> Bool {
            if !isAtEnd, items[currentIndex] == .null {
                currentIndex += 1
                return true
            }
            return false
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try DecoderImpl.unbox(try next(), as: type, path: codingPath)
        }
        mutating func nestedContainer<NK: CodingKey>(keyedBy type: NK.Type) throws -> KeyedDecodingContainer<NK> {
            try DecoderImpl(value: try next(), codingPath: codingPath).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try DecoderImpl(value: try next(), codingPath: codingPath).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { DecoderImpl(value: try next(), codingPath: codingPath) }
    }

    struct Single: SingleValueDecodingContainer {
        let value: CBOR
        var codingPath: [any CodingKey]
        func decodeNil() -> Bool { value == .null }
        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let b) = value else { throw DecoderImpl.mismatch(type, codingPath, value) }
            return b
        }
        func decode(_ type: String.Type) throws -> String {
            guard case .text(let s) = value else { throw DecoderImpl.mismatch(type, codingPath, value) }
            return s
        }
        func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
            switch value {
            case .unsigned(let u):
                guard let v = T(exactly: u) else { throw DecoderImpl.mismatch(type, codingPath, value) }
                return v
            case .negative(let n):
                guard n < UInt64(Int64.max), let v = T(exactly: -1 - Int64(n)) else {
                    throw DecoderImpl.mismatch(type, codingPath, value)
                }
                return v
            default: throw DecoderImpl.mismatch(type, codingPath, value)
            }
        }
        func decode(_ type: Int.Type) throws -> Int { try integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
        func decode(_ type: Double.Type) throws -> Double { throw DecoderImpl.mismatch(type, codingPath, value) }
        func decode(_ type: Float.Type) throws -> Float { throw DecoderImpl.mismatch(type, codingPath, value) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try DecoderImpl.unbox(value, as: type, path: codingPath) }
    }
}

extension CBOR {
    var kindName: String {
        switch self {
        case .unsigned, .negative: "integer"
        case .bytes: "bytes"
        case .text: "text"
        case .array: "array"
        case .map: "map"
        case .bool: "boolean"
        case .null: "null"
        case .link: "link"
        }
    }
}
