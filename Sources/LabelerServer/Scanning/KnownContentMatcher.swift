import EventLog
import Foundation
import Projections

/// Local known-content matching of a downloaded upload, with the phase search: when a match's
/// BER lands between 0.03 and 0.12 (where a sub-item misalignment can push a true copy), the
/// upload is fingerprinted again shifted by 1/3 and 2/3 of an item, and the best grade per
/// reference is kept (the shifted prints are used for matching only, never stored).
enum KnownContentMatcher {
    static let phaseSearchBER = 300...1200  // basis points
    static let shifts = [455, 910]  // samples at 11,025 Hz: 1/3 and 2/3 of 4096/3

    static func match(
        path: String, items: [UInt32], _ match: ([UInt32]) throws -> [KnownMatch]
    ) async throws -> (matches: [KnownMatch], phaseSearched: Bool) {
        var best = try match(items)
        guard best.contains(where: { phaseSearchBER.contains($0.berBasisPoints) }) else { return (best, false) }
        for shift in shifts {
            guard let shifted = try? await MediaTools.fingerprint(path, shiftedBy: shift) else { continue }
            for m in try match(shifted) {
                if let i = best.firstIndex(where: { $0.refId == m.refId }) {
                    if Self.better(m, than: best[i]) { best[i] = m }
                } else {
                    best.append(m)
                }
            }
        }
        best.sort { (a: KnownMatch, b: KnownMatch) -> Bool in a.matchedMs != b.matchedMs ? a.matchedMs > b.matchedMs : a.refId < b.refId }
        return (best, true)
    }

    /// A flag beats a review; then the lower BER.
    static func better(_ a: KnownMatch, than b: KnownMatch) -> Bool {
        if a.verdict != b.verdict { return a.verdict == "flag" }
        return a.berBasisPoints < b.berBasisPoints
    }
}
