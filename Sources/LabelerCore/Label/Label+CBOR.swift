extension Label {
    /// Writes the label as a DAG-CBOR map. All keys are three bytes, so canonical order is
    /// bytewise: cid, cts, exp, neg, sig, src, uri, val, ver.
    public func writeCBOR(into w: inout CBORWriter, includeSignature: Bool) {
        let withSig = includeSignature && sig != nil
        let count = 3 + (ver != nil ? 1 : 0) + (cid != nil ? 1 : 0) + (exp != nil ? 1 : 0) + (neg != nil ? 1 : 0)
            + (withSig ? 1 : 0) + 1
        w.writeMapHeader(count)
        if let cid { w.writeRaw(Keys.cid); w.writeText(cid) }
        w.writeRaw(Keys.cts); w.writeText(cts)
        if let exp { w.writeRaw(Keys.exp); w.writeText(exp) }
        if let neg { w.writeRaw(Keys.neg); w.writeBool(neg) }
        if withSig, let sig { w.writeRaw(Keys.sig); w.writeBytes(sig) }
        w.writeRaw(Keys.src); w.writeText(src)
        w.writeRaw(Keys.uri); w.writeText(uri)
        w.writeRaw(Keys.val); w.writeText(val)
        if let ver { w.writeRaw(Keys.ver); w.writeInt(ver) }
    }

    /// The bytes that are signed: DAG-CBOR of the present schema fields, without `sig`.
    public func unsignedBytes() -> [UInt8] {
        var w = CBORWriter(capacity: 64 + uri.utf8.count + src.utf8.count)
        writeCBOR(into: &w, includeSignature: false)
        return w.bytes
    }

    /// DAG-CBOR of the label with its signature, as carried in subscribeLabels frames.
    public func signedBytes() -> [UInt8] {
        var w = CBORWriter(capacity: 140 + uri.utf8.count + src.utf8.count)
        writeCBOR(into: &w, includeSignature: true)
        return w.bytes
    }

    /// Reads a label from a decoded DAG-CBOR map. Unknown keys (e.g. `$type`) are ignored.
    public init(cbor: CBOR) throws(CBORError) {
        guard case .map(let m) = cbor else { throw CBORError(.wrongType, at: 0, "label must be a map") }
        func text(_ k: String) throws(CBORError) -> String? {
            guard let v = m[k] else { return nil }
            guard case .text(let s) = v else { throw CBORError(.wrongType, at: 0, "label.\(k) must be text") }
            return s
        }
        func required(_ k: String) throws(CBORError) -> String {
            guard let s = try text(k) else { throw CBORError(.missingField, at: 0, "label.\(k)") }
            return s
        }
        var ver: Int? = nil
        if let v = m["ver"] {
            guard let i = v.int else { throw CBORError(.wrongType, at: 0, "label.ver must be an integer") }
            ver = i
        }
        var neg: Bool? = nil
        if let v = m["neg"] {
            guard case .bool(let b) = v else { throw CBORError(.wrongType, at: 0, "label.neg must be a boolean") }
            neg = b
        }
        var sig: [UInt8]? = nil
        if let v = m["sig"] {
            guard case .bytes(let b) = v else { throw CBORError(.wrongType, at: 0, "label.sig must be bytes") }
            sig = b
        }
        self.init(
            ver: ver, src: try required("src"), uri: try required("uri"), cid: try text("cid"), val: try required("val"),
            neg: neg, cts: try required("cts"), exp: try text("exp"), sig: sig)
    }

    /// Reads a label map straight from DAG-CBOR (strict key order; unknown keys skipped).
    public init(reader r: inout CBORReader) throws(CBORError) {
        let start = r.offset
        let n = try r.readMapHeader()
        var ver: Int?, src: String?, uri: String?, cid: String?, val: String?, neg: Bool?, cts: String?, exp: String?
        var sig: [UInt8]?
        var previous: String? = nil
        for _ in 0..<n {
            let key = try r.readKey(after: previous)
            previous = key
            switch key {
            case "ver": ver = try r.readInt()
            case "src": src = try r.readText()
            case "uri": uri = try r.readText()
            case "cid": cid = try r.readText()
            case "val": val = try r.readText()
            case "neg": neg = try r.readBool()
            case "cts": cts = try r.readText()
            case "exp": exp = try r.readText()
            case "sig": sig = try r.readBytes()
            default: try r.skipValue()
            }
        }
        guard let src, let uri, let val, let cts else { throw CBORError(.missingField, at: start, "label needs src, uri, val, cts") }
        self.init(ver: ver, src: src, uri: uri, cid: cid, val: val, neg: neg, cts: cts, exp: exp, sig: sig)
    }

    /// Decodes one label that must span all of `bytes` (read straight from the bytes, no tree).
    public init(dagCBOR bytes: [UInt8]) throws(CBORError) {
        var r = CBORReader(bytes)
        try self.init(reader: &r)
        guard r.isAtEnd else { throw CBORError(.trailingBytes, at: r.offset) }
    }

    public var cbor: CBOR {
        var m: [String: CBOR] = ["src": .text(src), "uri": .text(uri), "val": .text(val), "cts": .text(cts)]
        if let ver { m["ver"] = CBOR(ver) }
        if let cid { m["cid"] = .text(cid) }
        if let neg { m["neg"] = .bool(neg) }
        if let exp { m["exp"] = .text(exp) }
        if let sig { m["sig"] = .bytes(sig) }
        return .map(m)
    }
}

private enum Keys {
    static let cid: [UInt8] = [0x63] + Array("cid".utf8)
    static let cts: [UInt8] = [0x63] + Array("cts".utf8)
    static let exp: [UInt8] = [0x63] + Array("exp".utf8)
    static let neg: [UInt8] = [0x63] + Array("neg".utf8)
    static let sig: [UInt8] = [0x63] + Array("sig".utf8)
    static let src: [UInt8] = [0x63] + Array("src".utf8)
    static let uri: [UInt8] = [0x63] + Array("uri".utf8)
    static let val: [UInt8] = [0x63] + Array("val".utf8)
    static let ver: [UInt8] = [0x63] + Array("ver".utf8)
}
