/// Typed reads of a node's attributes, with the defaults the ONNX operator schemas give.
extension Onnx_NodeProto {
    func attribute(_ name: String) -> Onnx_AttributeProto? { attribute.first { $0.name == name } }

    func int(_ name: String, default value: Int) -> Int { attribute(name).map { Int($0.i) } ?? value }

    func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map(Int.init) } }

    func float(_ name: String, default value: Float) -> Float { attribute(name)?.f ?? value }

    func string(_ name: String, default value: String) -> String {
        attribute(name).map { String(decoding: $0.s, as: UTF8.self) } ?? value
    }

    /// The name of input `i`, or nil when it is absent or left empty (an optional input).
    func input(_ i: Int) -> String? { i < input.count && !input[i].isEmpty ? input[i] : nil }
}
