/// What went wrong reading an ONNX model, as one line that names the file, and the node, its
/// operator and the opset where there is one.
public struct OnnxError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func node(
        _ file: String, _ node: Onnx_NodeProto, opset: Int, _ why: String
    ) -> OnnxError {
        let name = node.name.isEmpty ? (node.output.first ?? "?") : node.name
        return OnnxError("\(file): node '\(name)' (\(node.opType), opset \(opset)): \(why)")
    }
}
