import Hardware
import Tensor

/// Hardware's pinned pool is the runner kernels and layers spread work over.
extension WorkerPool: ParallelRunner {}
