/// Deterministic rules, run before any model. They only ever clear a flag, and only when the
/// evidence in the flag itself is unambiguous; anything else is left to the next analyzer.
///
/// The one rule: **the uploader is the matched artist.** Every match's artist credit names the
/// uploader: the first label of the uploader's handle (`daftpunk` in `daftpunk.bsky.social` or
/// `daftpunk.com`), or the uploader's DID, compared as lower-case letters and digits, whole
/// names only (no substring matching), at least four characters. Resolved as `original_artist`.
///
/// What it trusts: that a handle naming an artist belongs to that artist. A handle is chosen by
/// its owner, so this is a policy, not proof — the same one plyr.fm's backend already applies
/// (more loosely, by substring) before it even reports a scan. Rules never call a flag a
/// VIOLATION: a fingerprint match alone cannot tell infringement from a licence or a cover.
public struct RuleAnalyzer: Analyzer {
    public let name = "rules"
    static let minimumNameLength = 4

    public init() {}

    public func analyze(_ flags: [PendingFlag]) async -> (verdicts: [Verdict], warnings: [String]) {
        (flags.compactMap(Self.verdict), [])
    }

    public static func verdict(_ flag: PendingFlag) -> Verdict? {
        guard let c = flag.context, !flag.matches.isEmpty else { return nil }
        var names: Set<String> = []
        if let h = c.artistHandle {
            let first = normalize(String(h.drop(while: { $0 == "@" }).split(separator: ".").first ?? ""))
            if first.count >= minimumNameLength { names.insert(first) }
        }
        if let did = c.artistDid, did.count >= minimumNameLength { names.insert(normalize(did)) }
        guard !names.isEmpty else { return nil }
        for m in flag.matches where credits(m.artist).isDisjoint(with: names) { return nil }
        let artists = Array(Set(flag.matches.map(\.artist))).sorted().prefix(3).map { "\"\($0)\"" }.joined(separator: ", ")
        let who = c.artistHandle.map { "@\($0.drop(while: { $0 == "@" }))" } ?? c.artistDid!
        return Verdict(
            uri: flag.uri, category: .falsePositive,
            reason: "uploader \(who) is the credited artist of every match (\(artists))", analyzer: "rules",
            resolution: "original_artist")
    }

    /// The main artists credited in an artist string: the whole credit and each of "A & B",
    /// "A, B", "A x B", "A / B". Featured artists ("A feat. B", "A with B") are not owners of
    /// the recording, so they do not count.
    static func credits(_ artist: String) -> Set<String> {
        var main = " " + artist.lowercased() + " "
        for sep in [" featuring ", " feat. ", " feat ", " ft. ", " ft ", " with ", "(feat", "(ft", "(with"] {
            if let r = main.range(of: sep) { main = String(main[..<r.lowerBound]) }
        }
        var parts = [main]
        for sep in [" & ", " and ", " x ", ",", ";", "/"] {
            parts = parts.flatMap { $0.components(separatedBy: sep) }
        }
        return Set(([main] + parts).map(normalize).filter { $0.count >= minimumNameLength })
    }

    static func normalize(_ s: String) -> String {
        String(s.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) })
    }
}

import Foundation
