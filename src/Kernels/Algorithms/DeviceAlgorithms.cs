using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Algorithms;

/// <summary>
/// Work the device side does with ILGPU.Algorithms where they can run, so that only a result crosses
/// back to the host, not every page: a range's sum here, a fault batch's sort and coalescing in
/// <see cref="DeviceFaultSorter"/>. ILGPU.Algorithms need explicit groups, which the direct cpu runner
/// does not have; there the host does the same work on the memory in place.
/// </summary>
public static class DeviceAlgorithms
{
    /// <summary>The sum of <paramref name="values"/> in 64 bits: widened and reduced on the device (ILGPU.Algorithms' <c>Reduce</c>), or summed in place by the host on the direct cpu runner.</summary>
    public static long Sum(KernelRunner runner, ArrayView<int> values)
    {
        ArgumentNullException.ThrowIfNull(runner);
        if (!runner.RunsAlgorithms)
        {
            var sum = 0L;
            foreach (var v in runner.HostView(values))
            {
                sum += v;
            }

            return sum;
        }

        if (values.Length == 0)
        {
            return 0;
        }

        using var wide = runner.Allocate1D<long>(values.Length);
        using var total = runner.Allocate1D<long>(1);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<long>>(AlgorithmKernels.Widen)(values.IntLength, values, wide.View);
        runner.Accelerator.Reduce<long, AddInt64>(runner.Accelerator.DefaultStream, wide.View, total.View);
        Span<long> result = stackalloc long[1];
        runner.CopyToCPU<long>(total.View, result);
        return result[0];
    }
}
