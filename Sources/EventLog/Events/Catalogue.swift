import LabelerCore

// The event catalogue. Type names are stored in the log and are never renamed; a payload change
// bumps `version` and adds an upcaster from the old shape (see `Upcasters`).

/// The labeler's identity; the first event of every log, so the log alone can be verified.
public struct LabelerIdentified: EventPayload, Equatable {
    public static let eventType = "labeler.identified"
    public static let version = 1
    public var did: String
    /// did:key of the signing key labels are signed with from here on.
    public var signingKey: String
    public init(did: String, signingKey: String) {
        self.did = did
        self.signingKey = signingKey
    }
}

/// A new signing key takes over; labels appended after this event are signed with it.
public struct SigningKeyRotated: EventPayload, Equatable {
    public static let eventType = "signing-key.rotated"
    public static let version = 1
    public var signingKey: String
    public var previousKey: String?
    public init(signingKey: String, previousKey: String?) {
        self.signingKey = signingKey
        self.previousKey = previousKey
    }
}

/// A signed label was published (a negation too).
public struct LabelApplied: EventPayload, Equatable {
    public static let eventType = "label.applied"
    public static let version = 1
    public var label: Label
    public init(label: Label) { self.label = label }

    /// The event with its payload written straight from the label (`{label}` in canonical
    /// DAG-CBOR, the bytes the generic encoder gives), carrying the typed event: emitting a label
    /// builds no CBOR tree and the writer does not decode what was just encoded.
    public func event(actor: Actor) -> NewEvent {
        var w = CBORWriter(capacity: 160 + label.uri.utf8.count + label.src.utf8.count)
        w.writeMapHeader(1)
        w.writeText("label")
        label.writeCBOR(into: &w, includeSignature: true)
        return NewEvent(type: Self.eventType, v: Self.version, actor: actor, payloadBytes: w.bytes, typed: .labelApplied(self))
    }
}

public struct ContextMatch: Codable, Sendable, Equatable {
    public var title: String
    public var artist: String
    public var score: Int
    public init(title: String, artist: String, score: Int) {
        self.title = title
        self.artist = artist
        self.score = score
    }
}

/// Display context for a flagged track. Absent fields keep what was attached before.
public struct TrackContextAttached: EventPayload, Equatable {
    public static let eventType = "track.context-attached"
    public static let version = 1
    public var uri: String
    public var trackId: Int64?
    public var trackTitle: String?
    public var artistHandle: String?
    public var artistDid: String?
    public var highestScore: Int?
    public var matches: [ContextMatch]?
    public init(
        uri: String, trackId: Int64? = nil, trackTitle: String? = nil, artistHandle: String? = nil,
        artistDid: String? = nil, highestScore: Int? = nil, matches: [ContextMatch]? = nil
    ) {
        self.uri = uri
        self.trackId = trackId
        self.trackTitle = trackTitle
        self.artistHandle = artistHandle
        self.artistDid = artistDid
        self.highestScore = highestScore
        self.matches = matches
    }
}

public enum ResolutionReason: String, Codable, Sendable, CaseIterable {
    case originalArtist = "original_artist"
    case licensed
    case fingerprintNoise = "fingerprint_noise"
    case coverVersion = "cover_version"
    case contentDeleted = "content_deleted"
    case other

    public var displayName: String {
        switch self {
        case .originalArtist: "original artist"
        case .licensed: "licensed"
        case .fingerprintNoise: "fingerprint noise"
        case .coverVersion: "cover/remix"
        case .contentDeleted: "content deleted"
        case .other: "other"
        }
    }
}

/// An operator (or the loop) resolved a flag as not a violation.
public struct FlagResolved: EventPayload, Equatable {
    public static let eventType = "flag.resolved"
    public static let version = 1
    public var uri: String
    public var val: String
    public var reason: ResolutionReason
    public var notes: String?
    public init(uri: String, val: String, reason: ResolutionReason, notes: String? = nil) {
        self.uri = uri
        self.val = val
        self.reason = reason
        self.notes = notes
    }
}

public struct ReviewBatchCreated: EventPayload, Equatable {
    public static let eventType = "review.batch-created"
    public static let version = 1
    public var batchId: String
    public var uris: [String]
    public var createdBy: String?
    public init(batchId: String, uris: [String], createdBy: String? = nil) {
        self.batchId = batchId
        self.uris = uris
        self.createdBy = createdBy
    }
}

public enum ReviewDecision: String, Codable, Sendable, CaseIterable {
    case clear, confirm, `defer`
}

public struct ReviewDecisionRecorded: EventPayload, Equatable {
    public static let eventType = "review.decision-recorded"
    public static let version = 1
    public var batchId: String
    public var uri: String
    public var decision: ReviewDecision
    public init(batchId: String, uri: String, decision: ReviewDecision) {
        self.batchId = batchId
        self.uri = uri
        self.decision = decision
    }
}

public struct ReviewBatchCompleted: EventPayload, Equatable {
    public static let eventType = "review.batch-completed"
    public static let version = 1
    public var batchId: String
    public init(batchId: String) { self.batchId = batchId }
}

/// A batch's link reached its reviewers (the moderation loop's notice was delivered): a batch
/// the loop made whose notice failed has none, and a later run sends it again.
public struct ReviewBatchAnnounced: EventPayload, Equatable {
    public static let eventType = "review.batch-announced"
    public static let version = 1
    public var batchId: String
    /// Where it was delivered ("Bluesky DM to @alice.bsky.social", "webhook https://host/…").
    public var destinations: [String]
    public init(batchId: String, destinations: [String]) {
        self.batchId = batchId
        self.destinations = destinations
    }
}

/// An image was flagged as sensitive. Its id is the seq of this event.
public struct SensitiveImageAdded: EventPayload, Equatable {
    public static let eventType = "sensitive-image.added"
    public static let version = 1
    public var imageId: String?
    public var url: String?
    public var reason: String?
    public var flaggedBy: String?
    public init(imageId: String? = nil, url: String? = nil, reason: String? = nil, flaggedBy: String? = nil) {
        self.imageId = imageId
        self.url = url
        self.reason = reason
        self.flaggedBy = flaggedBy
    }
}

public struct SensitiveImageRemoved: EventPayload, Equatable {
    public static let eventType = "sensitive-image.removed"
    public static let version = 1
    /// The seq of the `sensitive-image.added` event being withdrawn.
    public var id: UInt64
    public init(id: UInt64) { self.id = id }
}

/// A user report arrived (`com.atproto.moderation.createReport`). Its id is this event's seq.
public struct ReportCreated: EventPayload, Equatable {
    public static let eventType = "report.created"
    public static let version = 1
    /// e.g. `com.atproto.moderation.defs#reasonSpam`.
    public var reasonType: String
    public var reason: String?
    /// The reported account DID or record AT-URI, and the record's CID for a strong ref.
    public var subject: String
    public var subjectCid: String?
    /// Who says they reported it (a DID from an unverified token), and the client address.
    public var reportedBy: String?
    public var client: String?
    public init(reasonType: String, reason: String?, subject: String, subjectCid: String?, reportedBy: String?, client: String?) {
        self.reasonType = reasonType
        self.reason = reason
        self.subject = subject
        self.subjectCid = subjectCid
        self.reportedBy = reportedBy
        self.client = client
    }
}

public struct ReportResolved: EventPayload, Equatable {
    public static let eventType = "report.resolved"
    public static let version = 1
    public enum Status: String, Codable, Sendable, CaseIterable { case open, investigating, resolved, dismissed }
    public var reportId: UInt64
    public var status: Status
    public var notes: String?
    public var resolvedBy: String?
    public init(reportId: UInt64, status: Status, notes: String?, resolvedBy: String?) {
        self.reportId = reportId
        self.status = status
        self.notes = notes
        self.resolvedBy = resolvedBy
    }
}
