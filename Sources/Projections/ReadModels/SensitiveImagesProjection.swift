import EventLog
import LabelerCore

public struct SensitiveImageRecord: Codable, Sendable, Equatable {
    public var id: UInt64
    public var imageId: String?
    public var url: String?
    public var reason: String?
    public var flaggedBy: String?
    public var flaggedAt: String
}

/// Images currently flagged as sensitive (id = seq of the event that added it).
public final class SensitiveImagesProjection: Projection, @unchecked Sendable {
    public static let name = "sensitive-images"
    public static let version = 1
    let images: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [images] }

    public init(env: LMDBEnvironment) throws {
        images = try env.database("images.byid")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        switch decoded {
        case .sensitiveImageAdded(let e):
            let r = SensitiveImageRecord(
                id: event.seq, imageId: e.imageId, url: e.url, reason: e.reason, flaggedBy: e.flaggedBy,
                flaggedAt: event.envelope.recordedAtString)
            try Record.put(r, txn, images, BigEndian.bytes(event.seq))
        case .sensitiveImageRemoved(let e):
            try txn.delete(images, BigEndian.bytes(e.id))
        default: break
        }
    }

    public func all(_ txn: LMDBTransaction) throws -> [SensitiveImageRecord] {
        var out: [SensitiveImageRecord] = []
        try txn.scan(images) { _, v in
            out.append(try Record.decode(SensitiveImageRecord.self, v))
            return true
        }
        return out
    }

    public func image(id: UInt64, _ txn: LMDBTransaction) throws -> SensitiveImageRecord? {
        try Record.get(SensitiveImageRecord.self, txn, images, BigEndian.bytes(id))
    }
}
