using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Tests;

/// <summary>
/// What only a CUDA device can show; the conformance suite runs on it too, wherever one exists (its
/// <c>link-native</c> check races host and device atomics on registered memory): a view of another
/// accelerator's memory is refused by argument instead of handing the GPU a host pointer.
/// </summary>
public sealed class CudaTests
{
    [CudaFact]
    public void A_view_of_another_accelerators_memory_is_refused_by_argument()
    {
        using var cuda = Runners.Create(AcceleratorKind.Cuda);
        using var cpu = Runners.Create(AcceleratorKind.Cpu);
        using var mine = cuda.Allocate1D<int>(16);
        using var theirs = cpu.Allocate1D<int>(16);
        var map = cuda.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map);
        var e = Assert.Throws<ArgumentException>(() => map(16, mine.View, theirs.View, 3));
        Assert.StartsWith("Launch of ConformanceKernels.Map: argument 2 is a view of memory of another accelerator", e.Message, StringComparison.Ordinal);
    }
}
