namespace Testbed.Kernels.Algorithms;

public static partial class AcceleratorAlgorithms
{
    /// <summary>
    /// Stream compaction: copies the non-zero elements of <paramref name="input"/>, in order, to the
    /// start of <paramref name="output"/> and returns how many there were (flags, exclusive scan, scatter).
    /// </summary>
    public static int Compact(this Accelerator accelerator, ArrayView<int> input, ArrayView<int> output)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        if (output.Length < input.Length)
        {
            throw new ArgumentException($"Compact: output holds {output.Length} elements, input {input.Length}.", nameof(output));
        }

        if (input.Length == 0)
        {
            return 0;
        }

        using var flags = accelerator.Allocate1D<int>(input.Length);
        using var positions = accelerator.Allocate1D<int>(input.Length);
        using var count = accelerator.Allocate1D<int>(1);
        accelerator.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>>(AlgorithmKernels.NonZeroFlags)(input.IntLength, input, flags.View);
        accelerator.ExclusiveScan(flags.View, positions.View);
        accelerator.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>>(AlgorithmKernels.Scatter)(input.IntLength, input, flags.View, positions.View, output);
        accelerator.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>>(AlgorithmKernels.KeptCount)(1, flags.View, positions.View, count.View);
        return count.GetAsArray1D()[0];
    }
}
