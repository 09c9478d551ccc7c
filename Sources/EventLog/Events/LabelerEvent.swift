import LabelerCore

/// A decoded event of the catalogue. Types this code does not know (or newer versions of known
/// types) decode as `.unknown` and are kept and skipped, never fatal.
public enum LabelerEvent: Sendable, Equatable {
    case labelerIdentified(LabelerIdentified)
    case signingKeyRotated(SigningKeyRotated)
    case labelApplied(LabelApplied)
    case scanRecorded(ScanRecorded)
    case trackContextAttached(TrackContextAttached)
    case flagResolved(FlagResolved)
    case reviewBatchCreated(ReviewBatchCreated)
    case reviewDecisionRecorded(ReviewDecisionRecorded)
    case reviewBatchCompleted(ReviewBatchCompleted)
    case reviewBatchAnnounced(ReviewBatchAnnounced)
    case sensitiveImageAdded(SensitiveImageAdded)
    case sensitiveImageRemoved(SensitiveImageRemoved)
    case reportCreated(ReportCreated)
    case reportResolved(ReportResolved)
    case knownContentAdded(KnownContentAdded)
    case knownContentRemoved(KnownContentRemoved)
    case knownContentMatched(KnownContentMatched)
    case knownMatchReviewed(KnownMatchReviewed)
    case unknown(type: String, v: Int)

    /// Every payload type of the catalogue, with how to wrap it.
    static let decoders: [String: (any EventPayload.Type, @Sendable (any EventPayload) -> LabelerEvent)] = {
        var d: [String: (any EventPayload.Type, @Sendable (any EventPayload) -> LabelerEvent)] = [:]
        func add<P: EventPayload>(_ t: P.Type, _ wrap: @escaping @Sendable (P) -> LabelerEvent) {
            d[P.eventType] = (t, { wrap($0 as! P) })
        }
        add(LabelerIdentified.self, LabelerEvent.labelerIdentified)
        add(SigningKeyRotated.self, LabelerEvent.signingKeyRotated)
        add(LabelApplied.self, LabelerEvent.labelApplied)
        add(ScanRecorded.self, LabelerEvent.scanRecorded)
        add(TrackContextAttached.self, LabelerEvent.trackContextAttached)
        add(FlagResolved.self, LabelerEvent.flagResolved)
        add(ReviewBatchCreated.self, LabelerEvent.reviewBatchCreated)
        add(ReviewDecisionRecorded.self, LabelerEvent.reviewDecisionRecorded)
        add(ReviewBatchCompleted.self, LabelerEvent.reviewBatchCompleted)
        add(ReviewBatchAnnounced.self, LabelerEvent.reviewBatchAnnounced)
        add(SensitiveImageAdded.self, LabelerEvent.sensitiveImageAdded)
        add(SensitiveImageRemoved.self, LabelerEvent.sensitiveImageRemoved)
        add(ReportCreated.self, LabelerEvent.reportCreated)
        add(ReportResolved.self, LabelerEvent.reportResolved)
        add(KnownContentAdded.self, LabelerEvent.knownContentAdded)
        add(KnownContentRemoved.self, LabelerEvent.knownContentRemoved)
        add(KnownContentMatched.self, LabelerEvent.knownContentMatched)
        add(KnownMatchReviewed.self, LabelerEvent.knownMatchReviewed)
        return d
    }()


    /// Decodes an envelope's payload, upcasting older versions first.
    public static func decode(_ envelope: EventEnvelope) throws -> LabelerEvent {
        guard let (type, wrap) = decoders[envelope.type] else { return .unknown(type: envelope.type, v: envelope.v) }
        if envelope.type == LabelApplied.eventType, envelope.v == LabelApplied.version {
            // The hot path of rebuilds, audits and streams: read the label straight from the bytes.
            do {
                if let bytes = envelope.payloadBytes {
                    var r = CBORReader(Array(bytes))
                    guard try r.readMapHeader() == 1, try r.readKey(after: nil) == "label" else {
                        throw CBORError(.missingField, at: 0, "label.applied payload must be {label}")
                    }
                    let label = try Label(reader: &r)
                    guard r.isAtEnd else { throw CBORError(.trailingBytes, at: r.offset) }
                    return .labelApplied(LabelApplied(label: label))
                }
                let payload = try envelope.decodedPayload()
                guard case .map(let m) = payload, m.count == 1, let l = m["label"] else {
                    throw CBORError(.missingField, at: 0, "label.applied payload must be {label}")
                }
                return .labelApplied(LabelApplied(label: try Label(cbor: l)))
            } catch {
                throw EventLogError.corruptEvent(envelope.seq, "\(error)")
            }
        }
        guard envelope.v <= type.version else { return .unknown(type: envelope.type, v: envelope.v) }
        var payload: CBOR
        do { payload = try envelope.decodedPayload() } catch { throw EventLogError.corruptEvent(envelope.seq, "\(error)") }
        var v = envelope.v
        while v < type.version {
            guard let up = Upcasters.all[UpcasterKey(type: envelope.type, from: v)] else {
                throw EventLogError.corruptEvent(envelope.seq, "no upcaster for \(envelope.type) v\(v)")
            }
            payload = try up(payload, envelope)
            v += 1
        }
        do {
            return wrap(try CBORDecoder().decode(type, from: payload))
        } catch {
            throw EventLogError.corruptEvent(envelope.seq, "\(envelope.type) v\(envelope.v): \(error)")
        }
    }

    /// The AT-URI (or DID) an event is about, for the per-subject audit index.
    public var subjects: [String] {
        switch self {
        case .labelApplied(let e): [e.label.uri]
        case .scanRecorded(let e): e.uri.map { [$0] } ?? []
        case .trackContextAttached(let e): [e.uri]
        case .flagResolved(let e): [e.uri]
        case .reviewBatchCreated(let e): e.uris
        case .reviewDecisionRecorded(let e): [e.uri]
        case .reportCreated(let e): [e.subject]
        case .knownContentAdded(let e): e.uri.map { [$0] } ?? []
        case .knownContentMatched(let e): e.uri.map { [$0] } ?? []
        case .knownMatchReviewed(let e): e.uri.map { [$0] } ?? []
        default: []
        }
    }
}
