import EventLog

/// How AuDD's enterprise endpoint bills a call (docs.audd.io/enterprise; `AudDMusic/audd-openapi`):
/// the audio after `skip_first_seconds` is cut into 12-s chunks; runs of `every` chunks are scanned,
/// each followed by `skip` skipped chunks; at most `limit` chunks are scanned; every scanned chunk
/// is one request. Passes with the same `skip`/`every` whose `skip_first_seconds` differ by
/// 12·`every`·k cover disjoint chunks, so escalating never pays for a chunk twice.
extension AuddParams {
    public static let secondsPerChunk = 12

    /// The start (seconds into the file) of every chunk this call scans in `durationSeconds` of audio.
    public func scannedChunkStarts(durationSeconds: Int) -> [Int] {
        let period = every + skip
        guard every > 0, period > 0, durationSeconds > skipFirstSeconds else { return [] }
        let chunks = (durationSeconds - skipFirstSeconds + Self.secondsPerChunk - 1) / Self.secondsPerChunk
        var out: [Int] = []
        var i = 0
        while i < chunks {
            if i % period < every {
                if let limit, out.count >= limit { break }
                out.append(skipFirstSeconds + i * Self.secondsPerChunk)
            }
            i += 1
        }
        return out
    }

    /// Requests billed for `durationSeconds` of audio.
    public func billedRequests(durationSeconds: Int) -> Int {
        let period = every + skip
        guard every > 0, period > 0, durationSeconds > skipFirstSeconds else { return 0 }
        let chunks = (durationSeconds - skipFirstSeconds + Self.secondsPerChunk - 1) / Self.secondsPerChunk
        let scanned = (chunks / period) * every + min(every, chunks % period)
        return limit.map { min($0, scanned) } ?? scanned
    }

    /// What a full scan of `durationSeconds` costs: one request per started 12-s chunk.
    public static func fullScanRequests(durationSeconds: Int) -> Int {
        (durationSeconds + secondsPerChunk - 1) / secondsPerChunk
    }

    /// Without a known duration AuDD's answer is the only evidence: chunks up to the last
    /// matched one under these parameters (a lower bound), at least 1, at most `limit`.
    public func estimatedRequests(lastMatchOffsetMs: Int?) -> Int {
        let period = every + skip
        var n = 1
        if let last = lastMatchOffsetMs, period > 0, every > 0 {
            let chunk = max(0, last / 1000 - skipFirstSeconds) / Self.secondsPerChunk
            n = (chunk / period) * every + min(every, chunk % period + 1)
        }
        return limit.map { min($0, n) } ?? n
    }

    /// As sent and as shown to operators: `skip=4 every=1 limit=60 skip_first_seconds=12`.
    public var summary: String {
        "skip=\(skip) every=\(every)" + (limit.map { " limit=\($0)" } ?? "") + " skip_first_seconds=\(skipFirstSeconds)"
    }
}
