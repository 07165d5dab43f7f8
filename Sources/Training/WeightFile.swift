import Foundation
import Layers
import Tensor

/// The weight file format (`.cnnw`):
///   bytes 0..7    magic "CNNSW001"
///   bytes 8..11   header length H, UInt32 little-endian
///   bytes 12..    H bytes of JSON: {"model", "input_shape", "tensors": [{"layer", "name", "shape", "count"}]}
///   then          the tensors' float32 values, little-endian, in header order
public enum WeightFile {
    static let magic = Array("CNNSW001".utf8)

    struct Header: Codable {
        var model: String
        var inputShape: [Int]
        var tensors: [Entry]
        struct Entry: Codable { var layer: String; var name: String; var shape: [Int]; var count: Int }
    }

    public static func encode(_ model: Sequential) throws -> Data {
        let params = model.allParameters
        let header = Header(
            model: model.name, inputShape: model.inputShape,
            tensors: params.map {
                .init(
                    layer: $0.layer, name: $0.parameter.name, shape: $0.parameter.value.shape.dims,
                    count: $0.parameter.value.count)
            })
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let h = try enc.encode(header)
        var out = Data(magic)
        var len = UInt32(h.count).littleEndian
        out.append(Data(bytes: &len, count: 4))
        out.append(h)
        for (_, p) in params {
            out.append(Data(bytes: p.value.data, count: p.value.count * 4))
        }
        return out
    }

    /// Loads values into `model`, checking model, layer names and shapes; errors name the file and tensor.
    public static func load(_ data: Data, into model: Sequential, file: String) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 12, Array(bytes[0..<8]) == magic else {
            throw ProfileError("\(file): not a cnnscope weight file (bad magic at byte 0, expected CNNSW001)")
        }
        let hlen = Int(UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24)
        guard 12 + hlen <= bytes.count else {
            throw ProfileError("\(file): truncated header (needs \(hlen) bytes at byte 12)")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes[12..<(12 + hlen)])) } catch {
            throw ProfileError("\(file): damaged header at byte 12: \(error.localizedDescription)")
        }
        guard header.inputShape == model.inputShape else {
            throw ProfileError(
                "\(file): weights are for input \(header.inputShape), the model takes \(model.inputShape)")
        }
        let params = model.allParameters
        guard header.tensors.count == params.count else {
            throw ProfileError(
                """
                \(file): holds \(header.tensors.count) tensors for model '\(header.model)', '\(model.name)' has \
                \(params.count)
                """
            )
        }
        var off = 12 + hlen
        for (e, (layer, p)) in zip(header.tensors, params) {
            guard e.layer == layer, e.name == p.name, e.shape == p.value.shape.dims else {
                throw ProfileError(
                    """
                    \(file): tensor \(e.layer)/\(e.name) \(e.shape) does not match the model's \(layer)/\(p.name) \
                    \(p.value.shape.dims)
                    """
                )
            }
            guard off + e.count * 4 <= bytes.count else {
                throw ProfileError(
                    "\(file): truncated at byte \(bytes.count) inside \(e.layer)/\(e.name) (needs \(off + e.count * 4))"
                )
            }
            bytes.withUnsafeBytes { raw in
                let src = raw.baseAddress! + off
                memcpy(p.value.data, src, e.count * 4)
            }
            p.version += 1
            off += e.count * 4
        }
        guard off == bytes.count else {
            throw ProfileError("\(file): \(bytes.count - off) unexpected bytes after the last tensor")
        }
    }
}
