/// A subscribeLabels WebSocket message: a DAG-CBOR header `{op, t?}` followed by a DAG-CBOR body.
public enum Frame: Sendable, Hashable {
    case labels(seq: Int64, labels: [Label])
    case info(name: String, message: String?)
    case error(name: String, message: String?)
    /// A well-formed frame of a type this reader does not know (clients ignore these).
    case unknown(op: Int, type: String?)

    static let labelsHeader: [UInt8] = [0xa2, 0x61, 0x74, 0x67] + Array("#labels".utf8) + [0x62, 0x6f, 0x70, 0x01]
    static let infoHeader: [UInt8] = [0xa2, 0x61, 0x74, 0x65] + Array("#info".utf8) + [0x62, 0x6f, 0x70, 0x01]
    static let errorHeader: [UInt8] = [0xa1, 0x62, 0x6f, 0x70, 0x20]

    /// Encodes a `#labels` frame from labels already in their signed DAG-CBOR form.
    public static func encodeLabels(seq: Int64, signedLabels: [[UInt8]]) -> [UInt8] {
        var w = CBORWriter(capacity: 32 + signedLabels.reduce(0) { $0 + $1.count })
        w.writeRaw(labelsHeader)
        w.writeMapHeader(2)
        w.writeText("seq")
        w.writeInt(Int(seq))
        w.writeText("labels")
        w.writeArrayHeader(signedLabels.count)
        for l in signedLabels { w.writeRaw(l) }
        return w.bytes
    }

    public func encoded() -> [UInt8] {
        switch self {
        case .labels(let seq, let labels):
            return Frame.encodeLabels(seq: seq, signedLabels: labels.map { $0.signedBytes() })
        case .info(let name, let message), .error(let name, let message):
            var w = CBORWriter()
            let isInfo = if case .info = self { true } else { false }
            w.writeRaw(isInfo ? Frame.infoHeader : Frame.errorHeader)
            w.writeMapHeader(message == nil ? 1 : 2)
            if isInfo {
                w.writeText("name"); w.writeText(name)
            } else {
                w.writeText("error"); w.writeText(name)
            }
            if let message { w.writeText("message"); w.writeText(message) }
            return w.bytes
        case .unknown(let op, let type):
            var m: [String: CBOR] = ["op": CBOR(op)]
            if let type { m["t"] = .text(type) }
            return CBOR.map(m).encoded() + CBOR.map([:]).encoded()
        }
    }

    /// Parses a frame strictly: exactly two DAG-CBOR items, a valid header and body.
    public static func parse(_ bytes: [UInt8]) throws(CBORError) -> Frame {
        var r = CBORReader(bytes)
        let header = try r.readValue()
        guard !r.isAtEnd else { throw CBORError(.unexpectedEnd, at: r.offset, "frame has no body") }
        let body = try r.readValue()
        guard r.isAtEnd else { throw CBORError(.trailingBytes, at: r.offset, "frame has more than two items") }
        guard case .map = header, let op = header["op"]?.int else {
            throw CBORError(.wrongType, at: 0, "header must be a map with an integer op")
        }
        guard case .map = body else { throw CBORError(.wrongType, at: 0, "body must be a map") }
        let t = header["t"]?.string
        switch (op, t) {
        case (1, "#labels"):
            guard let seq = body["seq"]?.int, let list = body["labels"]?.arrayValue else {
                throw CBORError(.missingField, at: 0, "#labels needs seq and labels")
            }
            var labels: [Label] = []
            for item in list { labels.append(try Label(cbor: item)) }
            return .labels(seq: Int64(seq), labels: labels)
        case (1, "#info"):
            guard let name = body["name"]?.string else { throw CBORError(.missingField, at: 0, "#info needs name") }
            return .info(name: name, message: body["message"]?.string)
        case (-1, _):
            guard let name = body["error"]?.string else { throw CBORError(.missingField, at: 0, "error needs error") }
            return .error(name: name, message: body["message"]?.string)
        default:
            return .unknown(op: op, type: t)
        }
    }
}
