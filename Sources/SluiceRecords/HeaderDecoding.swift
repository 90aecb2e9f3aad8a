extension ConsumerRecord {
    /// The first value of header `name` as UTF-8 text (invalid bytes replaced), nil when absent.
    public func headerText(_ name: String) -> String? {
        header(name).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether header `name` holds exactly `text`.
    public func header(_ name: String, is text: String) -> Bool {
        header(name).map { $0.elementsEqual(text.utf8) } ?? false
    }

    /// The record's key as UTF-8 text.
    public var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}
