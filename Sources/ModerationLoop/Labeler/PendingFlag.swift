/// A pending copyright flag as `GET /admin/flags?filter=pending` lists it.
public struct PendingFlag: Decodable, Sendable, Equatable {
    public struct Match: Decodable, Sendable, Equatable {
        public var title: String
        public var artist: String
        public var score: Double?
        public init(title: String, artist: String, score: Double? = nil) {
            (self.title, self.artist, self.score) = (title, artist, score)
        }
    }

    public struct Context: Decodable, Sendable, Equatable {
        public var trackId: Int64?
        public var trackTitle: String?
        public var artistHandle: String?
        public var artistDid: String?
        public var highestScore: Double?
        public var matches: [Match]?

        enum CodingKeys: String, CodingKey {
            case trackId = "track_id", trackTitle = "track_title", artistHandle = "artist_handle", artistDid = "artist_did"
            case highestScore = "highest_score", matches
        }

        public init(
            trackId: Int64? = nil, trackTitle: String? = nil, artistHandle: String? = nil, artistDid: String? = nil,
            highestScore: Double? = nil, matches: [Match]? = nil
        ) {
            (self.trackId, self.trackTitle, self.artistHandle, self.artistDid) = (trackId, trackTitle, artistHandle, artistDid)
            (self.highestScore, self.matches) = (highestScore, matches)
        }
    }

    public var uri: String
    /// The seq of the flag's label: the order flags were raised in.
    public var seq: UInt64?
    public var context: Context?
    /// The pending review batch this flag is already waiting in, undecided.
    public var reviewBatch: String?

    enum CodingKeys: String, CodingKey { case uri, seq, context, reviewBatch = "review_batch" }

    public init(uri: String, seq: UInt64? = nil, context: Context? = nil, reviewBatch: String? = nil) {
        self.uri = uri
        self.seq = seq
        self.context = context
        self.reviewBatch = reviewBatch
    }

    public var trackId: Int64? { context?.trackId }
    /// `matches: null` crashed the original's prompt builder; here it is an empty list.
    public var matches: [Match] { context?.matches ?? [] }
}
