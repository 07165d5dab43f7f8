import Tensor

#if canImport(Glibc)
    import Glibc
#endif

/// Per-worker scratch buffers, 64-byte aligned, grown on demand and kept between calls.
public final class Workspace {
    private var buffers: [UnsafeMutablePointer<Float>?] = []
    private var sizes: [Int] = []

    public init() {}

    deinit { for b in buffers { free(b) } }

    /// Makes sure `workers` buffers of `floats` floats exist (call before going parallel).
    public func reserve(workers: Int, floats: Int) {
        while buffers.count < workers { buffers.append(nil); sizes.append(0) }
        for w in 0..<workers where sizes[w] < floats {
            free(buffers[w])
            buffers[w] = Tensor.allocate(floats)
            sizes[w] = floats
        }
    }

    @inline(__always) public func buffer(_ worker: Int) -> UnsafeMutablePointer<Float> { buffers[worker]! }

    /// Floats reserved for one worker (kernels assert their use against it in debug builds).
    public func capacity(_ worker: Int) -> Int { worker < sizes.count ? sizes[worker] : 0 }

    public var totalBytes: Int { sizes.reduce(0, +) * 4 }
}
