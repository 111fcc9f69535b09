namespace Testbed.Kernels.Algorithms;

public static partial class AcceleratorAlgorithms
{
    private const int DigitBits = 4;
    private const int Buckets = 1 << DigitBits;

    /// <summary>
    /// Sorts 32-bit keys in place: a least-significant-digit radix sort, 4 bits per pass. Each pass
    /// counts digits per chunk (digit-major), scans the counts, and lets each chunk scatter its keys
    /// in order, which keeps the sort stable. The driver sorts fault batches with it.
    /// </summary>
    public static void RadixSort(this Accelerator accelerator, ArrayView<uint> keys) =>
        Sort(accelerator, keys, 32, AlgorithmKernels.DigitHistogram32, AlgorithmKernels.DigitScatter32);

    /// <summary>Sorts 64-bit keys in place (16 passes of the same scheme).</summary>
    public static void RadixSort(this Accelerator accelerator, ArrayView<ulong> keys) =>
        Sort(accelerator, keys, 64, AlgorithmKernels.DigitHistogram64, AlgorithmKernels.DigitScatter64);

    private static void Sort<T>(
        Accelerator accelerator,
        ArrayView<T> keys,
        int bits,
        Action<Index1D, ArrayView<T>, ArrayView<int>, int, int, int> histogram,
        Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, int, int, int> scatter)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        if (keys.Length < 2)
        {
            return;
        }

        var (chunks, chunk) = Chunking(keys.Length);
        using var spare = accelerator.Allocate1D<T>(keys.Length);
        using var counts = accelerator.Allocate1D<int>(Buckets * chunks);
        var count = accelerator.LoadAutoGroupedKernel(histogram);
        var scan = accelerator.LoadAutoGroupedKernel<ArrayView<int>, int>(AlgorithmKernels.ScanSequential);
        var move = accelerator.LoadAutoGroupedKernel(scatter);
        var (from, to) = (keys, spare.View);
        for (var shift = 0; shift < bits; shift += DigitBits)
        {
            counts.MemSetToZero();
            count(chunks, from, counts.View, chunk, chunks, shift);
            scan(1, counts.View, Buckets * chunks);
            move(chunks, from, to, counts.View, chunk, chunks, shift);
            (from, to) = (to, from);
        }

        accelerator.Synchronize();
    }
}
