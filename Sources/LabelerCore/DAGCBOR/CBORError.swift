/// A DAG-CBOR decoding failure, with the byte offset where it was found.
public struct CBORError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case unexpectedEnd = "unexpected end of input"
        case trailingBytes = "trailing bytes after the value"
        case indefiniteLength = "indefinite lengths are not allowed"
        case nonMinimalInteger = "integer or length not in its shortest form"
        case floatNotAllowed = "floating-point numbers are not allowed"
        case unsupportedSimpleValue = "unsupported simple value"
        case reservedAdditionalInfo = "reserved additional information value"
        case unsupportedTag = "only tag 42 (CID link) is allowed"
        case invalidLink = "tag 42 must wrap a byte string starting with 0x00"
        case nonTextMapKey = "map keys must be text strings"
        case unsortedMapKeys = "map keys are not in canonical order"
        case duplicateMapKey = "duplicate map key"
        case invalidUTF8 = "text string is not valid UTF-8"
        case tooDeep = "nesting too deep"
        case lengthTooLarge = "declared length exceeds the input"
        case integerOutOfRange = "integer out of range"
        case wrongType = "unexpected type"
        case missingField = "missing required field"
    }

    public let kind: Kind
    public let offset: Int
    public let detail: String?

    public init(_ kind: Kind, at offset: Int, _ detail: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        var s = "DAG-CBOR: \(kind.rawValue) at byte \(offset)"
        if let detail { s += " (\(detail))" }
        return s
    }
}
