/// `com.atproto.label.defs#label`. Optional fields are nil when absent; `neg` keeps an explicit
/// `false` only when one was received (we never emit it), so verification re-encodes verbatim.
public struct Label: Sendable, Hashable {
    public var ver: Int?
    public var src: String
    public var uri: String
    public var cid: String?
    public var val: String
    public var neg: Bool?
    public var cts: String
    public var exp: String?
    public var sig: [UInt8]?

    public init(
        ver: Int? = 1, src: String, uri: String, cid: String? = nil, val: String, neg: Bool? = nil,
        cts: String, exp: String? = nil, sig: [UInt8]? = nil
    ) {
        self.ver = ver
        self.src = src
        self.uri = uri
        self.cid = cid
        self.val = val
        self.neg = neg
        self.cts = cts
        self.exp = exp
        self.sig = sig
    }

    /// True for a negation (retraction) label.
    public var isNegation: Bool { neg == true }

    /// The identity under which a newer label replaces an older one: (src, uri, cid, val).
    public var key: LabelKey { LabelKey(src: src, uri: uri, cid: cid ?? "", val: val) }
}

/// (src, uri, cid, val): the latest label per key is the one in force.
public struct LabelKey: Sendable, Hashable, Comparable {
    public var src: String
    public var uri: String
    public var cid: String
    public var val: String

    public init(src: String, uri: String, cid: String, val: String) {
        self.src = src
        self.uri = uri
        self.cid = cid
        self.val = val
    }

    public static func < (a: LabelKey, b: LabelKey) -> Bool {
        (a.uri, a.src, a.cid, a.val) < (b.uri, b.src, b.cid, b.val)
    }
}

/// Why a label is not acceptable for emission.
public struct LabelValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let field: String
    public let message: String
    public var description: String { "\(field): \(message)" }
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

extension Label {
    /// Checks every field as an emitter must: `ver` 1, DID `src`, AT-URI or DID subject, CID syntax,
    /// value syntax and length, datetimes, no explicit `neg:false`.
    public func validateForEmission() throws(LabelValidationError) {
        guard ver == 1 else { throw LabelValidationError(field: "ver", message: "must be 1") }
        guard Syntax.isValidDID(src) else { throw LabelValidationError(field: "src", message: "not a valid DID") }
        guard Syntax.isValidSubject(uri) else {
            throw LabelValidationError(field: "uri", message: "not a valid AT-URI or DID")
        }
        if let cid, !Syntax.isValidCID(cid) { throw LabelValidationError(field: "cid", message: "not a valid CID") }
        guard Syntax.isValidLabelValue(val) else {
            throw LabelValidationError(
                field: "val", message: "must be 1-128 UTF-8 bytes without white space, control characters or ,;'\"")
        }
        if neg == false { throw LabelValidationError(field: "neg", message: "omit neg unless it is true") }
        guard Syntax.isValidDatetime(cts) else { throw LabelValidationError(field: "cts", message: "not a valid datetime") }
        if let exp, !Syntax.isValidDatetime(exp) {
            throw LabelValidationError(field: "exp", message: "not a valid datetime")
        }
    }
}
