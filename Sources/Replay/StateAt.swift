import EventLog
import Foundation
import LabelerCore
import Projections

/// `labeler replay state --at-seq N | --at-time T`: the labels in force at a point of the log.
public enum StateAt {
    public enum Point: Sendable {
        case seq(UInt64)
        /// Microseconds since the epoch.
        case time(Int64)
    }

    public struct Result: Sendable {
        /// The last seq included.
        public let seq: UInt64
        /// Labels in force: the latest per (src, uri, cid, val), not negated, not expired then.
        public let labels: [(seq: UInt64, label: Label)]
        public let negated: Int
        public let expired: Int
    }

    public static func compute(reader: EventLogReader, at point: Point) throws -> Result {
        var latest: [LabelKey: (UInt64, Label)] = [:]
        var lastSeq: UInt64 = 0
        var cutoffMicros: Int64 = Datetime.nowMicros()
        if case .time(let t) = point { cutoffMicros = t }
        var done = false
        var next: UInt64 = 1
        while !done {
            let page = try reader.read(from: next, limit: 10_000)
            guard let last = page.last else { break }
            for e in page {
                switch point {
                case .seq(let n) where e.seq > n: done = true
                case .time(let t) where e.envelope.recordedAt > t: done = true
                default: break
                }
                if done { break }
                lastSeq = e.seq
                if case .seq = point { cutoffMicros = e.envelope.recordedAt }
                if case .labelApplied(let la) = try e.envelope.decodeEvent() {
                    latest[la.label.key] = (e.seq, la.label)
                }
            }
            next = last.seq + 1
        }
        var labels: [(UInt64, Label)] = []
        var negated = 0, expired = 0
        for (_, (seq, l)) in latest {
            if l.isNegation {
                negated += 1
            } else if let exp = l.exp, let e = Datetime.parse(exp), e <= cutoffMicros {
                expired += 1
            } else {
                labels.append((seq, l))
            }
        }
        labels.sort { $0.0 < $1.0 }
        return Result(seq: lastSeq, labels: labels, negated: negated, expired: expired)
    }
}
