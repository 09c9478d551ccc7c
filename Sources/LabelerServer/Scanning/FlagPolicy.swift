import EventLog
import Foundation

/// Decides whether a scan's matches flag the track. Pure: it reads only the matches as recorded
/// in `ScanRecorded`, so anyone can re-run the decision from the log.
///
/// - `dominant` (default): flagged when one song (artist + title, case-insensitive) is in at least
///   `threshold` of the matched segments, or when the upload is a mix: at least `mixSongs`
///   distinct songs each matched at `mixOffsets` or more distinct offsets, or — aware of sampling —
///   at least `mixSongs` distinct songs with matched segments covering `mixCoverage` of the chunks
///   scanned (a sampled mix hits each song at one or two positions, so "≥ 3 positions per song"
///   never fires on it, while its coverage does not depend on the sampling rate).
/// - `presence`: any match flags.
///
/// A segment is one position in the upload: the match's `offsetMs`; a match without an offset
/// (the standard endpoint's single song) is a segment of its own. A song's positions, for the mix
/// rule, are its distinct `offsetMs` values, or its `timecode`s when AuDD gave no offset (the
/// original used `timecode`, which is a position in the reference recording, not the upload).
public struct FlagPolicy: Sendable, Equatable {
    public enum Rule: String, Sendable, CaseIterable {
        case dominant, presence
    }

    public var rule: Rule
    /// Share of matched segments (0, 1] one song needs under `dominant`.
    public var threshold: Double
    public var mixSongs = 3
    public var mixOffsets = 3
    /// Share of scanned chunks a mix's matches must cover (with `mixSongs` distinct songs).
    public var mixCoverage = 0.25
    /// On a sampled scan (after its escalation passes), the dominant song must be matched in at
    /// least this many chunks: a copy keeps hitting as more chunks are scanned, a one-off
    /// fingerprint-noise match does not.
    public var sampledMinSongChunks = 2

    public init(rule: Rule, threshold: Double = 0.3) {
        self.rule = rule
        self.threshold = threshold
    }

    /// From `FLAG_POLICY` / `FLAG_THRESHOLD`; nil for an unknown name.
    public init?(name: String, threshold: Double) {
        guard let rule = Rule(rawValue: name), threshold > 0, threshold <= 1 else { return nil }
        self.init(rule: rule, threshold: threshold)
    }

    /// As recorded in `ScanRecorded.policy`, with its parameters.
    public var description: String {
        switch rule {
        case .dominant: "dominant(threshold=\(threshold),mix=\(mixSongs)x\(mixOffsets)|\(mixSongs)@\(Self.percent(mixCoverage)))"
        case .presence: "presence"
        }
    }

    /// `scannedChunks`: how many chunks the provider scanned (nil when unknown: the coverage rule
    /// is then not applied). `sampled`: the scan did not cover every chunk.
    public func decide(_ matches: [ScanMatch], scannedChunks: Int? = nil, sampled: Bool = false) -> FlagDecision {
        let stats = MatchStats(matches)
        var d = FlagDecision(
            isFlagged: false, reason: "", dominantMatch: stats.dominant?.name,
            dominantPercent: stats.segments == 0 ? 0 : (stats.dominant?.segments ?? 0) * 100 / stats.segments,
            sustainedSongs: stats.sustainedSongs(atLeast: mixOffsets))
        guard let top = stats.dominant else {
            d.reason = "no matches"
            return d
        }
        let share = "\"\(top.name)\" in \(top.segments) of \(stats.segments) matched segments"
        switch rule {
        case .presence:
            d.isFlagged = true
            d.reason = "presence: \(matches.count) match\(matches.count == 1 ? "" : "es") of \(stats.songs.count) song\(stats.songs.count == 1 ? "" : "s")"
        case .dominant:
            // `count >= threshold × total`, with a margin for the threshold's binary rounding.
            let shareMet = Double(top.segments) >= threshold * Double(stats.segments) - 1e-9
            let thin = sampled && top.segments < sampledMinSongChunks
            let dominant = shareMet && !thin
            var mix = d.sustainedSongs >= mixSongs
            var pct = "\(d.dominantPercent)% \(shareMet ? "≥" : "<") \(Self.percent(threshold))"
            if shareMet && thin { pct += ", but \(top.segments) matched chunk < \(sampledMinSongChunks) on a sampled scan" }
            var mixText = "\(d.sustainedSongs) song\(d.sustainedSongs == 1 ? "" : "s") at ≥ \(mixOffsets) offsets"
            if !mix, let scanned = scannedChunks, scanned > 0 {
                let covered = Double(stats.segments) >= mixCoverage * Double(scanned) - 1e-9
                let songs = stats.songs.count
                if songs >= mixSongs && covered {
                    mix = true
                    mixText = "\(songs) songs in \(stats.segments) of \(scanned) scanned chunks (≥ \(Self.percent(mixCoverage)))"
                } else {
                    mixText += ", \(songs) song\(songs == 1 ? "" : "s") in \(stats.segments) of \(scanned) scanned chunks"
                }
            }
            d.isFlagged = dominant || mix
            switch (dominant, mix) {
            case (true, true): d.reason = "dominant: \(share) (\(pct)); mix: \(mixText)"
            case (true, false): d.reason = "dominant: \(share) (\(pct))"
            case (false, true): d.reason = "mix: \(mixText)" + (d.sustainedSongs >= mixSongs ? " (≥ \(mixSongs) songs)" : "")
            case (false, false): d.reason = "not flagged: \(share) (\(pct)); \(mixText) (< \(mixSongs) songs)"
            }
        }
        return d
    }

    static func percent(_ v: Double) -> String {
        let p = (v * 1000).rounded() / 10
        return p == p.rounded() ? "\(Int(p))%" : "\(p)%"
    }
}

/// The outcome of a flag policy, with the original service's summary figures.
public struct FlagDecision: Sendable, Equatable {
    public var isFlagged: Bool
    /// Why (or why not), recorded in `ScanRecorded.flagReason`.
    public var reason: String
    /// `"artist - title"`, lower-cased: the song in the most segments (nil without matches).
    public var dominantMatch: String?
    /// floor(100 × the dominant song's segments / matched segments).
    public var dominantPercent: Int
    /// Songs matched at enough distinct positions to count towards a mix.
    public var sustainedSongs: Int
}

/// Matches grouped by song and by segment.
struct MatchStats {
    struct Song {
        var name: String
        var segments: Int
        var positions: Set<String>
    }

    var songs: [String: Song] = [:]
    var segments = 0
    var dominant: Song? = nil

    init(_ matches: [ScanMatch]) {
        var segmentsBySong: [String: Set<String>] = [:]
        var allSegments = Set<String>()
        for (i, m) in matches.enumerated() {
            let artist = m.artist.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            let title = m.title.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            let key = artist + "\u{1F}" + title
            let segment = m.offsetMs.map { "o\($0)" } ?? "m\(i)"
            allSegments.insert(segment)
            segmentsBySong[key, default: []].insert(segment)
            var song = songs[key] ?? Song(name: "\(artist) - \(title)", segments: 0, positions: [])
            if let o = m.offsetMs {
                song.positions.insert("o\(o)")
            } else if let t = m.timecode {
                song.positions.insert("t\(t)")
            }
            songs[key] = song
        }
        for (key, segs) in segmentsBySong { songs[key]?.segments = segs.count }
        segments = allSegments.count
        // Most segments first; ties go to the smaller key, so the decision is deterministic.
        dominant = songs.sorted { a, b in
            a.value.segments != b.value.segments ? a.value.segments > b.value.segments : a.key < b.key
        }.first?.value
    }

    func sustainedSongs(atLeast n: Int) -> Int {
        songs.values.filter { $0.positions.count >= n }.count
    }
}
