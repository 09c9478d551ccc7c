/// The labeler's admin HTTP API, as the loop uses it (key in `X-Moderation-Key`).
public struct LabelerAPI: Sendable {
    public let baseURL: String
    let token: String
    let http: HTTPExchange

    public init(baseURL: String, token: String, http: HTTPExchange) {
        self.baseURL = baseURL
        self.token = token
        self.http = http
    }

    /// A refused or failed call: what was asked, and what came back.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let status: Int?
        public let description: String
    }

    var auth: [(String, String)] { [("X-Moderation-Key", token)] }

    func call(_ what: String, _ send: () async throws(TransportFailure) -> HTTPAnswer) async throws(Failure) -> HTTPAnswer {
        let answer: HTTPAnswer
        do { answer = try await send() } catch {
            throw Failure(status: nil, description: "\(what): the labeler at \(baseURL) is \(error)")
        }
        guard answer.isSuccess else {
            let hint = answer.status == 401 ? " (check MODERATION_AUTH_TOKEN)" : ""
            throw Failure(status: answer.status, description: "\(what): the labeler answered \(answer.status): \(answer.detail)\(hint)")
        }
        return answer
    }

    /// Flags asked for per page of `GET /admin/flags`.
    public static let pageSize = 10_000

    /// Every pending flag, oldest first, so a run with `--limit` works through the queue in
    /// order: page by page (`order=oldest`, `cursor` = the last seq seen) until no `cursor` comes
    /// back, never stopping at the route's default cap.
    public func pendingFlags(pageSize: Int = LabelerAPI.pageSize) async throws(Failure) -> [PendingFlag] {
        struct Page: Decodable {
            var tracks: [PendingFlag]
            var cursor: UInt64?
        }
        var all: [PendingFlag] = []
        var after: UInt64? = nil
        while true {
            let path = "/admin/flags?filter=pending&order=oldest&limit=\(pageSize)" + (after.map { "&cursor=\($0)" } ?? "")
            let answer = try await call("listing pending flags") { () async throws(TransportFailure) in
                try await http.get(join(baseURL, path), headers: auth)
            }
            let page: Page
            do { page = try answer.decode(Page.self) } catch {
                throw Failure(status: answer.status, description: "listing pending flags: unexpected answer from the labeler: \(error)")
            }
            all += page.tracks
            guard let next = page.cursor, !page.tracks.isEmpty else { break }
            guard after.map({ next > $0 }) ?? true else {
                throw Failure(status: answer.status, description: "listing pending flags: the labeler's cursor did not advance (\(next))")
            }
            after = next
        }
        return all.enumerated().sorted { a, b in
            (a.element.seq ?? .max, a.offset) < (b.element.seq ?? .max, b.offset)
        }.map(\.element)
    }

    /// Who the labeler records for the loop's resolutions: `automated` makes the event's actor
    /// `loop`, so read models that trust human decisions (uploader trust, verdict reuse) can
    /// leave a program's decisions out.
    public static let resolvedBy = "moderation-loop"

    public func resolve(uri: String, reason: String, notes: String) async throws(Failure) {
        struct Body: Encodable {
            var uri: String
            var reason: String
            var notes: String
            var automated = true
            var resolved_by = LabelerAPI.resolvedBy
        }
        _ = try await call("resolving \(uri)") { () async throws(TransportFailure) in
            try await http.postJSON(join(baseURL, "/admin/resolve"), Body(uri: uri, reason: reason, notes: notes), headers: auth)
        }
    }

    public struct Batch: Decodable, Sendable, Equatable {
        public var id: String
        public var url: String
        public var flagCount: Int
        /// Flags asked for that already waited in another pending batch (another run's), left out.
        public var skipped: [String]? = nil
        /// The flags asked for (not part of the labeler's answer).
        public var uris: [String]? = nil
        enum CodingKeys: String, CodingKey { case id, url, flagCount = "flag_count", skipped }
    }

    public func createBatch(uris: [String], createdBy: String) async throws(Failure) -> Batch {
        struct Body: Encodable {
            var uris: [String]
            var created_by: String
            /// Flags a concurrent run has batched meanwhile are left out (decided by the labeler).
            var skip_batched = true
        }
        // An empty list means "every pending flag" to the labeler: never send one.
        guard !uris.isEmpty else { throw Failure(status: nil, description: "creating a review batch: no flags given") }
        let answer = try await call("creating a review batch") { () async throws(TransportFailure) in
            try await http.postJSON(join(baseURL, "/admin/batches"), Body(uris: uris, created_by: createdBy), headers: auth)
        }
        do { return try answer.decode(Batch.self) } catch {
            throw Failure(status: answer.status, description: "creating a review batch: unexpected answer from the labeler: \(error)")
        }
    }

    /// What the loop needs to know of an existing batch.
    public struct BatchInfo: Decodable, Sendable {
        public var status: String
        public var createdBy: String?
        public var announcedAt: String?
        public var undecided: Int
        struct Flag: Decodable { var decision: String? }
        enum CodingKeys: String, CodingKey { case status, createdBy = "created_by", announcedAt = "announced_at", flags }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            status = try c.decode(String.self, forKey: .status)
            createdBy = try c.decodeIfPresent(String.self, forKey: .createdBy)
            announcedAt = try c.decodeIfPresent(String.self, forKey: .announcedAt)
            undecided = try c.decode([Flag].self, forKey: .flags).filter { $0.decision == nil }.count
        }
    }

    public func batch(_ id: String) async throws(Failure) -> BatchInfo {
        let answer = try await call("reading review batch \(id)") { () async throws(TransportFailure) in
            try await http.get(join(baseURL, "/admin/review/\(id)/data"), headers: auth)
        }
        do { return try answer.decode(BatchInfo.self) } catch {
            throw Failure(status: answer.status, description: "reading review batch \(id): unexpected answer from the labeler: \(error)")
        }
    }

    /// Records where a batch's notice arrived.
    public func announced(batchId: String, destinations: [String]) async throws(Failure) {
        struct Body: Encodable { var destinations: [String] }
        _ = try await call("recording the notice of batch \(batchId)") { () async throws(TransportFailure) in
            try await http.postJSON(join(baseURL, "/admin/review/\(batchId)/announced"), Body(destinations: destinations), headers: auth)
        }
    }

    /// The full link to a batch's review page.
    public func link(_ batch: Batch) -> String { join(baseURL, batch.url) }

    /// The review page of a batch known only by id (the labeler's `url` is `/admin/review/{id}`).
    public func link(batchId: String) -> String { join(baseURL, "/admin/review/\(batchId)") }
}
