import CLMDB
import Foundation

/// An LMDB environment (one directory). Opened with `MDB_NOTLS` so read transactions are not
/// bound to threads; the single write transaction is used by one thread only (see `EventLog`).
public final class LMDBEnvironment: @unchecked Sendable {
    let env: OpaquePointer
    public let path: String
    private let dbiLock = NSLock()
    private var dbis: [String: MDB_dbi] = [:]

    /// Opens the environment in the directory `path`, creating both unless `mustExist`: then a
    /// path that is not a directory holding `data.mdb` is refused (`DataDirectoryError`), and
    /// nothing is created (a mistyped `--data-dir` must not look like an empty, valid log).
    public init(path: String, mapSize: Int = 1 << 36, maxDatabases: UInt32 = 64, mustExist: Bool = false) throws {
        if mustExist { try DataDirectoryError.checkExisting(path) }
        var e: OpaquePointer?
        try LMDBError.check(mdb_env_create(&e), "env_create")
        env = e!
        self.path = path
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, maxDatabases), "set_maxdbs")
            try LMDBError.check(mdb_env_set_mapsize(env, mapSize), "set_mapsize")
            try LMDBError.check(mdb_env_set_maxreaders(env, 1024), "set_maxreaders")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)

            try LMDBError.check(mdb_env_open(env, path, UInt32(MDB_NOTLS | MDB_NORDAHEAD), 0o600), "env_open \(path)")
        } catch let error as LMDBError {
            throw error  // `deinit` closes the environment (every stored property is set by now)
        } catch {
            throw LMDBError(EIO, "create directory \(path): \(error)")
        }
    }

    deinit { mdb_env_close(env) }

    /// Opens (creating if needed) a named database. Handles are cached for the environment's life.
    public func database(_ name: String, flags: Int32 = 0) throws(LMDBError) -> MDB_dbi {
        dbiLock.lock()
        defer { dbiLock.unlock() }
        if let d = dbis[name] { return d }
        let txn = try LMDBTransaction(env: self, readOnly: false)
        var dbi: MDB_dbi = 0
        do {
            try LMDBError.check(mdb_dbi_open(txn.txn, name, UInt32(MDB_CREATE | flags), &dbi), "dbi_open \(name)")
            try txn.commit()
        } catch {
            txn.abort()
            throw error
        }
        dbis[name] = dbi
        return dbi
    }

    public func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        let txn = try LMDBTransaction(env: self, readOnly: true)
        defer { txn.abort() }
        return try body(txn)
    }

    /// Begins a write transaction that the caller commits (or aborts, or drops: it is aborted when
    /// released). For code that commits in chunks and must hand the transaction around.
    public func beginWrite() throws(LMDBError) -> LMDBTransaction { try LMDBTransaction(env: self, readOnly: false) }

    /// Runs `body` in a write transaction on the calling thread and commits it. Must not be called
    /// while the event log's writer owns the write lock from the same thread.
    public func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        let txn = try LMDBTransaction(env: self, readOnly: false)
        do {
            let result = try body(txn)
            try txn.commit()
            return result
        } catch {
            txn.abort()
            throw error
        }
    }

}

/// Makes a directory's entries durable (a rename or a new file in it survives a power loss).
public func syncDirectory(_ path: String) throws(DataDirectoryError) {
    let fd = open(path, O_RDONLY | O_DIRECTORY)
    guard fd >= 0 else { throw DataDirectoryError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw DataDirectoryError("cannot sync \(path): \(String(cString: strerror(errno)))") }
}

/// A data directory that is not there, or not a labeler's.
public struct DataDirectoryError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }

    static func checkExisting(_ path: String) throws(DataDirectoryError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataDirectoryError("no data directory at \(path)")
        }
        guard isDir.boolValue else { throw DataDirectoryError("\(path) is not a directory") }
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw DataDirectoryError("\(path) is not a labeler data directory (it has no data.mdb)")
        }
    }
}
