import Foundation
import Tensor

// each record: 1 label byte, then 3072 bytes: 1024 red, 1024 green, 1024 blue (32x32, row-major)
/// CIFAR-10, binary version (data_batch_1..5.bin, test_batch.bin), scaled by 1/255 to NHWC (N,32,32,3).
public enum CIFAR10Loader {
    public static let classNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]
    static let record = 3073

    public static func loadBatch(_ path: String) throws -> (Tensor, [Int32]) {
        let b = try DataFile.read(path)
        guard !b.isEmpty, b.count % record == 0 else {
            throw DatasetError(
                """
                \(path): \(b.count) bytes is not a whole number of 3073-byte CIFAR-10 records (truncated or not \
                the binary version); the last record starts at byte \(b.count / record * record)
                """
            )
        }
        return try CIFARRecords.decode(b, record: record, labelOffset: 0, classes: 10, file: path)
    }

    public static func load(dir: String, train: Bool) throws -> Dataset {
        let files = train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        var parts: [(Tensor, [Int32])] = []
        for f in files {
            var p = (dir as NSString).appendingPathComponent(f)
            if !FileManager.default.fileExists(atPath: p) {
                let nested = (dir as NSString).appendingPathComponent("cifar-10-batches-bin/\(f)")
                if FileManager.default.fileExists(atPath: nested) { p = nested }
            }
            parts.append(try loadBatch(p))
        }
        let n = parts.reduce(0) { $0 + $1.1.count }
        let t = try Tensor([n, 32, 32, 3], zeroed: false)
        var labels: [Int32] = []
        var off = 0
        for (img, lab) in parts {
            (t.data + off).update(from: img.data, count: img.count)
            off += img.count
            labels += lab
        }
        return Dataset(name: "cifar10", images: t, labels: labels, classNames: names(dir: dir))
    }

    /// The class names of batches.meta.txt beside the batches (the archive ships it), else CIFAR-10's.
    public static func names(dir: String) -> [String] {
        for p in ["batches.meta.txt", "cifar-10-batches-bin/batches.meta.txt"] {
            let lines =
                ((try? String(contentsOfFile: (dir as NSString).appendingPathComponent(p), encoding: .utf8))
                ?? "").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if lines.count == 10 { return lines }
        }
        return classNames
    }
}

// records of `record` bytes: label bytes, then 3072 bytes: 1024 red, 1024 green, 1024 blue (32x32)
/// Decodes CIFAR binary records (CIFAR-10: one label byte; CIFAR-100: coarse then fine) into NHWC
/// images scaled by 1/255 and the label at `labelOffset`, which must be below `classes`.
enum CIFARRecords {
    static func decode(_ b: [UInt8], record: Int, labelOffset: Int, classes: Int, file: String) throws -> (
        Tensor, [Int32]
    ) {
        let n = b.count / record, pixels = record - 3072
        let t = try Tensor([n, 32, 32, 3], zeroed: false)
        var labels = [Int32](repeating: 0, count: n)
        try b.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let base = i * record
                guard p[base + labelOffset] < classes else {
                    throw DatasetError(
                        """
                        \(file): byte \(base + labelOffset): label \(p[base + labelOffset]), expected \
                        0..\(classes - 1)
                        """
                    )
                }
                labels[i] = Int32(p[base + labelOffset])
                let out = t.data + i * 3072
                for px in 0..<1024 {
                    for c in 0..<3 { out[px * 3 + c] = Float(p[base + pixels + c * 1024 + px]) * (1 / 255) }
                }
            }
        }
        return (t, labels)
    }
}
