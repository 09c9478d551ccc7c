import Foundation

/// The terminal view: a header, each step as it happens, then a summary table.
public struct TextReporter: Sendable {
    let style: Style
    let write: @Sendable (String) -> Void

    public init(color: Bool, write: @escaping @Sendable (String) -> Void) {
        style = Style(enabled: color)
        self.write = write
    }

    public func header(_ runner: LoopRunner) {
        let s = runner.settings
        write(style.bold("moderation loop") + " · \(s.env.rawValue)" + (s.dryRun ? " · " + style.yellow("DRY RUN: nothing will be changed") : ""))
        for (k, v) in [
            ("labeler", s.serviceURL), ("track API", s.trackAPI), ("analyzers", runner.analyzerNames.joined(separator: ", then ")),
            ("notify", runner.notifierDestinations.joined(separator: " and ")), ("limit", s.limit.map(String.init) ?? "none"),
        ] {
            write("  " + k.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + v)
        }
    }

    public var observer: LoopObserver {
        let style = style
        let write = write
        return { event in
            switch event {
            case .step(let n, let title): write("\n" + style.bold("\(n). \(title)"))
            case .warning(let w): write("   " + style.yellow("! \(w)"))
            case .line(let mark, let uri, let text):
                let symbol: String = switch mark {
                case .ok: style.green("✓")
                case .deleted: style.yellow("⌫")
                case .kept: style.yellow("?")
                case .resolved: style.green("→")
                case .falsePositive: style.green("○")
                case .violation: style.red("✗")
                case .needsHuman: style.yellow("◆")
                case .batch: "▣"
                case .notified: style.green("✉")
                case .failed: style.red("✗")
                case .info: "·"
                }
                let body = mark == .failed ? style.red(text) : text
                write("   \(symbol) " + (uri.map { "\($0)  " } ?? "") + body)
            }
        }
    }

    public func summary(_ report: LoopReport) {
        write("\n" + style.bold("summary"))
        if !report.flags.isEmpty {
            let rows = [["flag", "track", "decision", "by", "outcome"]] + report.flags.map(Self.row)
            let widths = (0..<5).map { c in rows.map { $0[c].count }.max()! }
            for (i, r) in rows.enumerated() {
                let line = zip(r, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                write("  " + (i == 0 ? style.bold(line) : line).trimmingTrailingSpaces)
            }
        }
        write("  " + Self.totals(report))
    }

    static func row(_ f: FlagOutcome) -> [String] {
        let decision = f.resolution == "content_deleted" ? "deleted" : (f.verdict?.category.rawValue ?? "-")
        let by = f.resolution == "content_deleted" ? "track API" : (f.verdict?.analyzer ?? "-")
        let outcome: String = switch f.action {
        case .resolved: "resolved: \(f.resolution ?? "")"
        case .wouldResolve: "would resolve: \(f.resolution ?? "")"
        case .batched: "in review batch"
        case .batchedElsewhere: "in another run's batch"
        case .wouldBatch: "would go to review"
        case .failed: "FAILED (still pending)"
        case nil: "kept"
        }
        return [f.uri, f.trackId.map(String.init) ?? "-", decision, by, outcome]
    }

    static func totals(_ r: LoopReport) -> String {
        let resolved = r.flags.filter { $0.action == .resolved || $0.action == .wouldResolve }
        let verb = r.dryRun ? "would resolve" : "resolved"
        var parts = ["\(r.pending) pending"]
        if r.awaitingReview > 0 { parts.append("\(r.awaitingReview) already in review") }
        if !r.skipped.isEmpty { parts.append("\(r.skipped.count) skipped (other environment)") }
        parts += ["\(r.flags.count) processed", "\(resolved.count) \(verb) (\(r.deleted) deleted, \(resolved.count - r.deleted) false positive)"]
        if let b = r.batch {
            parts.append("\(b.flagCount) in review batch \(b.id)")
        } else if r.dryRun {
            let n = r.flags.filter { $0.action == .wouldBatch }.count
            if n > 0 { parts.append("\(n) would go to review") }
        }
        for n in r.notifications { parts.append(n.delivered ? "notified \(n.destination)" : "NOT notified \(n.destination)") }
        if !r.errors.isEmpty { parts.append("\(r.errors.count) error(s)") }
        return parts.joined(separator: " · ")
    }
}

/// ANSI styling, only for a terminal (and never with NO_COLOR set).
struct Style: Sendable {
    let enabled: Bool
    func wrap(_ s: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { wrap(s, "1") }
    func red(_ s: String) -> String { wrap(s, "31") }
    func green(_ s: String) -> String { wrap(s, "32") }
    func yellow(_ s: String) -> String { wrap(s, "33") }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
