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

    public static func run(reader: EventLogReader, from: UInt64 = 1, to: UInt64? = nil, write: (Data) -> Void) throws -> UInt64 {
        var n: UInt64 = 0
        var next = from
        outer: while true {
            let page = try reader.read(from: next, limit: 5000)
            guard let last = page.last else { break }
            for e in page {
                if let to, e.seq > to { break outer }
                write(try line(e))
                n += 1
            }
            next = last.seq + 1
        }
        return n
    }
}

public enum Import {
    /// Restores an export into an EMPTY data directory: every envelope is re-encoded from its
    /// JSON, its `prev` must match the chain as rebuilt, seqs must run 1, 2, 3…; then every read
    /// model is built. Returns the number of events.
    public static func run(dataDir: String, lines: some Sequence<Substring>, logger: Logger = Logger(label: "labeler.import")) throws
        -> UInt64
    {
        let store = try ModerationStore(path: dataDir, logger: logger)
        defer { store.close() }
        guard try store.reader.storedHead() == 0 else { throw ReplayError("\(dataDir) already holds events; import needs an empty data directory") }
        var expected: UInt64 = 1
        var prev = EventEnvelope.genesisPrev
        var batch: [(UInt64, [UInt8])] = []
        func flush() throws {
            let b = batch
            try store.env.write { txn in for (seq, bytes) in b { try txn.put(store.reader.eventsDB, BigEndian.bytes(seq), bytes, append: true) } }
            batch.removeAll(keepingCapacity: true)
        }
        for (lineNumber, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
            func bad(_ why: String) -> ReplayError { ReplayError("line \(lineNumber + 1): \(why)") }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw bad("not a JSON object")
            }
            guard let seq = (obj["seq"] as? NSNumber)?.uint64Value, let type = obj["type"] as? String,
                let v = (obj["v"] as? NSNumber)?.intValue, let actor = obj["actor"] as? String,
                let prevHex = obj["prev"] as? String, let payloadJSON = obj["payload"]
            else { throw bad("missing seq, type, v, actor, prev or payload") }
            guard seq == expected else { throw bad("seq \(seq) where \(expected) was expected") }
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
        try flush()
        try store.projections.rebuild(store.projections.projections, reader: store.reader)
        return expected - 1
    }
}
