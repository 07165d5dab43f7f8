import Datasets
import Foundation
import Layers
import Tensor

/// How a `.npy` input lays out its images.
public enum ImageLayout: String, CaseIterable, Sendable {
    case nhwc, nchw
}

/// Images for `infer`, as an (N, H, W, C) tensor: a `.npy` float32 array (values as given), an
/// IDX image file or a CIFAR binary batch (scaled to 0..1 as the lab does), or a folder of PNG
/// files (scaled to 0..1, each resized to the model's input size with bilinear sampling).
public enum InferenceInput {
    public static func read(_ path: String, layout: ImageLayout, modelInput: [Int]) throws -> (
        images: Tensor, names: [String]
    ) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DatasetError("\(path): no such file or folder")
        }
        if isDir.boolValue { return try folder(path, modelInput: modelInput) }
        let lower = path.lowercased()
        let images: Tensor
        if lower.hasSuffix(".npy") {
            images = try npy(path, layout: layout)
        } else if lower.hasSuffix(".bin") {
            images = try CIFAR10Loader.loadBatch(path).0
        } else if lower.contains("idx3") || lower.hasSuffix("-ubyte") || lower.hasSuffix("-ubyte.gz") {
            images = try IDXLoader.loadImages(path)
        } else {
            throw DatasetError(
                "\(path): unknown input kind; give a .npy array, an IDX image file (*-idx3-ubyte[.gz]), a CIFAR .bin "
                    + "batch or a folder of PNG files")
        }
        let n = images.shape[0]
        let stem = URL(fileURLWithPath: path).lastPathComponent
        return (images, (0..<n).map { "\(stem)[\($0)]" })
    }

    static func npy(_ path: String, layout: ImageLayout) throws -> Tensor {
        let a = try NpyArray.read(path)
        guard a.shape.count == 4 else {
            throw DatasetError("\(path): shape \(a.shape) is not a batch of images (4 dimensions, \(layout.rawValue))")
        }
        let (n, d1, d2, d3) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
        let (h, w, c) = layout == .nhwc ? (d1, d2, d3) : (d2, d3, d1)
        let t = try Tensor([n, h, w, c])
        a.values.withUnsafeBufferPointer { v in
            if layout == .nhwc {
                t.data.update(from: v.baseAddress!, count: v.count)
                return
            }
            for i in 0..<n {
                for ch in 0..<c {
                    for y in 0..<h {
                        for x in 0..<w { t.data[((i * h + y) * w + x) * c + ch] = v[((i * c + ch) * h + y) * w + x] }
                    }
                }
            }
        }
        return t
    }

    static func folder(_ path: String, modelInput: [Int]) throws -> (images: Tensor, names: [String]) {
        let all = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        let files = all.filter { $0.lowercased().hasSuffix(".png") }
        if let jpeg = all.first(where: { f in [".jpg", ".jpeg"].contains { f.lowercased().hasSuffix($0) } }),
            files.isEmpty
        {
            throw DatasetError("\(path)/\(jpeg): JPEG is not decoded by cnnscope; convert the images to PNG")
        }
        guard !files.isEmpty else { throw DatasetError("\(path): the folder holds no PNG files") }
        let (H, W) = (modelInput[0], modelInput[1])
        let C = modelInput.count == 3 ? modelInput[2] : 1
        let out = try Tensor([files.count, H, W, C])
        for (i, f) in files.enumerated() {
            let p = "\(path)/\(f)"
            guard let data = FileManager.default.contents(atPath: p) else {
                throw DatasetError("\(p): cannot read the file")
            }
            let img = try PNGDecoder.decode([UInt8](data), file: p)
            let src = try Tensor([1, img.height, img.width, C])
            for px in 0..<(img.width * img.height) {
                for ch in 0..<C {
                    // Grey to RGB repeats the grey value; RGB to grey averages the three.
                    let v: Float
                    if img.channels == C {
                        v = Float(img.pixels[px * C + ch])
                    } else if img.channels == 1 {
                        v = Float(img.pixels[px])
                    } else {
                        v =
                            (0..<img.channels).reduce(Float(0)) { $0 + Float(img.pixels[px * img.channels + $1]) }
                            / Float(img.channels)
                    }
                    src.data[px * C + ch] = v / 255
                }
            }
            let resized: Tensor
            if img.height == H && img.width == W {
                resized = src
            } else {
                let layer = try ResizeBilinearLayer(
                    name: "resize", input: [img.height, img.width, C], height: H, width: W)
                resized = layer.forward(src, RunContext(runner: SerialRunner()))
            }
            (out.data + i * H * W * C).update(from: resized.data, count: H * W * C)
        }
        return (out, files)
    }
}
