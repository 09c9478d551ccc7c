import EventLog
import Foundation
import LabelerCore

/// The body of `POST /scan`: `{audio_url, uri?, cid?, duration_s?, blob_cid?, context?}`.
/// Unknown keys are refused (`{"audio_url", "url": "at://…"}` would pay for a scan that can
/// never label); the original service's body was `{audio_url}` alone.
struct ScanRequest: StrictBody {
    static let fields: Set<String> = ["audio_url", "uri", "cid", "duration_s", "blob_cid", "context"]
    var audio_url: String
    /// The track's record (or account DID) the label goes on when the scan flags.
    var uri: String?
    var cid: String?
    /// The audio's length, for the scan plan when it cannot be probed (and for cost accounting).
    var duration_s: Int?
    /// The audio blob's CID (CIDv1, raw, SHA-256 of the bytes), when the caller knows it: the
    /// verdict cache is looked up before anything is downloaded.
    var blob_cid: String?
    var context: Context?

    /// Display fields attached with the label (`TrackContextAttached`).
    struct Context: Decodable {
        var track_id: Int64?
        var track_title: String?
        var artist_handle: String?
        var artist_did: String?

        static let fields: Set<String> = ["track_id", "track_title", "artist_handle", "artist_did"]
        enum CodingKeys: String, CodingKey { case track_id, track_title, artist_handle, artist_did }

        init(from decoder: any Decoder) throws {
            try Strict<ScanRequest>.checkKeys(decoder, Self.fields)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            track_id = try c.decodeIfPresent(Int64.self, forKey: .track_id)
            track_title = try c.decodeIfPresent(String.self, forKey: .track_title)
            artist_handle = try c.decodeIfPresent(String.self, forKey: .artist_handle)
            artist_did = try c.decodeIfPresent(String.self, forKey: .artist_did)
        }
    }

    static let maxURLBytes = 8192
    static let maxTextBytes = 1024
    /// 30 days: longer is not an upload, and keeps the arithmetic far from overflow.
    static let maxDurationSeconds = 30 * 24 * 3600

    /// Checks every field before anything is scanned or written; throws a 400 naming the field.
    func validate() throws {
        try Self.validateAudioURL(audio_url)
        if let uri, !Syntax.isValidSubject(uri) { throw XRPCError.invalidRequest("uri: not a valid AT-URI or DID") }
        if let cid {
            guard uri != nil else { throw XRPCError.invalidRequest("cid is only meaningful with uri") }
            guard Syntax.isValidCID(cid) else { throw XRPCError.invalidRequest("cid: not a valid CID") }
        }
        if let b = blob_cid, !Syntax.isValidCID(b) { throw XRPCError.invalidRequest("blob_cid: not a valid CID") }
        if let d = duration_s, !(1...Self.maxDurationSeconds).contains(d) {
            throw XRPCError.invalidRequest("duration_s must be an integer from 1 to \(Self.maxDurationSeconds)")
        }
        if let c = context {
            guard uri != nil else { throw XRPCError.invalidRequest("context is only meaningful with uri") }
            for (name, v) in [("track_title", c.track_title), ("artist_handle", c.artist_handle), ("artist_did", c.artist_did)] {
                if let v, v.utf8.count > Self.maxTextBytes {
                    throw XRPCError.invalidRequest("context.\(name) is longer than \(Self.maxTextBytes) bytes")
                }
            }
            if let did = c.artist_did, !Syntax.isValidDID(did) { throw XRPCError.invalidRequest("context.artist_did: not a valid DID") }
        }
    }

    static func validateAudioURL(_ s: String) throws {
        guard !s.isEmpty else { throw XRPCError.invalidRequest("audio_url must not be empty") }
        guard s.utf8.count <= maxURLBytes else { throw XRPCError.invalidRequest("audio_url is longer than \(maxURLBytes) bytes") }
        guard !s.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }),
            let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { throw XRPCError.invalidRequest("audio_url must be an http(s) URL") }
    }

    /// The context to attach to a flagged subject: the request's fields plus the scan's matches,
    /// one per song (artist + title, case-insensitive; first spelling, highest score), in the
    /// order first matched — a long mix repeats songs in every segment.
    func contextEvent(uri: String, matches: [ScanMatch]) -> TrackContextAttached {
        var songs: [ContextMatch] = []
        var index: [String: Int] = [:]
        for m in matches {
            let key = m.artist.lowercased() + "\u{1F}" + m.title.lowercased()
            if let i = index[key] {
                songs[i].score = max(songs[i].score, m.score)
            } else {
                index[key] = songs.count
                songs.append(ContextMatch(title: m.title, artist: m.artist, score: m.score))
            }
        }
        return TrackContextAttached(
            uri: uri, trackId: context?.track_id, trackTitle: context?.track_title, artistHandle: context?.artist_handle,
            artistDid: context?.artist_did, highestScore: matches.map(\.score).max() ?? 0, matches: songs)
    }
}
