import Foundation
import Tensor

// images file: magic 0x00000803, count, rows, cols (big-endian UInt32), then count·rows·cols bytes
// labels file: magic 0x00000801, count, then count bytes
/// MNIST and Fashion-MNIST in the IDX format (raw or gzip), scaled by 1/255 to (N,28,28,1).
public enum IDXLoader {
    public static let fashionClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    public static let digitClassNames = (0..<10).map(String.init)

    static func be32(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
    }

    public static func loadImages(_ path: String) throws -> Tensor {
        let b = try DataFile.read(path)
        guard b.count >= 16 else {
            throw DatasetError("\(path): \(b.count) bytes, too short for an IDX image header (16 bytes)")
        }
        let magic = be32(b, 0)
        guard magic == 0x0803 else {
            throw DatasetError(
                "\(path): byte 0: magic number 0x\(String(magic, radix: 16)), expected 0x803 (IDX unsigned-byte images)"
            )
        }
        let n = be32(b, 4), rows = be32(b, 8), cols = be32(b, 12)
        guard n > 0, rows > 0, cols > 0, rows <= 4096, cols <= 4096 else {
            throw DatasetError("\(path): byte 4: implausible header count \(n), rows \(rows), cols \(cols)")
        }
        let need = 16 + n * rows * cols
        guard b.count >= need else {
            throw DatasetError(
                """
                \(path): truncated at byte \(b.count): header announces \(n) images of \(rows)x\(cols), which \
                need \(need) bytes
                """
            )
        }
        let t = try Tensor([n, rows, cols, 1], zeroed: false)
        b.withUnsafeBufferPointer { p in
            for i in 0..<(n * rows * cols) { t.data[i] = Float(p[16 + i]) * (1 / 255) }
        }
        return t
    }

    public static func loadLabels(_ path: String, classes: Int = 10) throws -> [Int32] {
        let b = try DataFile.read(path)
        guard b.count >= 8 else {
            throw DatasetError("\(path): \(b.count) bytes, too short for an IDX label header (8 bytes)")
        }
        let magic = be32(b, 0)
        guard magic == 0x0801 else {
            throw DatasetError(
                "\(path): byte 0: magic number 0x\(String(magic, radix: 16)), expected 0x801 (IDX unsigned-byte labels)"
            )
        }
        let n = be32(b, 4)
        guard b.count >= 8 + n else {
            throw DatasetError(
                "\(path): truncated at byte \(b.count): header announces \(n) labels, which need \(8 + n) bytes")
        }
        var labels = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let v = b[8 + i]
            guard Int(v) < classes else {
                throw DatasetError("\(path): byte \(8 + i): label \(v), expected 0..<\(classes)")
            }
            labels[i] = Int32(v)
        }
        return labels
    }

    /// Finds `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]` in `dir`.
    public static func load(dir: String, prefix: String, name: String, classNames: [String]) throws -> Dataset {
        func find(_ base: String) throws -> String {
            for candidate in [base, base + ".gz", base.replacingOccurrences(of: "-idx", with: ".idx")] {
                let p = (dir as NSString).appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw DatasetError(
                """
                \((dir as NSString).appendingPathComponent(base))[.gz]: file not found; point --data-dir at the \
                folder holding the IDX files
                """
            )
        }
        let ip = try find("\(prefix)-images-idx3-ubyte"), lp = try find("\(prefix)-labels-idx1-ubyte")
        let images = try loadImages(ip)
        let labels = try loadLabels(lp)
        guard images.shape[0] == labels.count else {
            throw DatasetError(
                """
                \(ip) has \(images.shape[0]) images but \(lp) has \(labels.count) labels; the files do not belong \
                together
                """
            )
        }
        return Dataset(name: name, images: images, labels: labels, classNames: classNames)
    }
}
