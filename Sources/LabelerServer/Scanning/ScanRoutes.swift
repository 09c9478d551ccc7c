import Foundation
import Hummingbird

/// `POST /scan` (admin). Being built: answers 503 until the AuDD scanner is in place.
struct ScanRoutes {
    let service: LabelerService
    let config: ServerConfig

    func register(_ admin: RouterGroup<LabelerRequestContext>) {
        admin.post("/scan") { _, _ -> Response in
            throw XRPCError(.serviceUnavailable, "ScannerNotConfigured", "no scanner is configured (set AUDD_API_KEY)")
        }
    }
}
