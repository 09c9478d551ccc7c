import ArgumentParser
import Foundation
import Hummingbird
import LabelerCore
import LabelerServer
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the labeler: XRPC queryLabels and subscribeLabels, label emission, admin API.",
        discussion: """
            Environment: MODERATION_AUTH_TOKEN (admin key), LABELER_SIGNING_KEY (hex secp256k1 key), LABELER_DID, \
            LABELER_PUBLIC_URL. Flags win over the environment. On first run the data directory gets a new signing \
            key and admin token, each in a 0600 file.
            """)
    @Option(name: .long, help: "The data directory (default ./data).") var dataDir: String?
    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port (default 8080; 0 picks a free one).") var port: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    func run() async throws {
        var logger = Logger(label: "labeler")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let config: ServerConfig
        let service: LabelerService
        do {
            config = try ServerConfig.resolve(dataDir: dataDir, host: host, port: port)
            service = try await LabelerService(config: config, logger: logger)
        } catch {
            printErr("labeler: \(error)")
            throw ExitCode(2)
        }
        if let path = config.createdKeyPath { logger.notice("generated a signing key", metadata: ["path": "\(path)"]) }
        if let path = config.createdTokenPath {
            logger.notice("generated an admin token: send it as X-Moderation-Key", metadata: ["path": "\(path)"])
        }
        logger.notice(
            "labeler starting",
            metadata: ["did": "\(service.did)", "key": "\(service.key.publicKey.didKey)", "head": "\(service.log.head)",
                       "address": "\(config.host):\(config.port)", "data": "\(config.dataDir)"])
        if let warning = Identity.didWebWarning(did: service.did, publicURL: config.publicURL) { logger.warning("\(warning)") }
        let app = buildApplication(service: service, config: config, logger: logger)
        try await app.runService()
    }
}
