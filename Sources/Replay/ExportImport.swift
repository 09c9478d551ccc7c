import EventLog
import Foundation
import LabelerCore
import Logging
import Projections

/// `labeler replay export` / `import`: events as JSON lines, for auditors and backups.
public enum Export {
    /// One JSON object per event: seq, at, type, v, actor, prev (hex) and the payload in the
    /// atproto JSON mapping (labels in their JSON form, `sig` as `{"$bytes"}`).
    public static func line(_ e: StoredEvent) throws -> Data {
        let obj: [String: Any] = [
            "seq": e.seq, "at": e.envelope.recordedAtString, "atMicros": e.envelope.recordedAt, "type": e.envelope.type,
            "v": e.envelope.v, "actor": e.envelope.actor, "prev": Hex.encode(e.envelope.prev),
            "payload": try e.envelope.decodedPayload().jsonObject,
        ]
        var d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
        d.append(0x0a)
        return d
    }

    /// Writes events `from`…`to` (default: to the head) as lines, then the end line (`endLine`),
    /// which lets an import tell a whole export from one cut short. Returns the number of events.
    public static func run(reader: EventLogReader, from: UInt64 = 1, to: UInt64? = nil, write: (Data) throws -> Void) throws -> UInt64 {
        if let to, to < from { throw ReplayError("--to \(to) is before --from \(from)") }
        // An altered last event passes the chain check (nothing after it names its hash): only the
        // recorded end catches it, and an export would carry it on under a fresh end line.
        if let fault = try reader.env.read({ try reader.endFault($0) }), (to ?? .max) >= fault.seq {
            throw ReplayError("the log is damaged at seq \(fault.seq): \(fault.reason). --to \(fault.seq - 1) exports the events before it")
        }
        var n: UInt64 = 0
        var next = from
        var last: StoredEvent? = nil
        outer: while true {
            let page = try reader.read(from: next, limit: 5000)
            guard let pageLast = page.last else { break }
            for e in page {
                if let to, e.seq > to { break outer }
                try write(try line(e))
                n += 1
                last = e
            }
            next = pageLast.seq + 1
        }
        try write(endLine(events: n, last: last))
        return n
    }

    /// The export's last line: how many events it holds, and the seq and hash (SHA-256 of the
    /// stored envelope) of the last one, so that a cut-short export or an altered last event is
    /// refused by `import`.
    public static func endLine(events: UInt64, last: StoredEvent?) throws -> Data {
        var end: [String: Any] = ["events": events]
        if let last {
            end["lastSeq"] = last.seq
            end["lastHash"] = Hex.encode(SHA256.hash(last.bytes))
        }
        var d = try JSONSerialization.data(withJSONObject: ["end": end], options: [.sortedKeys])
        d.append(0x0a)
        return d
    }
}

public enum Import {
    /// The lines of an export: split at LF or CRLF (JSON escapes both inside strings).
    public static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }

    /// Restores an export into a data directory that holds no log yet (it may hold the key and
    /// token files): every envelope is re-encoded from its JSON, its `prev` must match the chain
    /// as rebuilt, seqs must run 1, 2, 3…, the end line must match; then every read model is
    /// built. All or nothing: the log is built in `DIR/.import-staging` and moved into place
    /// (one rename) only once complete, so a failure or an interruption leaves no log behind.
    /// `allowIncomplete` accepts an export without its end line (cut short, or from before the
    /// end line existed). Returns the number of events.
    public static func run(
        dataDir: String, lines: some Sequence<Substring>, allowIncomplete: Bool = false,
        logger: Logger = Logger(label: "labeler.import")
    ) throws -> UInt64 {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDir), !isDir.boolValue {
            throw ReplayError("\(dataDir) is not a directory")
        }
        try refuseIfItHoldsALog(dataDir)
        let created = !FileManager.default.fileExists(atPath: dataDir)
        let staging = dataDir + "/.import-staging"
        try? FileManager.default.removeItem(atPath: staging)  // left by an import that was interrupted
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let n: UInt64
        do { n = try build(staging, lines: lines, allowIncomplete: allowIncomplete, logger: logger) } catch {
            try? FileManager.default.removeItem(atPath: staging)
            if created { rmdir(dataDir) }  // only if still empty
            throw error
        }
        // Moved in holding the directory's writer lock, so no server can have started on it meanwhile.
        try EventLog.withWriterLockIfFree(dataDir) { free in
            guard free else { throw ReplayError("a labeler is running on \(dataDir); stop it to import") }
            try refuseIfItHoldsALog(dataDir)
            guard rename(staging + "/data.mdb", dataDir + "/data.mdb") == 0 else {
                throw ReplayError("cannot move the imported log into \(dataDir): \(String(cString: strerror(errno)))")
            }
            try? syncDirectory(dataDir)  // the log is in place; its rename is made durable when it can be
        }
        return n
    }

    static func refuseIfItHoldsALog(_ dataDir: String) throws {
        guard FileManager.default.fileExists(atPath: dataDir + "/data.mdb") else { return }
        let head = try EventLogReader(env: LMDBEnvironment(path: dataDir, mustExist: true)).storedHead()
        guard head == 0 else { throw ReplayError("\(dataDir) already holds events; import needs a data directory without a log") }
    }

    static func build(_ dir: String, lines: some Sequence<Substring>, allowIncomplete: Bool, logger: Logger) throws -> UInt64 {
        let store = try ModerationStore(path: dir, logger: logger)
        defer { store.close() }
        var expected: UInt64 = 1
        var prev = EventEnvelope.genesisPrev
        var batch: [(UInt64, [UInt8])] = []
        var ended = false
        func flush() throws {
            let b = batch
            try store.env.write { txn in for (seq, bytes) in b { try txn.put(store.reader.eventsDB, BigEndian.bytes(seq), bytes, append: true) } }
            batch.removeAll(keepingCapacity: true)
        }
        for (lineNumber, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
            func bad(_ why: String) -> ReplayError { ReplayError("line \(lineNumber + 1): \(why)") }
            guard !ended else { throw bad("a line after the export's end line") }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw bad("not a JSON object")
            }
            if let end = obj["end"] as? [String: Any], obj.count == 1 {
                let events = (end["events"] as? NSNumber)?.uint64Value
                guard events == expected - 1 else {
                    throw bad("the end line counts \(events.map(String.init) ?? "?") events but \(expected - 1) came before it")
                }
                if expected > 1 {
                    guard (end["lastSeq"] as? NSNumber)?.uint64Value == expected - 1, (end["lastHash"] as? String).flatMap(Hex.decode) == prev else {
                        throw bad("the end line's last seq or hash does not match the last event (export altered)")
                    }
                }
                ended = true
                continue
            }
            guard let seq = (obj["seq"] as? NSNumber)?.uint64Value, let type = obj["type"] as? String,
                let v = (obj["v"] as? NSNumber)?.intValue, let actor = obj["actor"] as? String,
                let prevHex = obj["prev"] as? String, let payloadJSON = obj["payload"]
            else { throw bad("missing seq, type, v, actor, prev or payload") }
            guard seq == expected else {
                throw bad(expected == 1 ? "the export starts at seq \(seq); a log can only be restored from seq 1" : "seq \(seq) where \(expected) was expected")
            }
            guard Hex.decode(prevHex) == prev else { throw bad("prev does not match the chain (export altered or incomplete)") }
            let at: Int64
            if let micros = (obj["atMicros"] as? NSNumber)?.int64Value {
                at = micros
            } else if let s = obj["at"] as? String, let m = Datetime.parse(s) {
                at = m
            } else {
                throw bad("missing at")
            }
            let payload: CBOR
            do { payload = try CBOR(jsonObject: payloadJSON) } catch { throw bad("payload: \(error)") }
            let envelope = EventEnvelope(seq: seq, recordedAt: at, type: type, v: v, actor: actor, payload: payload, prev: prev)
            do { _ = try envelope.decodeEvent() } catch { throw bad("\(error)") }
            let bytes = envelope.encoded()
            prev = SHA256.hash(bytes)
            batch.append((seq, bytes))
            if batch.count >= 20_000 { try flush() }
            expected += 1
        }
        if expected == 1 { throw ReplayError("the export holds no events") }
        if !ended && !allowIncomplete {
            throw ReplayError(
                "the export has no end line: it was cut short (or written before exports had one); nothing was imported. --allow-incomplete imports the \(expected - 1) events it holds")
        }
        try flush()
        try store.env.write { txn in try store.reader.recordTip(seq: expected - 1, hash: prev, txn) }
        try store.projections.rebuild(store.projections.projections, reader: store.reader)
        return expected - 1
    }
}
