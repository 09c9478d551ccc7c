import Mustache

/// The admin pages' Mustache templates, compiled into the binary. `{{name}}` HTML-escapes
/// (`< > & " '`); a test makes sure no template uses the unescaped forms.
enum AdminTemplates {
    static let sources: [String: [UInt8]] = [
        "head": PackageResources.head_mustache,
        "signin": PackageResources.signin_mustache,
        "dashboard": PackageResources.dashboard_mustache,
        "review": PackageResources.review_mustache,
        "flag_summary": PackageResources.flag_summary_mustache,
        "flags": PackageResources.flags_mustache,
        "stats": PackageResources.stats_mustache,
        "reports": PackageResources.reports_mustache,
        "images": PackageResources.images_mustache,
        "history": PackageResources.history_mustache,
        "batch": PackageResources.batch_mustache,
        "known_review": PackageResources.known_review_mustache,
    ]

    /// Parsed once. The sources are part of the build, so a parse error is a programming error
    /// that every admin test would hit first.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, bytes) in sources {
            do { try library.register(String(decoding: bytes, as: UTF8.self), named: name) } catch {
                fatalError("admin template \(name) does not parse: \(error)")
            }
        }
        return library
    }()

    static func render(_ name: String, _ view: Any) -> String {
        guard let out = library.render(view, withTemplate: name) else { fatalError("no admin template \(name)") }
        return out
    }
}
