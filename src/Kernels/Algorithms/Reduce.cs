namespace Testbed.Kernels.Algorithms;

/// <summary>Algorithms on accelerator memory (what ILGPU.Algorithms offers), each running its kernels on the accelerator given.</summary>
public static partial class AcceleratorAlgorithms
{
    private const int MaxChunks = 1024;

    /// <summary>The sum of <paramref name="input"/>: up to 4096 work items each add a strided share into one total.</summary>
    public static long Reduce(this Accelerator accelerator, ArrayView<long> input)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        using var total = accelerator.Allocate1D<long>(1);
        var items = (int)Math.Min(input.Length, 4096);
        if (items > 0)
        {
            accelerator.LoadAutoGroupedKernel<ArrayView<long>, ArrayView<long>, int>(AlgorithmKernels.ReduceStrided)(items, input, total.View, items);
        }

        return total.GetAsArray1D()[0];
    }

    /// <summary>How many chunks (at most <see cref="MaxChunks"/>) of which size cover <paramref name="length"/> elements.</summary>
    private static (int Chunks, int Chunk) Chunking(long length)
    {
        var n = checked((int)length);
        var chunks = Math.Max(1, Math.Min(n, MaxChunks));
        return (chunks, (n + chunks - 1) / chunks);
    }
}
