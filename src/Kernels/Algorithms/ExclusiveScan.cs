namespace Testbed.Kernels.Algorithms;

public static partial class AcceleratorAlgorithms
{
    /// <summary>
    /// Writes the exclusive prefix sums of <paramref name="input"/> to <paramref name="output"/>:
    /// per-chunk sums, a sequential scan of those, then each chunk scanned from its offset.
    /// </summary>
    public static void ExclusiveScan(this Accelerator accelerator, ArrayView<int> input, ArrayView<int> output)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        if (output.Length < input.Length)
        {
            throw new ArgumentException($"ExclusiveScan: output holds {output.Length} elements, input {input.Length}.", nameof(output));
        }

        if (input.Length == 0)
        {
            return;
        }

        var (chunks, chunk) = Chunking(input.Length);
        using var sums = accelerator.Allocate1D<int>(chunks);
        accelerator.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, int>(AlgorithmKernels.ChunkSums)(chunks, input, sums.View, chunk);
        accelerator.LoadAutoGroupedKernel<ArrayView<int>, int>(AlgorithmKernels.ScanSequential)(1, sums.View, chunks);
        accelerator.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>, int>(AlgorithmKernels.ChunkScan)(chunks, input, output, sums.View, chunk);
        accelerator.Synchronize();
    }
}
