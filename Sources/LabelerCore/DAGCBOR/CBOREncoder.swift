import Foundation

/// Encodes `Encodable` values to the DAG-CBOR data model: nil optionals become absent keys,
/// `[UInt8]`/`Data` become byte strings, floating-point values are refused (atproto has none).
public struct CBOREncoder: Sendable {
    public init() {}

    public func encodeValue(_ value: some Encodable) throws -> CBOR {
        let root = Node()
        try value.encode(to: EncoderImpl(node: root, codingPath: []))
        return root.cbor
    }

    public func encode(_ value: some Encodable) throws -> [UInt8] { try encodeValue(value).encoded() }
}

final class Node {
    var value: CBOR? = nil
    var map: [String: Node]? = nil
    var array: [Node]? = nil

    var cbor: CBOR {
        if let map { return .map(map.mapValues { $0.cbor }) }
        if let array { return .array(array.map { $0.cbor }) }
        return value ?? .map([:])
    }
}

struct EncoderImpl: Encoder {
    let node: Node
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.map == nil { node.map = [:] }
        return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.array == nil { node.array = [] }
        return Unkeyed(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }

    static func box(_ value: some Encodable, path: [any CodingKey]) throws -> Node {
        let n = Node()
        // Match on the static type: an empty array of anything casts to [UInt8].
        if type(of: value) == [UInt8].self {
            n.value = .bytes(value as! [UInt8])
            return n
        }
        switch value {
        case let d as Data: n.value = .bytes([UInt8](d))
        case let c as CBOR: n.value = c
        case let l as Label: n.value = l.cbor
        case is Float, is Double:
            throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "floats are not allowed in DAG-CBOR"))
        default: try value.encode(to: EncoderImpl(node: n, codingPath: path))
        }
        return n
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        var codingPath: [any CodingKey]
        mutating func encodeNil(forKey key: Key) throws { node.map![key.stringValue] = leaf(.null) }
        mutating func encode(_ value: some Encodable, forKey key: Key) throws {
            node.map![key.stringValue] = try EncoderImpl.box(value, path: codingPath + [key])
        }
        mutating func nestedContainer<NK: CodingKey>(keyedBy keyType: NK.Type, forKey key: Key) -> KeyedEncodingContainer<NK> {
            let n = Node()
            n.map = [:]
            node.map![key.stringValue] = n
            return KeyedEncodingContainer(Keyed<NK>(node: n, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let n = Node()
            n.array = []
            node.map![key.stringValue] = n
            return Unkeyed(node: n, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> any Encoder { EncoderImpl(node: node, codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let n = Node()
            node.map![key.stringValue] = n
            return EncoderImpl(node: n, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]
        var count: Int { node.array!.count }
        mutating func encodeNil() throws { node.array!.append(leaf(.null)) }
        mutating func encode(_ value: some Encodable) throws {
            node.array!.append(try EncoderImpl.box(value, path: codingPath))
        }
        mutating func nestedContainer<NK: CodingKey>(keyedBy keyType: NK.Type) -> KeyedEncodingContainer<NK> {
            let n = Node()
            n.map = [:]
            node.array!.append(n)
            return KeyedEncodingContainer(Keyed<NK>(node: n, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let n = Node()
            n.array = []
            node.array!.append(n)
            return Unkeyed(node: n, codingPath: codingPath)
        }
        mutating func superEncoder() -> any Encoder {
            let n = Node()
            node.array!.append(n)
            return EncoderImpl(node: n, codingPath: codingPath)
        }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]
        mutating func encodeNil() throws { node.value = .null }
        mutating func encode(_ value: Bool) throws { node.value = .bool(value) }
        mutating func encode(_ value: String) throws { node.value = .text(value) }
        mutating func encode(_ value: Int) throws { node.value = CBOR(value) }
        mutating func encode(_ value: Int64) throws { node.value = CBOR(Int(value)) }
        mutating func encode(_ value: UInt64) throws { node.value = .unsigned(value) }
        mutating func encode(_ value: some Encodable) throws {
            let n = try EncoderImpl.box(value, path: codingPath)
            node.value = n.value
            node.map = n.map
            node.array = n.array
        }
    }
}

private func leaf(_ v: CBOR) -> Node {
    let n = Node()
    n.value = v
    return n
}
