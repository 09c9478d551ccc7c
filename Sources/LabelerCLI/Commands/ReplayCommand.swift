import ArgumentParser
import EventLog
import Foundation
import LabelerCore
import Logging
import LabelerServer
import Projections
import Replay

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Rebuild, audit and reconstruct from the event log.",
        subcommands: [RebuildCmd.self, HistoryCmd.self, StateCmd.self, VerifyCmd.self, ExportCmd.self, ImportCmd.self])
}

func printErr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

func writeJSON(_ obj: Any) throws {
    var d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    d.append(0x0a)
    try writeOut(d)
}

/// Writes to standard output; a failure (a full disk, a closed pipe) is an error, not a crash.
func writeOut(_ d: Data) throws {
    do { try FileHandle.standardOutput.write(contentsOf: d) } catch {
        throw ReplayError("cannot write to standard output: \((error as NSError).localizedDescription)")
    }
}

/// Loggers for commands whose routine progress is not worth a line (warnings still show).
func quietLogger(_ label: String) -> Logger {
    var l = Logger(label: label)
    l.logLevel = .warning
    return l
}

struct RebuildCmd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Drop read models and rebuild them from seq 1 (safe while the server runs: switched in one transaction).")
    @OptionGroup var data: DataDirOption
    @Option(help: "Rebuild only this projection (repeatable). Default: all.") var projection: [String] = []

    func run() throws {
        let bar = ProgressBar()
        let r = try Rebuild.run(dataDir: data.dataDir, names: projection, progress: bar.update)
        bar.finish()
        print("rebuilt \(r.projections.joined(separator: ", ")) from \(r.events) events in \(String(format: "%.2f", r.seconds)) s (\(Int(r.eventsPerSecond)) events/s)\(r.whileServing ? "; a server is running, so the rebuild was switched in as one transaction" : "")")
    }
}

struct HistoryCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "A subject's whole moderation story, in order.")
    @OptionGroup var data: DataDirOption
    @Argument(help: "An AT-URI or DID.") var uri: String
    @Flag(help: "JSON for machines.") var json = false

    func run() throws {
        guard Syntax.isValidSubject(uri) else { throw ValidationError("not an AT-URI or DID: \(uri)") }
        let store = try ModerationStore(path: data.dataDir, readOnly: true, mustExist: true)
        try store.requireCurrentModels(only: [AuditProjection.name])
        let entries = try History.entries(store: store, subject: uri)
        if json {
            try writeJSON(["subject": uri, "events": entries.map(\.jsonObject)])
            return
        }
        if entries.isEmpty {
            print("no events concern \(uri)")
            return
        }
        print("history of \(uri) — \(entries.count) event(s)")
        for e in entries {
            print(String(format: "%8llu  %@  %-14@  %@", e.seq, e.at, e.actor, e.summary))
        }
    }
}

struct StateCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "The labels in force at a seq or an instant.")
    @OptionGroup var data: DataDirOption
    @Option(name: .customLong("at-seq"), help: "Include events up to and including this seq.") var atSeq: UInt64?
    @Option(name: .customLong("at-time"), help: "An RFC 3339 datetime, e.g. 2026-11-01T00:00:00Z.") var atTime: String?
    @Flag(help: "JSON for machines.") var json = false

    /// An RFC 3339 datetime as people type it (lower-case `t`/`z`, or a space between date and
    /// time), or a date alone (its midnight, UTC); microseconds since the epoch.
    static func instant(_ s: String) -> Int64? {
        var b = Array(s.utf8)
        if b.count == 10 { b += Array("T00:00:00Z".utf8) }
        if b.count > 10, b[10] == UInt8(ascii: " ") || b[10] == UInt8(ascii: "t") { b[10] = UInt8(ascii: "T") }
        if b.last == UInt8(ascii: "z") { b[b.count - 1] = UInt8(ascii: "Z") }
        return Datetime.parse(String(decoding: b, as: UTF8.self))
    }

    func validate() throws {
        guard (atSeq == nil) != (atTime == nil) else { throw ValidationError("give exactly one of --at-seq or --at-time") }
        if let atTime, Self.instant(atTime) == nil {
            throw ValidationError("--at-time is not an RFC 3339 datetime (e.g. 2026-11-01T00:00:00Z) or a date: \(atTime)")
        }
    }

    func run() throws {
        let env = try LMDBEnvironment(path: data.dataDir, mustExist: true)
        let point: StateAt.Point = if let atSeq { .seq(atSeq) } else { .time(Self.instant(atTime!)!) }
        let r = try StateAt.compute(reader: EventLogReader(env: env), at: point)
        if json {
            try writeJSON([
                "seq": r.seq, "negated": r.negated, "expired": r.expired,
                "labels": try r.labels.map { ["seq": $0.seq, "label": try JSONSerialization.jsonObject(with: Data($0.label.jsonString.utf8))] },
            ])
            return
        }
        print("labels in force after seq \(r.seq): \(r.labels.count) (\(r.negated) negated, \(r.expired) expired keys not shown)")
        for (seq, l) in r.labels {
            print(String(format: "%8llu  %@  %@%@", seq, l.val, l.uri, l.cid.map { " (cid \($0))" } ?? ""))
        }
    }
}

struct VerifyCmd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the hash chain, contiguous seqs, every label signature against the key of its time, and that every read model equals a fresh rebuild.")
    @OptionGroup var data: DataDirOption
    @Flag(help: "Skip the projection comparison.") var skipProjections = false

    func run() throws {
        let bar = ProgressBar()
        let r = try Verify.run(
            dataDir: data.dataDir, checkProjections: !skipProjections, logger: quietLogger("labeler.verify"), progress: bar.update)
        bar.finish()
        if let f = r.fault {
            print("FAULT at seq \(f.seq): \(f.reason)")
            throw ExitCode(1)
        }
        print("chain ok: \(r.events) events, \(r.labels) label signatures verified against \(r.keys) key(s) in \(String(format: "%.2f", r.chainSeconds)) s (\(Int(r.labelsPerSecond)) labels/s)")
        if !skipProjections {
            if r.projectionMismatches.isEmpty {
                print("projections ok: every read model equals a fresh rebuild (\(String(format: "%.2f", r.projectionSeconds)) s)")
            } else {
                print("FAULT: projections differ from a fresh rebuild: \(r.projectionMismatches.joined(separator: ", "))")
                throw ExitCode(1)
            }
        }
    }
}

struct ExportCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Events as JSON lines on standard output.")
    @OptionGroup var data: DataDirOption
    @Option(help: "The first seq to export.") var from: UInt64 = 1
    @Option(help: "The last seq to export (default: the head).") var to: UInt64?

    func validate() throws {
        if let to, to < from { throw ValidationError("--to \(to) is before --from \(from)") }
    }

    func run() throws {
        let env = try LMDBEnvironment(path: data.dataDir, mustExist: true)
        var buffer = Data()
        let n = try Export.run(reader: EventLogReader(env: env), from: from, to: to) { line in
            buffer.append(line)
            if buffer.count > 1 << 20 {
                try writeOut(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try writeOut(buffer)
        printErr("exported \(n) events")
    }
}

struct ImportCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Restore an export (a file or -) into an empty data directory.")
    @OptionGroup var data: DataDirOption
    @Argument(help: "The JSON-lines file, or - for standard input.") var file: String
    @Flag(help: "Import an export that has no end line (cut short, or written before exports had one).")
    var allowIncomplete = false

    func run() throws {
        let content: Data
        do {
            content = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        } catch { throw ReplayError("cannot read \(file): \((error as NSError).localizedDescription)") }
        let text = String(decoding: content, as: UTF8.self)
        let n = try Import.run(
            dataDir: data.dataDir, lines: Import.lines(text), allowIncomplete: allowIncomplete, logger: quietLogger("labeler.import"))
        print("imported \(n) events into \(data.dataDir); run `labeler replay verify --data-dir \(data.dataDir)` to audit it")
        if !FileManager.default.fileExists(atPath: ServerConfig.keyPath(data.dataDir)) {
            print("before `labeler serve`, put the labeler's signing key in \(ServerConfig.keyPath(data.dataDir)) (mode 0600) or set LABELER_SIGNING_KEY")
        }
    }
}
