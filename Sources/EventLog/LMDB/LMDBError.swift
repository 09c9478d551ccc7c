import CLMDB
import Foundation

/// An LMDB failure, with the library's own message.
public struct LMDBError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: Int32
    public let operation: String

    public init(_ code: Int32, _ operation: String) {
        self.code = code
        self.operation = operation
    }

    public var message: String { String(cString: mdb_strerror(code)) }
    public var description: String { "LMDB \(operation): \(message)" }

    /// The data directory's disk or the map is full: the write did not happen and may be retried.
    public var isOutOfSpace: Bool { code == MDB_MAP_FULL || code == ENOSPC || code == EDQUOT }

    /// A key (at most 511 bytes) or value too large for LMDB: that input can never be stored.
    public var isTooLarge: Bool { code == MDB_BAD_VALSIZE }

    @inline(__always)
    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
        if rc != 0 { throw LMDBError(rc, operation()) }
    }
}
